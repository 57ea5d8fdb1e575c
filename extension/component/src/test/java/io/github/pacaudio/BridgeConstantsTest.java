package io.github.pacaudio;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import android.webkit.JavascriptInterface;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Iterator;
import java.util.Set;
import java.util.TreeSet;
import org.json.JSONArray;
import org.json.JSONObject;
import org.junit.Test;

/**
 * The Java side of the bridge must match extension/bridge.json. BridgeConstants is generated from
 * it at build time; this fails if the generated class is stale (bridge.json changed without a
 * rebuild) or if the hand-written bridge object drifts from it.
 */
public class BridgeConstantsTest {
  @Test
  public void interfaceNameAndJsObjectMatchBridgeJson() throws Exception {
    JSONObject bridge = Bridge.json();
    assertEquals(bridge.getString("javascript_interface"), BridgeConstants.JAVASCRIPT_INTERFACE);
    JSONObject javaToJs = bridge.getJSONObject("java_to_js");
    assertEquals(javaToJs.getString("object"), BridgeConstants.JS_OBJECT);
    assertEquals("classifyWav", BridgeConstants.JAVA_TO_JS_CLASSIFY_WAV);
    assertEquals(javaToJs.getJSONObject("classifyWav").getJSONArray("params").length(),
        BridgeConstants.JAVA_TO_JS_CLASSIFY_WAV_ARITY);
    assertEquals("classifyPcm", BridgeConstants.JAVA_TO_JS_CLASSIFY_PCM);
    assertEquals(javaToJs.getJSONObject("classifyPcm").getJSONArray("params").length(),
        BridgeConstants.JAVA_TO_JS_CLASSIFY_PCM_ARITY);
  }

  @Test
  public void jsBridgeHasExactlyTheCallbacksOfBridgeJson() throws Exception {
    JSONObject jsToJava = Bridge.json().getJSONObject("js_to_java");
    Set<String> expected = new TreeSet<>();
    for (Iterator<String> it = jsToJava.keys(); it.hasNext(); ) {
      String name = it.next();
      expected.add(name);
      int arity = jsToJava.getJSONObject(name).getJSONArray("params").length();
      Method found = null;
      for (Method m : JsBridge.class.getDeclaredMethods()) {
        if (m.getName().equals(name)) {
          found = m;
        }
      }
      assertNotNull("JsBridge has no method " + name, found);
      assertTrue(name + " must be public", Modifier.isPublic(found.getModifiers()));
      assertNotNull(name + " needs @JavascriptInterface",
          found.getAnnotation(JavascriptInterface.class));
      assertEquals(name + " arity", arity, found.getParameterCount());
    }
    assertArrayEquals(new Class<?>[] {int.class, String.class},
        JsBridge.class.getMethod("error", int.class, String.class).getParameterTypes());
    Set<String> annotated = new TreeSet<>();
    for (Method m : JsBridge.class.getDeclaredMethods()) {
      if (m.getAnnotation(JavascriptInterface.class) != null) {
        annotated.add(m.getName());
      }
    }
    assertEquals(expected, annotated);
  }

  @Test
  public void everyErrorCodeIsGeneratedAndNoOther() throws Exception {
    JSONArray errors = Bridge.json().getJSONArray("errors");
    Set<String> expected = new TreeSet<>();
    for (int i = 0; i < errors.length(); i++) {
      JSONObject e = errors.getJSONObject(i);
      String field = "ERROR_" + e.getString("name");
      expected.add(field);
      Field f = BridgeConstants.class.getDeclaredField(field);
      assertEquals(field, e.getInt("code"), f.getInt(null));
    }
    Set<String> generated = new TreeSet<>();
    for (Field f : BridgeConstants.class.getDeclaredFields()) {
      if (f.getName().startsWith("ERROR_") && f.getType() == int.class) {
        generated.add(f.getName());
      }
    }
    assertEquals(expected, generated);
  }

  @Test
  public void assetPathRuleIsGeneratedFromBridgeJson() throws Exception {
    JSONObject rule = Bridge.json().getJSONObject("asset_paths");
    assertEquals(rule.getString("origin"), BridgeConstants.ASSET_ORIGIN);
    assertEquals(rule.getString("page_url"), BridgeConstants.ASSET_PAGE_URL);
    assertEquals(rule.getString("separator"), BridgeConstants.ASSET_SEPARATOR);
    assertEquals(rule.getString("segment_pattern"), BridgeConstants.ASSET_SEGMENT_PATTERN);
    assertEquals(rule.getString("model_prefix"), BridgeConstants.ASSET_MODEL_PREFIX);
    assertEquals(rule.getJSONArray("reserved_names").length(),
        BridgeConstants.ASSET_RESERVED_NAMES.length);
    for (int i = 0; i < BridgeConstants.ASSET_RESERVED_NAMES.length; i++) {
      assertEquals(rule.getJSONArray("reserved_names").getString(i),
          BridgeConstants.ASSET_RESERVED_NAMES[i]);
    }
    assertTrue(BridgeConstants.ASSET_PAGE_URL.startsWith(BridgeConstants.ASSET_ORIGIN + "/"));
  }
}
