package com.google.appinventor.components.runtime;

import android.app.Activity;

/** Upstream: runtime/ComponentContainer.java (layout members omitted). */
public interface ComponentContainer {
  Activity $context();

  Form $form();
}
