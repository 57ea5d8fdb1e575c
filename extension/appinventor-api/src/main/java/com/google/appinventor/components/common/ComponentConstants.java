package com.google.appinventor.components.common;

/** Upstream: common/ComponentConstants.java (only the constant pac's surface needs). */
public class ComponentConstants {
  private ComponentConstants() {
  }

  public static final int APP_INVENTOR_MIN_SDK = 14;
}
