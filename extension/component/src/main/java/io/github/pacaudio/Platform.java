package io.github.pacaudio;

import com.google.appinventor.components.runtime.WebViewer;
import java.io.File;

/**
 * The Android-only parts the component needs, behind small interfaces so that the component's
 * logic runs in plain-JVM unit tests. {@link AndroidPlatform} is the real one.
 */
interface Platform {
  /** Runs r on the UI thread (now, if already on it). */
  void runOnUiThread(Runnable r);

  /** Takes over the viewer's WebView: JavaScript on, the bridge added, requests served. */
  Page attach(WebViewer viewer, RequestServer server, JsBridge bridge);

  /** Decodes a compressed sound file (3GP, AAC, MP3, ...) to mono PCM. */
  PcmClip decode(File file, int maxSeconds) throws PacException;

  /** A fresh microphone recorder. */
  Microphone microphone();

  /** Receives a script's result (JSON text, as WebView.evaluateJavascript gives it). */
  interface Callback {
    void onResult(String value);
  }

  /** The classifier page in a WebView. Called on the UI thread only. */
  interface Page {
    void load(String url);

    void evaluate(String script, Callback callback);
  }

  /** Records mono audio at the device's rate, keeping the most recent samples. */
  interface Microphone {
    /** Starts recording; the recording keeps its last keepMillis. Needs RECORD_AUDIO. */
    void start(int keepMillis) throws PacException;

    /** Stops and returns what was recorded. */
    PcmClip stop() throws PacException;

    /**
     * Starts recording and hands every chunkMillis of sound to sink, on the recording thread, for
     * as long as the microphone is not released (continuous listening). Needs RECORD_AUDIO.
     */
    void stream(int chunkMillis, Sink sink) throws PacException;

    /** Stops without returning anything (idempotent). */
    void release();
  }

  /** Receives the microphone's chunks (mono float samples) on the recording thread. */
  interface Sink {
    void onChunk(float[] samples, int sampleRate);

    /** The microphone stopped delivering sound; no chunk follows. */
    void onFailure(PacException e);
  }
}
