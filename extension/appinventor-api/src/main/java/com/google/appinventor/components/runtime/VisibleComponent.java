package com.google.appinventor.components.runtime;

import com.google.appinventor.components.annotations.SimpleObject;

/** Upstream: runtime/VisibleComponent.java (its abstract size properties are omitted). */
@SimpleObject
public abstract class VisibleComponent implements Component {
  protected String componentName;

  protected VisibleComponent() {
  }

  @Override
  public void setComponentName(final String componentName) {
    this.componentName = componentName;
  }
}
