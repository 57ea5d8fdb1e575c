package io.github.pacaudio;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;

/**
 * A user's Model asset, read into memory: either a model exported by pac (pac.json, model.json and
 * its weight files) or a .mdl from MIT's Personal Audio Classifier site (model.json,
 * model.weights.bin, model_labels.json, transfer_model.json). The page asks for model/NAME and is
 * given the entry NAME. Models are small (the head only; MobileNet ships in the extension).
 */
final class ModelArchive {
  enum Kind { PAC, MDL }

  static final long MAX_TOTAL_BYTES = 64L * 1024 * 1024;
  private static final String[] MDL_FILES = {
      "model.json", "model.weights.bin", "model_labels.json", "transfer_model.json"};

  final String name;
  final Kind kind;
  private final Map<String, byte[]> entries;

  private ModelArchive(String name, Kind kind, Map<String, byte[]> entries) {
    this.name = name;
    this.kind = kind;
    this.entries = entries;
  }

  /** The bytes of one entry, or null. */
  byte[] get(String entryName) {
    return entries.get(entryName);
  }

  int size() {
    return entries.size();
  }

  static ModelArchive read(String name, InputStream in) throws PacException {
    int code = BridgeConstants.ERROR_MODEL_INVALID;
    Map<String, byte[]> raw = new LinkedHashMap<String, byte[]>();
    long total = 0;
    try {
      ZipInputStream zip = new ZipInputStream(in);
      try {
        byte[] buf = new byte[65536];
        ZipEntry e;
        while ((e = zip.getNextEntry()) != null) {
          String entry = e.getName().replace('\\', '/');
          while (entry.startsWith("./") || entry.startsWith("/")) {
            entry = entry.substring(entry.startsWith("./") ? 2 : 1);
          }
          if (e.isDirectory() || entry.isEmpty() || entry.startsWith("__MACOSX/")
              || entry.substring(entry.lastIndexOf('/') + 1).startsWith(".")) {
            continue;
          }
          ByteArrayOutputStream bytes = new ByteArrayOutputStream();
          int n;
          while ((n = zip.read(buf)) > 0) {
            total += n;
            if (total > MAX_TOTAL_BYTES) {
              throw new PacException(code, "Model " + name + " is larger than "
                  + (MAX_TOTAL_BYTES >> 20) + " MB unpacked; it cannot be an audio classifier head");
            }
            bytes.write(buf, 0, n);
          }
          if (!raw.containsKey(entry)) {
            raw.put(entry, bytes.toByteArray());
          }
        }
      } finally {
        zip.close();
      }
    } catch (IOException e) {
      throw new PacException(code, "Model " + name + " is not a readable zip file ("
          + e.getMessage() + ")", e);
    }
    if (raw.isEmpty()) {
      throw new PacException(code, "Model " + name + " is not a zip file, or it is empty");
    }
    Map<String, byte[]> entries = stripCommonFolder(raw);
    Kind kind;
    if (entries.containsKey("pac.json") && entries.containsKey("model.json")) {
      kind = Kind.PAC;
    } else if (containsAll(entries, MDL_FILES)) {
      kind = Kind.MDL;
    } else {
      throw new PacException(code, "Model " + name + " holds neither a pac model (pac.json and "
          + "model.json) nor an MIT .mdl model (model.json, model.weights.bin, "
          + "model_labels.json, transfer_model.json); it holds: "
          + ResultParser.abbreviate(entries.keySet().toString()));
    }
    checkWeights(name, entries);
    return new ModelArchive(name, kind, entries);
  }

  private static boolean containsAll(Map<String, byte[]> entries, String[] names) {
    for (String n : names) {
      if (!entries.containsKey(n)) {
        return false;
      }
    }
    return true;
  }

  /** A zip made by compressing a folder holds FOLDER/model.json: serve it as model.json. */
  private static Map<String, byte[]> stripCommonFolder(Map<String, byte[]> raw) {
    if (raw.containsKey("model.json")) {
      return raw;
    }
    String prefix = null;
    for (String key : raw.keySet()) {
      int slash = key.indexOf('/');
      if (slash < 0) {
        return raw;
      }
      String p = key.substring(0, slash + 1);
      if (prefix == null) {
        prefix = p;
      } else if (!prefix.equals(p)) {
        return raw;
      }
    }
    Map<String, byte[]> stripped = new LinkedHashMap<String, byte[]>();
    for (Map.Entry<String, byte[]> e : raw.entrySet()) {
      stripped.put(e.getKey().substring(prefix.length()), e.getValue());
    }
    return stripped;
  }

  /** model.json must be a TF.js model whose weight files are all in the zip. */
  private static void checkWeights(String name, Map<String, byte[]> entries) throws PacException {
    int code = BridgeConstants.ERROR_MODEL_INVALID;
    JSONObject model;
    try {
      model = new JSONObject(new String(entries.get("model.json"), "UTF-8"));
    } catch (JSONException e) {
      throw new PacException(code, "Model " + name + ": model.json is not JSON");
    } catch (java.io.UnsupportedEncodingException e) {
      throw new AssertionError(e);
    }
    JSONArray manifest = model.optJSONArray("weightsManifest");
    if (manifest == null) {
      throw new PacException(code, "Model " + name
          + ": model.json is not a TensorFlow.js model (no weightsManifest)");
    }
    for (int i = 0; i < manifest.length(); i++) {
      JSONObject group = manifest.optJSONObject(i);
      JSONArray paths = group == null ? null : group.optJSONArray("paths");
      if (paths == null) {
        throw new PacException(code, "Model " + name + ": model.json has a bad weightsManifest");
      }
      for (int j = 0; j < paths.length(); j++) {
        String path = paths.optString(j, "");
        while (path.startsWith("./")) {
          path = path.substring(2);
        }
        if (!entries.containsKey(path)) {
          throw new PacException(code, "Model " + name + ": model.json needs weights file '"
              + ResultParser.abbreviate(path) + "', which is not in the zip");
        }
      }
    }
  }
}
