package com.google.appinventor.components.annotations;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** A property getter or setter block. Upstream: annotations/SimpleProperty.java. */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface SimpleProperty {
  String description() default "";
  PropertyCategory category() default PropertyCategory.UNSET;
  boolean userVisible() default true;
}
