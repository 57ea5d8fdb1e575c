package com.google.appinventor.components.runtime.util;

/** Upstream: runtime/util/OnInitializeListener.java. */
public interface OnInitializeListener {
  public void onInitialize();
}
