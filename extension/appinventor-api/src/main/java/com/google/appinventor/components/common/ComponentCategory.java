package com.google.appinventor.components.common;

/**
 * Palette categories. Upstream: common/ComponentCategory.java (same constants in the same order;
 * the upstream {@code getDocName()} is omitted).
 */
public enum ComponentCategory {
  USERINTERFACE("User Interface"),
  LAYOUT("Layout"),
  MEDIA("Media"),
  ANIMATION("Drawing and Animation"),
  MAPS("Maps"),
  CHARTS("Charts"),
  DATASCIENCE("Data Science"),
  SENSORS("Sensors"),
  SOCIAL("Social"),
  STORAGE("Storage"),
  CONNECTIVITY("Connectivity"),
  LEGOMINDSTORMS("LEGO\u00ae MINDSTORMS\u00ae"),
  EXPERIMENTAL("Experimental"),
  EXTENSION("Extension"),
  FUTURE("Future"),
  INTERNAL("For internal use only"),
  UNINITIALIZED("Uninitialized");

  private final String name;

  private ComponentCategory(String categoryName) {
    name = categoryName;
  }

  public String getName() {
    return name;
  }
}
