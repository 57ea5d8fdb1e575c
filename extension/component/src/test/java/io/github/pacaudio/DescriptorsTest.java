package io.github.pacaudio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.json.JSONArray;
import org.json.JSONObject;
import org.junit.Test;

/**
 * The descriptors pac's annotation processor wrote while compiling the component
 * (target/descriptors): App Inventor's rules (REFERENCE section 3) and pac's promises.
 */
public class DescriptorsTest {
  /** Every scalar in a descriptor is a JSON string. */
  private static void assertAllScalarsAreStrings(String where, Object value) {
    if (value instanceof JSONObject) {
      JSONObject o = (JSONObject) value;
      for (Iterator<String> it = o.keys(); it.hasNext(); ) {
        String k = it.next();
        assertAllScalarsAreStrings(where + "." + k, o.opt(k));
      }
    } else if (value instanceof JSONArray) {
      JSONArray a = (JSONArray) value;
      for (int i = 0; i < a.length(); i++) {
        assertAllScalarsAreStrings(where + "[" + i + "]", a.opt(i));
      }
    } else if (!(value instanceof String)) {
      fail(where + " is not a string: " + value);
    }
  }

  @Test
  public void filesArePureAscii() throws Exception {
    for (String f : new String[] {"components.json", "files/component_build_infos.json"}) {
      for (char c : Bridge.descriptorText(f).toCharArray()) {
        assertTrue(f + " has a non-ASCII character", c < 0x80);
      }
    }
  }

  @Test
  public void componentDescriptorFollowsAppInventorsFormat() throws Exception {
    JSONObject c = Bridge.component();
    assertAllScalarsAreStrings("component", c);
    assertEquals("io.github.pacaudio.PersonalAudioClassifier", c.getString("type"));
    assertEquals("PersonalAudioClassifier", c.getString("name"));
    assertEquals("true", c.getString("external"));
    assertEquals(String.valueOf(PersonalAudioClassifier.VERSION), c.getString("version"));
    assertEquals("EXTENSION", c.getString("categoryString"));
    assertEquals("true", c.getString("nonVisible"));
    assertEquals("aiwebres/pac.png", c.getString("iconName"));
    assertEquals("21", c.getString("androidMinSdk"));
    assertEquals("2025-01-01T00:00:00+0000", c.getString("dateBuilt"));
    for (String key : new String[] {"versionName", "helpString", "helpUrl", "showOnPalette",
        "licenseName", "properties", "blockProperties", "events", "methods", "assets"}) {
      assertTrue("missing " + key, c.has(key));
    }
    assertFalse(c.getString("helpString").isEmpty());
  }

  private static Map<String, JSONObject> byName(JSONArray array) throws Exception {
    Map<String, JSONObject> map = new TreeMap<>();
    for (int i = 0; i < array.length(); i++) {
      map.put(array.getJSONObject(i).getString("name"), array.getJSONObject(i));
    }
    return map;
  }

  private static String signature(JSONObject block) throws Exception {
    StringBuilder sb = new StringBuilder(block.getString("name")).append('(');
    JSONArray params = block.getJSONArray("params");
    for (int i = 0; i < params.length(); i++) {
      sb.append(i == 0 ? "" : ", ").append(params.getJSONObject(i).getString("type"))
          .append(' ').append(params.getJSONObject(i).getString("name"));
    }
    sb.append(')');
    if (block.has("returnType")) {
      sb.append(" -> ").append(block.getString("returnType"));
    }
    return sb.toString();
  }

  @Test
  public void blocksAreTheDocumentedOnes() throws Exception {
    JSONObject c = Bridge.component();
    Map<String, JSONObject> events = byName(c.getJSONArray("events"));
    Map<String, JSONObject> methods = byName(c.getJSONArray("methods"));
    StringBuilder all = new StringBuilder();
    for (JSONObject b : events.values()) {
      all.append("event ").append(signature(b)).append('\n');
    }
    for (JSONObject b : methods.values()) {
      all.append("method ").append(signature(b)).append('\n');
    }
    assertEquals("event ClassifierReady()\n"
        + "event Error(number errorCode, text errorMessage)\n"
        + "event GotClassification(list result)\n"
        + "event Heard(text label, number confidence)\n"
        + "method ClassifySoundData(text path)\n"
        + "method RecordAndClassify(number milliseconds)\n"
        + "method StartContinuousListening()\n"
        + "method StartListening()\n"
        + "method StopContinuousListening()\n"
        + "method StopListening()\n", all.toString());
    for (JSONObject b : events.values()) {
      assertFalse(b.getString("description").isEmpty());
      assertEquals("false", b.getString("deprecated"));
    }
    for (JSONObject b : methods.values()) {
      assertFalse(b.getString("description").isEmpty());
      assertEquals("false", b.getString("deprecated"));
    }
  }

