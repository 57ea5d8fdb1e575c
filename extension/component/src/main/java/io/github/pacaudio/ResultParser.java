package io.github.pacaudio;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONTokener;

/**
 * Parses what the page sends through the bridge. Labels are data: whatever characters they hold
 * (quotes, backslashes, markup, emoji, any script) they come out as the same Java strings, and
 * nothing is ever evaluated.
 */
final class ResultParser {
  private ResultParser() {
  }

  /** A JSON array of label strings. */
  static List<String> labels(String json) throws PacException {
    JSONArray array = array(json, BridgeConstants.ERROR_MODEL_LOAD_FAILED, "labels");
    List<String> labels = new ArrayList<String>(array.length());
    for (int i = 0; i < array.length(); i++) {
      Object o = array.opt(i);
      if (!(o instanceof String)) {
        throw new PacException(BridgeConstants.ERROR_MODEL_LOAD_FAILED,
            "label " + i + " is not a string: " + abbreviate(String.valueOf(o)));
      }
      labels.add((String) o);
    }
    return labels;
  }

  /** One classification result: a label and its confidence. */
  static final class Entry {
    final String label;
    final double confidence;

    Entry(String label, double confidence) {
      this.label = label;
      this.confidence = confidence;
    }
  }

  /** [[label, confidence], ...], returned sorted by confidence, highest first (stable). */
  static List<Entry> result(String json) throws PacException {
    int code = BridgeConstants.ERROR_CLASSIFICATION_FAILED;
    JSONArray array = array(json, code, "result");
    List<Entry> entries = new ArrayList<Entry>(array.length());
    for (int i = 0; i < array.length(); i++) {
      JSONArray pair = array.optJSONArray(i);
      if (pair == null || pair.length() != 2 || !(pair.opt(0) instanceof String)
          || !(pair.opt(1) instanceof Number)) {
        throw new PacException(code, "result entry " + i + " is not [label, confidence]: "
            + abbreviate(String.valueOf(array.opt(i))));
      }
      double confidence = ((Number) pair.opt(1)).doubleValue();
      if (Double.isNaN(confidence) || Double.isInfinite(confidence)) {
        throw new PacException(code, "result entry " + i + " has no finite confidence");
      }
      entries.add(new Entry((String) pair.opt(0), confidence));
    }
    Collections.sort(entries, new Comparator<Entry>() {
      @Override
      public int compare(Entry a, Entry b) {
        return Double.compare(b.confidence, a.confidence);
      }
    });
    return entries;
  }

  private static JSONArray array(String json, int code, String what) throws PacException {
    if (json == null) {
      throw new PacException(code, "the page sent no " + what);
    }
    try {
      Object value = new JSONTokener(json).nextValue();
      if (!(value instanceof JSONArray)) {
        throw new PacException(code, "the page sent " + what + " that is not a JSON array: "
            + abbreviate(json));
      }
      return (JSONArray) value;
    } catch (JSONException e) {
      throw new PacException(code, "the page sent " + what + " that is not JSON: "
          + abbreviate(json));
    }
  }

  static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
