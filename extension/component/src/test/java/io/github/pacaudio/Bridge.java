package io.github.pacaudio;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.json.JSONArray;
import org.json.JSONObject;

/** extension/bridge.json and the generated descriptors, as the tests read them. */
final class Bridge {
  private Bridge() {
  }

  static JSONObject json() throws Exception {
    String path = System.getProperty("pac.bridgeJson", "../bridge.json");
    return new JSONObject(new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.UTF_8));
  }

  static String descriptorText(String relative) throws Exception {
    String dir = System.getProperty("pac.descriptors", "target/descriptors");
    return new String(Files.readAllBytes(Paths.get(dir, relative)), StandardCharsets.UTF_8);
  }

  static JSONObject component() throws Exception {
    return new JSONArray(descriptorText("components.json")).getJSONObject(0);
  }

  static JSONObject buildInfo() throws Exception {
    return new JSONArray(descriptorText("files/component_build_infos.json")).getJSONObject(0);
  }
}
