package com.google.appinventor.components.runtime;

/** Upstream: runtime/Component.java (its many constants are omitted; pac uses none). */
public interface Component {
  public HandlesEventDispatching getDispatchDelegate();

  void setComponentName(final String componentName);
}
