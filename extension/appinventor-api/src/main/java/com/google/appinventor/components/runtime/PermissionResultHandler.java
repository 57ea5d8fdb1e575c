package com.google.appinventor.components.runtime;

/** Callback of {@link Form#askPermission}. Upstream: runtime/PermissionResultHandler.java. */
public interface PermissionResultHandler {
  public void HandlePermissionResponse(String permission, boolean granted);
}
