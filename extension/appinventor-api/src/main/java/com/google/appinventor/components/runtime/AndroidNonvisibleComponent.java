package com.google.appinventor.components.runtime;

import com.google.appinventor.components.annotations.SimpleObject;

/** Base class of non-visible components. Upstream: runtime/AndroidNonvisibleComponent.java. */
@SimpleObject
public abstract class AndroidNonvisibleComponent implements Component {
  protected final Form form;
  protected String componentName;

  protected AndroidNonvisibleComponent(Form form) {
    this.form = form;
  }

  @Override
  public HandlesEventDispatching getDispatchDelegate() {
    return form;
  }

  @Override
  public void setComponentName(final String componentName) {
    this.componentName = componentName;
  }
}
