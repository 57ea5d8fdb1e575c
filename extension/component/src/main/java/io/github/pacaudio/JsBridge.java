package io.github.pacaudio;

import android.webkit.JavascriptInterface;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * The object the page sees as window.PersonalAudioClassifier (bridge.json "js_to_java"). WebView
 * calls it on a background thread; it parses there and hands every callback to the UI thread,
 * where the component fires its events. Method names and arities are checked against bridge.json
 * by BridgeConstantsTest.
 */
final class JsBridge {
  /** Receives the page's callbacks on the UI thread. */
  interface Listener {
    void onReady(List<String> labels);

    void onResult(List<ResultParser.Entry> result);

    void onError(int code, String message);

    void onHeard(String label, double confidence);
  }

  private final Executor ui;
  private final Listener listener;

  JsBridge(Executor ui, Listener listener) {
    this.ui = ui;
    this.listener = listener;
  }

  @JavascriptInterface
  public void ready(final String labelsJson) {
    try {
      final List<String> labels = ResultParser.labels(labelsJson);
      ui.execute(new Runnable() {
        @Override
        public void run() {
          listener.onReady(labels);
        }
      });
    } catch (PacException e) {
      fail(e.code, e.getMessage());
    }
  }

  @JavascriptInterface
  public void reportResult(final String resultJson) {
    try {
      final List<ResultParser.Entry> result = ResultParser.result(resultJson);
      ui.execute(new Runnable() {
        @Override
        public void run() {
          listener.onResult(result);
        }
      });
    } catch (PacException e) {
      fail(e.code, e.getMessage());
    }
  }

  @JavascriptInterface
  public void heard(final String label, final double confidence) {
    if (label == null || !(confidence >= 0 && confidence <= 1)) {
      fail(BridgeConstants.ERROR_CLASSIFICATION_FAILED,
          "the page reported a detection without a label or with confidence " + confidence);
      return;
    }
    ui.execute(new Runnable() {
      @Override
      public void run() {
        listener.onHeard(label, confidence);
      }
    });
  }

  @JavascriptInterface
  public void error(final int code, final String message) {
    fail(code, message == null ? "" : message);
  }

  private void fail(final int code, final String message) {
    ui.execute(new Runnable() {
      @Override
      public void run() {
        listener.onError(code, message);
      }
    });
  }
}
