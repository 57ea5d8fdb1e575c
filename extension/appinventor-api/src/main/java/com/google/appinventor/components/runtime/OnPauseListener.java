package com.google.appinventor.components.runtime;

/** Upstream: runtime/OnPauseListener.java. */
public interface OnPauseListener {
  public void onPause();
}
