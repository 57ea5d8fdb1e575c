package io.github.pacaudio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.HashSet;
import java.util.Iterator;
import java.util.Set;
import org.json.JSONObject;
import org.junit.Test;

/** The URL path -> asset name rule of bridge.json "asset_paths", which the packager also applies. */
public class AssetPathsTest {
  @Test
  public void examplesOfBridgeJsonMapBothWays() throws Exception {
    JSONObject examples = Bridge.json().getJSONObject("asset_paths").getJSONObject("examples");
    int n = 0;
    for (Iterator<String> it = examples.keys(); it.hasNext(); n++) {
      String path = it.next();
      assertEquals(path, examples.getString(path), AssetPaths.assetName(path));
      assertEquals(path, AssetPaths.relativePath(examples.getString(path)));
    }
    assertTrue(n >= 4);
  }

  @Test
  public void everyFileThePageNeedsHasADistinctAssetName() {
    Set<String> names = new HashSet<>();
    String[] fixed = {"classifier.html", "pac-runtime.js", "tf.min.js",
        "tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm",
        "tfjs-backend-wasm-threaded-simd.wasm", "mobilenet/model.json", "model/pac.json",
        "model/model.json", "model/model.weights.bin", "model/model_labels.json",
        "model/transfer_model.json", "model/group1-shard1of1.bin"};
    for (String path : fixed) {
      assertTrue(names.add(AssetPaths.assetName(path)));
    }
    for (int i = 1; i <= 55; i++) {
      String name = AssetPaths.assetName("mobilenet/group" + i + "-shard1of1");
      assertEquals("mobilenet__group" + i + "-shard1of1", name);
      assertTrue(names.add(name));
      assertEquals("mobilenet/group" + i + "-shard1of1", AssetPaths.relativePath(name));
    }
    assertEquals("model__model_labels.json", AssetPaths.assetName("model/model_labels.json"));
  }

  @Test
  public void pathsThatWouldBreakTheRuleOrAppInventorAreRefused() {
    String[] bad = {"", "/", "a//b", "/a", "a/", ".hidden", "mobilenet/.x", "a__b", "a_", "_a",
        "a/_b", "..", "../model.json", "a b", "a%2Fb", "a\\b", "caf\u00e9.js", "x~",
        "components.json", "Component.json", "classes.jar", "files.scc", "Thumbs.db"};
    for (String path : bad) {
      try {
        AssetPaths.assetName(path);
        fail("accepted " + path);
      } catch (IllegalArgumentException expected) {
        // refused
      }
    }
  }

  @Test
  public void assetNamesThatAreNotImagesOfPathsAreRefused() {
    for (String name : new String[] {"a___b", "a____b", "__a", "a__"}) {
      try {
        AssetPaths.relativePath(name);
        fail("accepted " + name);
      } catch (IllegalArgumentException expected) {
        // refused
      }
    }
  }

  @Test
  public void pageUrlFollowsBridgeJson() throws Exception {
    String template = Bridge.json().getJSONObject("asset_paths").getString("page_url");
    assertEquals(template.replace("INSTANCE", "abc-1"), AssetPaths.pageUrl("abc-1"));
    assertEquals("classifier.html", AssetPaths.PAGE_FILE);
  }

  @Test
  public void mimeTypes() {
    assertEquals("text/html", AssetPaths.mimeType("classifier.html"));
    assertEquals("text/javascript", AssetPaths.mimeType("tf.min.js"));
    assertEquals("application/wasm", AssetPaths.mimeType("tfjs-backend-wasm.wasm"));
    assertEquals("application/json", AssetPaths.mimeType("model/model.json"));
    assertEquals("application/octet-stream", AssetPaths.mimeType("mobilenet/group1-shard1of1"));
  }
}
