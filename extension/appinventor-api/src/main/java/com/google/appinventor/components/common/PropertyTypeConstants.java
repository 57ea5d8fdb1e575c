package com.google.appinventor.components.common;

/** Designer property editor types. Upstream: common/PropertyTypeConstants.java (subset). */
public class PropertyTypeConstants {
  private PropertyTypeConstants() {
  }

  public static final String PROPERTY_TYPE_ASSET = "asset";
  public static final String PROPERTY_TYPE_COMPONENT = "component";
  public static final String PROPERTY_TYPE_FLOAT = "float";
  public static final String PROPERTY_TYPE_NON_NEGATIVE_INTEGER = "non_negative_integer";
  public static final String PROPERTY_TYPE_TEXT = "text";
}
