package io.github.pacaudio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.io.ByteArrayInputStream;
import java.io.FileNotFoundException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.Test;

public class RequestServerTest {
  private final Map<String, String> assets = new HashMap<>();
  private final RequestServer server = new RequestServer(name -> {
    String text = assets.get(name);
    if (text == null) {
      throw new FileNotFoundException(name);
    }
    return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
  });

  private static final String PAGE_DIR = AssetPaths.INSTANCE_PARENT + "k1-2/";

  static String body(RequestServer.Response r) throws Exception {
    try (InputStream in = r.body) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  public void servesExtensionAssetsByTheRule() throws Exception {
    assets.put("classifier.html", "<html>");
    assets.put("mobilenet__group7-shard1of1", "G7");
    RequestServer.Response page = server.serve(PAGE_DIR + "classifier.html?x=1#top");
    assertEquals(200, page.status);
    assertEquals("text/html", page.mimeType);
    assertEquals("utf-8", page.encoding);
    assertEquals("no-store", page.headers.get("Cache-Control"));
    assertEquals("<html>", body(page));
    RequestServer.Response shard = server.serve(PAGE_DIR + "mobilenet/group7-shard1of1");
    assertEquals("application/octet-stream", shard.mimeType);
    assertNull(shard.encoding);
    assertEquals("G7", body(shard));
  }

  @Test
  public void missingBadAndForeignUrlsAre404AndNeverTheNetwork() throws Exception {
    assertEquals(404, server.serve(PAGE_DIR + "nothing.js").status);
    assertEquals(404, server.serve(PAGE_DIR + "../secret").status);
    assertEquals(404, server.serve(PAGE_DIR + "a__b").status);
    assertEquals(404, server.serve(AssetPaths.INSTANCE_PARENT + "classifier.html").status);
    assertEquals(404, server.serve("https://cdn.jsdelivr.net/npm/@tensorflow/tfjs").status);
    assertEquals(404, server.serve("http://example.com/").status);
    assertNull(server.serve("data:text/plain,hi"));
    assertNull(server.serve(null));
  }

  @Test
  public void modelPathsComeFromTheModelZipWhenOneIsSet() throws Exception {
    assets.put("model__pac.json", "builtin");
    assets.put("mobilenet__model.json", "base");
    assertEquals("builtin", body(server.serve(PAGE_DIR + "model/pac.json")));
    server.setModel(ModelArchive.read("mine.zip", new ByteArrayInputStream(Zips.pacModel("u"))));
    assertEquals("{\"tag\":\"u\"}", body(server.serve(PAGE_DIR + "model/pac.json")));
    assertEquals("W-u", body(server.serve(PAGE_DIR + "model/weights.bin")));
    assertEquals(404, server.serve(PAGE_DIR + "model/model_labels.json").status);
    assertEquals("base", body(server.serve(PAGE_DIR + "mobilenet/model.json")));
    server.setModel(null);
    assertEquals("builtin", body(server.serve(PAGE_DIR + "model/pac.json")));
  }
}
