package io.github.pacaudio;

import android.util.Log;

/** Logging that never fails (android.util.Log is native and absent in unit tests). */
final class Logs {
  static final String TAG = "PersonalAudioClassifier";

  private Logs() {
  }

  static void d(String message) {
    try {
      Log.d(TAG, message);
    } catch (Throwable ignored) {
      // not on Android
    }
  }

  static void w(String message, Throwable t) {
    try {
      Log.w(TAG, message, t);
    } catch (Throwable ignored) {
      // not on Android
    }
  }
}
