package com.google.appinventor.components.runtime;

/** Upstream: runtime/OnDestroyListener.java. */
public interface OnDestroyListener {
  public void onDestroy();
}
