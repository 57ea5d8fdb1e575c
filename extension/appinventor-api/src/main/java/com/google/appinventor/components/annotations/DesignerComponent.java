package com.google.appinventor.components.annotations;

import com.google.appinventor.components.common.ComponentCategory;
import com.google.appinventor.components.common.ComponentConstants;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** Marks a component class and gives its designer metadata. Upstream: annotations/DesignerComponent.java. */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface DesignerComponent {
  ComponentCategory category() default ComponentCategory.UNINITIALIZED;
  String description() default "";
  String designerHelpDescription() default "";
  boolean showOnPalette() default true;
  boolean nonVisible() default false;
  String iconName() default "";
  int version();
  String helpUrl() default "";
  int androidMinSdk() default ComponentConstants.APP_INVENTOR_MIN_SDK;
  String versionName() default "";
  String dateBuilt() default "";
  String licenseName() default "";
}
