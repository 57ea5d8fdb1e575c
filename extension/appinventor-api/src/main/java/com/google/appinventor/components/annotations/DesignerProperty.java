package com.google.appinventor.components.annotations;

import com.google.appinventor.components.common.PropertyTypeConstants;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** A property shown in the designer. Upstream: annotations/DesignerProperty.java. */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface DesignerProperty {
  String editorType() default PropertyTypeConstants.PROPERTY_TYPE_TEXT;
  String defaultValue() default "";
  boolean alwaysSend() default false;
  String[] editorArgs() default {};
}
