package com.google.appinventor.components.runtime;

import com.google.appinventor.components.runtime.util.OnInitializeListener;
import java.io.IOException;
import java.io.InputStream;

/**
 * The screen. Upstream: runtime/Form.java, {@code public class Form extends
 * AppInventorCompatActivity implements Component, ComponentContainer, HandlesEventDispatching,
 * OnGlobalLayoutListener}. Only the members pac uses are declared; bodies are test doubles (a test
 * subclass overrides them).
 */
public class Form extends AppInventorCompatActivity
    implements Component, ComponentContainer, HandlesEventDispatching {

  public void registerForOnDestroy(OnDestroyListener component) {
  }

  public void registerForOnInitialize(OnInitializeListener component) {
  }

  public void registerForOnPause(OnPauseListener component) {
  }

  public void registerForOnResume(OnResumeListener component) {
  }

  public void askPermission(final String permission,
      final PermissionResultHandler responseRequestor) {
    responseRequestor.HandlePermissionResponse(permission, false);
  }

  public InputStream openAsset(String asset) throws IOException {
    throw new IOException("no assets in the compile-only surface: " + asset);
  }

  public InputStream openAssetForExtension(Component component, String asset) throws IOException {
    throw new IOException("no assets in the compile-only surface: " + asset);
  }

  @Override
  public HandlesEventDispatching getDispatchDelegate() {
    return this;
  }

  @Override
  public void setComponentName(String componentName) {
  }

  @Override
  public android.app.Activity $context() {
    return this;
  }

  @Override
  public Form $form() {
    return this;
  }

  @Override
  public boolean canDispatchEvent(Component component, String eventName) {
    return false;
  }

  @Override
  public boolean dispatchEvent(Component component, String componentName, String eventName,
      Object[] args) {
    return false;
  }

  @Override
  public void dispatchErrorOccurredEvent(final Component component, final String functionName,
      final int errorNumber, final Object... messageArgs) {
  }
}
