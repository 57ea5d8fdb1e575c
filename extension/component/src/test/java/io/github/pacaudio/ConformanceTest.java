package io.github.pacaudio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.json.JSONArray;
import org.json.JSONObject;
import org.junit.Test;

/**
 * The shared conformance cases of tests/fixtures/conformance (the same files pytest runs against
 * Python and the classifier page) for the rules the component has: whether a sound file goes to
 * the page as WAV (wav.json's sent_as_wav, SoundLoader.isWav) and what a Model archive must hold
 * (mdl.json's expect.java, ModelArchive.read). The component has no rule for feature
 * configurations or pac.json manifests (the page checks them).
 */
public class ConformanceTest {
  /** tests/fixtures/conformance, found from the working directory (Maven runs in extension/component). */
  private static File fixtures() {
    for (File dir = new File(System.getProperty("user.dir")).getAbsoluteFile(); dir != null;
        dir = dir.getParentFile()) {
      File candidate = new File(dir, "tests/fixtures/conformance");
      if (candidate.isDirectory()) {
        return candidate;
      }
    }
    throw new AssertionError("tests/fixtures/conformance not found above " + System.getProperty("user.dir"));
  }

  private static JSONArray cases(String kind) throws Exception {
    byte[] text = Files.readAllBytes(new File(fixtures(), kind + ".json").toPath());
    JSONArray cases = new JSONObject(new String(text, StandardCharsets.UTF_8)).getJSONArray("cases");
    assertTrue(kind + ".json has no cases", cases.length() > 0);
    return cases;
  }

  /** Hex digits (spaces ignored) then that many zero bytes. */
  private static byte[] fromHex(String hex, int pad) {
    String clean = hex.replaceAll("\\s+", "");
    byte[] out = new byte[clean.length() / 2 + pad];
    for (int i = 0; i < clean.length() / 2; i++) {
      out[i] = (byte) Integer.parseInt(clean.substring(2 * i, 2 * i + 2), 16);
    }
    return out;
  }

  private static byte[] archive(JSONObject input) throws Exception {
    if (input.has("bytes_hex")) {
      return fromHex(input.getString("bytes_hex"), 0);
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ZipOutputStream zip = new ZipOutputStream(bytes);
    JSONArray entries = input.getJSONArray("entries");
    for (int i = 0; i < entries.length(); i++) {
      JSONObject entry = entries.getJSONObject(i);
      zip.putNextEntry(new ZipEntry(entry.getString("name")));
      zip.write(entry.has("text") ? entry.getString("text").getBytes(StandardCharsets.UTF_8)
          : new byte[entry.getInt("zeros")]);
      zip.closeEntry();
    }
    zip.close();
    return bytes.toByteArray();
  }

  @Test
  public void wavFilesGoToThePageAsPythonAndTheFixtureSay() throws Exception {
    JSONArray cases = cases("wav");
    List<String> failures = new ArrayList<String>();
    for (int i = 0; i < cases.length(); i++) {
      JSONObject c = cases.getJSONObject(i);
      JSONObject input = c.getJSONObject("input");
      boolean sent = SoundLoader.isWav(fromHex(input.getString("hex"), input.getInt("pad")));
      if (sent != c.getBoolean("sent_as_wav")) {
        failures.add(c.getString("name") + ": isWav " + sent);
      }
    }
    assertEquals(new ArrayList<String>(), failures);
  }

  @Test
  public void modelArchivesAreReadAsTheFixtureSays() throws Exception {
    JSONArray cases = cases("mdl");
    List<String> failures = new ArrayList<String>();
    for (int i = 0; i < cases.length(); i++) {
      JSONObject c = cases.getJSONObject(i);
      String problem = judge(c.getJSONObject("expect").get("java"), c.getJSONObject("input"));
      if (problem != null) {
        failures.add(c.getString("name") + ": " + problem);
      }
    }
    assertEquals(new ArrayList<String>(), failures);
  }

  /** null if reading the archive gives what expect says, else what it gave. */
  private static String judge(Object expect, JSONObject input) throws Exception {
    ModelArchive read;
    try {
      read = ModelArchive.read("m.zip", new ByteArrayInputStream(archive(input)));
    } catch (PacException e) {
      if (!(expect instanceof JSONObject) || !((JSONObject) expect).has("error_contains")) {
        return "refused: " + e.getMessage();
      }
      String wanted = ((JSONObject) expect).getString("error_contains");
      if (e.code != BridgeConstants.ERROR_MODEL_INVALID) {
        return "error code " + e.code + ", not MODEL_INVALID";
      }
      return e.getMessage().contains(wanted) ? null : "'" + e.getMessage() + "' lacks '" + wanted + "'";
    }
    if (expect instanceof JSONObject && ((JSONObject) expect).has("error_contains")) {
      return "accepted, expected an error containing '"
          + ((JSONObject) expect).getString("error_contains") + "'";
    }
    if (expect instanceof JSONObject) {
      String kind = ((JSONObject) expect).getJSONObject("ok").getString("kind");
      return kind.equals(read.kind.name()) ? null : "read as " + read.kind + ", not " + kind;
    }
    return null;
  }

  @Test
  public void theFixturesAreFound() throws Exception {
    if (cases("wav").length() < 10 || cases("mdl").length() < 5) {
      fail("too few conformance cases");
    }
  }
}
