package com.google.appinventor.components.runtime;

import android.view.View;
import com.google.appinventor.components.annotations.SimpleObject;

/**
 * The WebViewer component. Upstream: runtime/WebViewer.java, {@code public final class WebViewer
 * extends AndroidViewComponent}, whose {@code getView()} returns its {@code android.webkit.WebView}.
 * The test double holds no view.
 */
@SimpleObject
public final class WebViewer extends AndroidViewComponent {
  public WebViewer(ComponentContainer container) {
    super(container);
  }

  @Override
  public View getView() {
    return null;
  }
}
