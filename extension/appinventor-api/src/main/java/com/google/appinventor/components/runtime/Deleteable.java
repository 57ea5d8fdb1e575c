package com.google.appinventor.components.runtime;

/** Called when a component is deleted (in the Companion). Upstream: runtime/Deleteable.java. */
public interface Deleteable {
  void onDelete();
}
