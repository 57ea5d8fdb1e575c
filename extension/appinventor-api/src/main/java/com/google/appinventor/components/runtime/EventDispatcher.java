package com.google.appinventor.components.runtime;

/**
 * Fires event blocks. Upstream: runtime/EventDispatcher.java. The test double hands the event to
 * the component's dispatch delegate (the Form), which is what the real one resolves to.
 */
public class EventDispatcher {
  private EventDispatcher() {
  }

  public static synchronized boolean dispatchEvent(Component component, String eventName,
      Object... args) {
    HandlesEventDispatching delegate = component.getDispatchDelegate();
    return delegate != null && delegate.canDispatchEvent(component, eventName)
        && delegate.dispatchEvent(component, null, eventName, args);
  }
}
