package com.google.appinventor.components.runtime.util;

/**
 * Upstream: runtime/util/ErrorMessages.java (only the constant pac uses; its message there is
 * "Error %d in extension %s: %s").
 */
public final class ErrorMessages {
  public static final int ERROR_EXTENSION_ERROR = 3300;

  private ErrorMessages() {
  }
}