  @Test
  public void propertiesHaveEditorsCategoriesAndModes() throws Exception {
    JSONObject c = Bridge.component();
    Map<String, JSONObject> designer = byName(c.getJSONArray("properties"));
    assertEquals("[MinimumInterval, Model, Threshold, WebViewer]", designer.keySet().toString());
    assertEquals("non_negative_integer", designer.get("MinimumInterval").getString("editorType"));
    assertEquals(PersonalAudioClassifier.DEFAULT_MINIMUM_INTERVAL,
        designer.get("MinimumInterval").getString("defaultValue"));
    assertEquals("float", designer.get("Threshold").getString("editorType"));
    assertEquals(PersonalAudioClassifier.DEFAULT_THRESHOLD,
        designer.get("Threshold").getString("defaultValue"));
    assertEquals("asset", designer.get("Model").getString("editorType"));
    assertEquals("", designer.get("Model").getString("defaultValue"));
    assertEquals("component:com.google.appinventor.components.runtime.WebViewer",
        designer.get("WebViewer").getString("editorType"));
    for (JSONObject p : designer.values()) {
      assertEquals(0, p.getJSONArray("editorArgs").length());
    }
    Map<String, JSONObject> blocks = byName(c.getJSONArray("blockProperties"));
    assertEquals("[Listening, MinimumInterval, Model, ModelLabels, Threshold, WebViewer]",
        blocks.keySet().toString());
    String[][] expected = {
        {"Listening", "boolean", "read-only"}, {"MinimumInterval", "number", "read-write"},
        {"Threshold", "number", "read-write"}, {"Model", "text", "invisible"},
        {"ModelLabels", "list", "read-only"}, {"WebViewer", "component", "invisible"}};
    for (String[] e : expected) {
      JSONObject p = blocks.get(e[0]);
      assertEquals(e[0], e[1], p.getString("type"));
      assertEquals(e[0], e[2], p.getString("rw"));
      assertEquals(e[0], "Behavior", p.getString("category"));
      assertEquals("false", p.getString("deprecated"));
      assertFalse(p.getString("description").isEmpty());
    }
  }

  @Test
  public void errorEventDocumentsEveryCodeOfBridgeJson() throws Exception {
    String doc = byName(Bridge.component().getJSONArray("events")).get("Error")
        .getString("description");
    JSONArray errors = Bridge.json().getJSONArray("errors");
    for (int i = 0; i < errors.length(); i++) {
      int code = errors.getJSONObject(i).getInt("code");
      assertTrue("Error's description lacks code " + code,
          doc.matches("(?s).*\\b" + code + " [a-z].*"));
    }
  }

  @Test
  public void buildInfoAsksOnlyForTheMicrophone() throws Exception {
    JSONObject info = Bridge.buildInfo();
    assertAllScalarsAreStrings("buildInfo", info);
    assertEquals("io.github.pacaudio.PersonalAudioClassifier", info.getString("type"));
    assertEquals("[\"android.permission.RECORD_AUDIO\"]",
        info.getJSONArray("permissions").toString());
    for (String key : List.of("libraries", "native", "activities", "metadata",
        "activityMetadata", "broadcastReceivers", "queries", "services", "contentProviders",
        "xmls", "features")) {
      assertEquals(key, 0, info.getJSONArray(key).length());
    }
    assertEquals("[\"21\"]", info.getJSONArray("androidMinSdk").toString());
    assertEquals(Bridge.component().getJSONArray("assets").toString(),
        info.getJSONArray("assets").toString());
    assertFalse(Bridge.descriptorText("components.json").contains("INTERNET"));
  }
}
