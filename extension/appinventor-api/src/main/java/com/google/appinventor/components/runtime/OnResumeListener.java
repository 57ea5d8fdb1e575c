package com.google.appinventor.components.runtime;

/** Upstream: runtime/OnResumeListener.java. */
public interface OnResumeListener {
  public void onResume();
}
