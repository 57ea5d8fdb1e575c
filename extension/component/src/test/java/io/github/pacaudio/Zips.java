package io.github.pacaudio;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Builds model zips for tests. */
final class Zips {
  private Zips() {
  }

  static byte[] zip(Map<String, String> entries) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      for (Map.Entry<String, String> e : entries.entrySet()) {
        zip.putNextEntry(new ZipEntry(e.getKey()));
        zip.write(e.getValue().getBytes(StandardCharsets.UTF_8));
        zip.closeEntry();
      }
    }
    return bytes.toByteArray();
  }

  static String modelJson(String... weightFiles) {
    StringBuilder paths = new StringBuilder();
    for (String w : weightFiles) {
      paths.append(paths.length() == 0 ? "" : ",").append('"').append(w).append('"');
    }
    return "{\"modelTopology\":{},\"weightsManifest\":[{\"paths\":[" + paths
        + "],\"weights\":[]}]}";
  }

  static byte[] pacModel(String tag) throws IOException {
    return zip(Map.of("pac.json", "{\"tag\":\"" + tag + "\"}",
        "model.json", modelJson("./weights.bin"), "weights.bin", "W-" + tag));
  }

  static byte[] mdlModel() throws IOException {
    return zip(Map.of("model.json", modelJson("./model.weights.bin"),
        "model.weights.bin", "MDLW", "model_labels.json", "{\"0\":\"a\",\"1\":\"b\"}",
        "transfer_model.json", "{\"name\":\"mobilenet\",\"lastLayer\":\"conv_pw_13_relu\"}"));
  }
}
