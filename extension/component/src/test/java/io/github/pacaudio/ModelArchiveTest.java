package io.github.pacaudio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.Test;

public class ModelArchiveTest {
  private static ModelArchive read(byte[] bytes) throws PacException {
    return ModelArchive.read("m.zip", new ByteArrayInputStream(bytes));
  }

  private static void assertInvalid(byte[] bytes, String messagePart) {
    try {
      read(bytes);
      fail("accepted");
    } catch (PacException e) {
      assertEquals(BridgeConstants.ERROR_MODEL_INVALID, e.code);
      assertTrue(e.getMessage(), e.getMessage().contains(messagePart));
    }
  }

  @Test
  public void pacModel() throws Exception {
    ModelArchive m = read(Zips.pacModel("x"));
    assertEquals(ModelArchive.Kind.PAC, m.kind);
    assertEquals("W-x", new String(m.get("weights.bin"), StandardCharsets.UTF_8));
    assertNull(m.get("nothing"));
  }

  @Test
  public void mitMdlModel() throws Exception {
    ModelArchive m = read(Zips.mdlModel());
    assertEquals(ModelArchive.Kind.MDL, m.kind);
    assertEquals("MDLW", new String(m.get("model.weights.bin"), StandardCharsets.UTF_8));
  }

  @Test
  public void zipOfAFolderIsServedFromInsideTheFolder() throws Exception {
    ModelArchive m = read(Zips.zip(Map.of("my model/pac.json", "{}",
        "my model/model.json", Zips.modelJson("w.bin"), "my model/w.bin", "W",
        "__MACOSX/my model/._w.bin", "junk")));
    assertEquals(ModelArchive.Kind.PAC, m.kind);
    assertEquals(3, m.size());
  }

  @Test
  public void notAModel() throws Exception {
    assertInvalid("just text, not a zip".getBytes(StandardCharsets.UTF_8), "not a zip");
    assertInvalid(new byte[0], "not a zip");
    assertInvalid(Zips.zip(Map.of("readme.txt", "hi")), "holds neither");
    assertInvalid(Zips.zip(Map.of("pac.json", "{}", "model.json", "not json")), "not JSON");
    assertInvalid(Zips.zip(Map.of("pac.json", "{}", "model.json", "{}")), "weightsManifest");
    assertInvalid(Zips.zip(Map.of("pac.json", "{}", "model.json", Zips.modelJson("w.bin"))),
        "w.bin");
    assertInvalid(Zips.zip(Map.of("model.json", Zips.modelJson("./model.weights.bin"),
        "model.weights.bin", "W", "model_labels.json", "{}")), "holds neither");
  }
}
