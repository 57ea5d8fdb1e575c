package com.google.appinventor.components.annotations;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Android permissions a component needs. Upstream: annotations/UsesPermissions.java (the element
 * {@code PermissionConstraint[] constraints() default {}} is omitted: pac sets no constraints).
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
public @interface UsesPermissions {
  String permissionNames() default "";
  String[] value() default {};
}
