package com.google.appinventor.components.runtime;

/** Upstream: runtime/HandlesEventDispatching.java (dispatchGenericEvent omitted). */
public interface HandlesEventDispatching {
  public boolean canDispatchEvent(Component component, String eventName);

  public boolean dispatchEvent(Component component, String componentName, String eventName,
      Object[] args);

  void dispatchErrorOccurredEvent(Component component, String functionName, int errorCode,
      Object... args);
}
