package io.github.pacaudio;

/**
 * The JavaScript the component runs in the page. Arguments are base64 text and integers only,
 * never user text, so nothing needs escaping beyond the quotes. Each script evaluates to true if
 * it handed the clip to the page's pac object, false if that object is not (yet) there, and to a
 * string if the call threw.
 */
final class Scripts {
  private Scripts() {
  }

  static String classifyWav(String base64Wav) {
    return call(BridgeConstants.JAVA_TO_JS_CLASSIFY_WAV, "\"" + base64Wav + "\"");
  }

  static String classifyPcm(String base64Float32, int sampleRate) {
    return call(BridgeConstants.JAVA_TO_JS_CLASSIFY_PCM,
        "\"" + base64Float32 + "\"," + sampleRate);
  }

  static String startStream(int sampleRate, double threshold, int minimumIntervalMs) {
    return call(BridgeConstants.JAVA_TO_JS_START_STREAM,
        sampleRate + "," + threshold + "," + minimumIntervalMs);
  }

  static String pushPcm(String base64Float32) {
    return call(BridgeConstants.JAVA_TO_JS_PUSH_PCM, "\"" + base64Float32 + "\"");
  }

  static String stopStream() {
    return call(BridgeConstants.JAVA_TO_JS_STOP_STREAM, "");
  }

  private static String call(String function, String args) {
    String o = "window." + BridgeConstants.JS_OBJECT;
    return "(function(){try{if(" + o + "&&typeof " + o + "." + function + "==='function'){"
        + o + "." + function + "(" + args + ");return true;}return false;}"
        + "catch(e){return String(e);}})()";
  }
}
