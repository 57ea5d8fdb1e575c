package com.google.appinventor.components.annotations;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a class visible to App Inventor. Upstream: annotations/SimpleObject.java. RUNTIME retention
 * matters: the Companion's ReplForm reads {@code external()} reflectively to find extension assets.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface SimpleObject {
  boolean external() default false;
}
