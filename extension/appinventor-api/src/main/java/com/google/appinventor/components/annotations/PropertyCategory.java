package com.google.appinventor.components.annotations;

/** Property categories of the designer. Upstream: annotations/PropertyCategory.java. */
public enum PropertyCategory {
  BEHAVIOR("Behavior"),
  APPEARANCE("Appearance"),
  DEPRECATED("Deprecated"),
  UNSET("Unspecified"),
  APPLICATION("Application"),
  ADVANCED("Advanced"),
  GENERAL("General"),
  THEMING("Theming"),
  PUBLISHING("Publishing"),
  IOS("iOS Settings");

  private final String name;

  PropertyCategory(String categoryName) {
    name = categoryName;
  }

  public String getName() {
    return name;
  }
}
