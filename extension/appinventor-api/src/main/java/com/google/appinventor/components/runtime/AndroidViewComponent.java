package com.google.appinventor.components.runtime;

import android.view.View;
import com.google.appinventor.components.annotations.SimpleObject;

/** Upstream: runtime/AndroidViewComponent.java (only getView() is used by pac). */
@SimpleObject
public abstract class AndroidViewComponent extends VisibleComponent {
  protected final ComponentContainer container;

  protected AndroidViewComponent(ComponentContainer container) {
    this.container = container;
  }

  public abstract View getView();

  @Override
  public HandlesEventDispatching getDispatchDelegate() {
    return container.$form();
  }
}
