package io.github.pacaudio;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.google.appinventor.components.runtime.WebViewer;
import com.google.appinventor.components.runtime.util.ErrorMessages;
import com.google.appinventor.components.runtime.util.YailList;
import java.io.File;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.json.JSONArray;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The component's behaviour on a plain JVM: a TestForm stands in for App Inventor's screen and a
 * FakePlatform for the WebView, media decoders and microphone.
 */
public class PersonalAudioClassifierTest extends ComponentTestBase {
  @Rule
  public TemporaryFolder tmp = new TemporaryFolder();

  private void attach() throws Exception {
    platform.onUi(() -> pac.WebViewer(new WebViewer(null)));
  }

  private void ready(String... labels) throws Exception {
    attach();
    platform.bridge.ready(new JSONArray(List.of(labels)).toString());
    form.next("ClassifierReady");
  }

  private void assertError(int code, String messagePart) throws Exception {
    TestForm.Fired e = form.next("Error");
    assertEquals(FakePlatform.UI_THREAD, e.thread);
    assertEquals(Integer.valueOf(code), e.args[0]);
    assertTrue(e.args[1] + " should contain " + messagePart,
        ((String) e.args[1]).contains(messagePart));
  }

  // ---------------------------------------------------------------- bridge -> events

  @Test
  public void bridgeCallbacksFireTheEventsOnTheUiThreadWithAppInventorTypes() throws Exception {
    attach();
    assertEquals(1, platform.loads.size());
    String url = platform.loads.get(0);
    assertTrue(url, url.startsWith(AssetPaths.INSTANCE_PARENT) && url.endsWith("/classifier.html"));

    AtomicReference<YailList> before = new AtomicReference<>();
    platform.onUi(() -> before.set(pac.ModelLabels()));
    assertEquals(0, before.get().size());

    // WebView calls the bridge on its own thread.
    Thread js = new Thread(() -> platform.bridge.ready("[\"yes\",\"no\"]"), "JavaBridge");
    js.start();
    js.join();
    TestForm.Fired ready = form.next("ClassifierReady");
    assertEquals(FakePlatform.UI_THREAD, ready.thread);
    assertEquals(0, ready.args.length);
    AtomicReference<YailList> labels = new AtomicReference<>();
    platform.onUi(() -> labels.set(pac.ModelLabels()));
    assertEquals("yes", labels.get().getObject(0));
    assertEquals("no", labels.get().getObject(1));

    platform.bridge.reportResult("[[\"yes\",0.75],[\"no\",0.25]]");
    TestForm.Fired got = form.next("GotClassification");
    assertEquals(FakePlatform.UI_THREAD, got.thread);
    YailList result = (YailList) got.args[0];
    assertEquals(2, result.size());
    YailList best = (YailList) result.getObject(0);
    assertEquals("yes", best.getObject(0));
    assertEquals(Double.valueOf(0.75), best.getObject(1));

    platform.bridge.error(6, "The clip is silent.");
    TestForm.Fired error = form.next("Error");
    assertEquals(FakePlatform.UI_THREAD, error.thread);
    assertEquals(Integer.valueOf(6), error.args[0]);
    assertEquals("The clip is silent.", error.args[1]);
  }

  @Test
  public void hostileLabelsArriveUnchanged() throws Exception {
    String[] hostile = {"quote \" mark", "back\\slash", "</script><script>alert(1)</script>",
        "emoji \ud83c\udf89\ud83d\udc4d", "\u65e5\u672c\u8a9e", "\u0639\u0631\u0628\u064a",
        "new\nline", "line\u2028separator", "nul\u0000byte", "'single'", "${x}", ""};
    ready(hostile);
    AtomicReference<YailList> labels = new AtomicReference<>();
    platform.onUi(() -> labels.set(pac.ModelLabels()));
    assertEquals(hostile.length, labels.get().size());
    JSONArray result = new JSONArray();
    for (int i = 0; i < hostile.length; i++) {
      assertEquals(hostile[i], labels.get().getObject(i));
      result.put(new JSONArray().put(hostile[i]).put(i == 3 ? 0.5 : 0.5 / (hostile.length - 1)));
    }
    platform.bridge.reportResult(result.toString());
    YailList got = (YailList) form.next("GotClassification").args[0];
    assertEquals(hostile[3], ((YailList) got.getObject(0)).getObject(0));
    for (int i = 0; i < got.size(); i++) {
      YailList pair = (YailList) got.getObject(i);
      assertTrue(List.of(hostile).contains((String) pair.getObject(0)));
      assertTrue(pair.getObject(1) instanceof Double);
    }
  }

  @Test
  public void resultsAreSortedByConfidence() throws Exception {
    ready("a", "b", "c");
    platform.bridge.reportResult("[[\"a\",0.1],[\"b\",0.7],[\"c\",0.2]]");
    YailList got = (YailList) form.next("GotClassification").args[0];
    assertEquals("b", ((YailList) got.getObject(0)).getObject(0));
    assertEquals("c", ((YailList) got.getObject(1)).getObject(0));
    assertEquals("a", ((YailList) got.getObject(2)).getObject(0));
  }

  @Test
  public void malformedMessagesFromThePageBecomeErrors() throws Exception {
    ready("a");
    platform.bridge.reportResult("not json");
    assertError(BridgeConstants.ERROR_CLASSIFICATION_FAILED, "JSON");
    platform.bridge.reportResult("[[\"a\", 0.5]");
    assertError(BridgeConstants.ERROR_CLASSIFICATION_FAILED, "not JSON");
    platform.bridge.reportResult("{\"a\":1}");
    assertError(BridgeConstants.ERROR_CLASSIFICATION_FAILED, "not a JSON array");
    platform.bridge.reportResult("[[\"a\",\"high\"]]");
    assertError(BridgeConstants.ERROR_CLASSIFICATION_FAILED, "not [label, confidence]");
    platform.bridge.reportResult(null);
    assertError(BridgeConstants.ERROR_CLASSIFICATION_FAILED, "no result");
    platform.bridge.ready("[1,2]");
    assertError(BridgeConstants.ERROR_MODEL_LOAD_FAILED, "not a string");
    platform.bridge.error(2, null);
    assertError(2, "");
  }

  @Test
  public void anUnhandledErrorIsReportedByTheScreen() throws Exception {
    form.handlesEvents = false;
    platform.onUi(() -> pac.ClassifySoundData("/x.wav"));
    TestForm.Fired e = form.screenErrors.poll(10, TimeUnit.SECONDS);
    assertEquals(ErrorMessages.ERROR_EXTENSION_ERROR, e.args[0]);
    assertEquals(BridgeConstants.ERROR_NO_WEBVIEWER, e.args[1]);
    assertEquals("PersonalAudioClassifier", e.args[2]);
  }

  // ---------------------------------------------------------------- ClassifySoundData

  @Test
  public void withoutWebViewerOrBeforeReadyClassifyRaisesError() throws Exception {
    platform.onUi(() -> form.initializeListeners.get(0).onInitialize());
    assertError(BridgeConstants.ERROR_NO_WEBVIEWER, "WebViewer");
    platform.onUi(() -> pac.ClassifySoundData("/sdcard/a.wav"));
    assertError(BridgeConstants.ERROR_NO_WEBVIEWER, "WebViewer");
    attach();
    platform.onUi(() -> pac.ClassifySoundData("/sdcard/a.wav"));
    assertError(BridgeConstants.ERROR_NOT_READY, "ClassifierReady");
    assertTrue(platform.scripts.isEmpty());
  }

  @Test
  public void fileProblemsRaiseTheRightErrors() throws Exception {
    ready("a");
    File dir = tmp.newFolder("recordings");
    File empty = tmp.newFile("empty.wav");
    String[][] cases = {
        {"", "20"}, {"   ", "20"}, {"/no/such/file.wav", "20"},
        {"file:///no/such/file.3gp", "20"}, {"missing-asset.wav", "20"},
        {dir.getPath(), "21"}, {empty.getPath(), "21"}};
    for (String[] c : cases) {
      platform.onUi(() -> pac.ClassifySoundData(c[0]));
      assertError(Integer.parseInt(c[1]), "");
    }
    form.assetFailure = new SecurityException("storage permission");
    platform.onUi(() -> pac.ClassifySoundData("content-like.wav"));
    assertError(BridgeConstants.ERROR_FILE_UNREADABLE, "storage permission");
    assertTrue(platform.scripts.isEmpty());
  }

  @Test
  public void undecodableFilesRaiseDecodeFailed() throws Exception {
    ready("a");
    File junk = tmp.newFile("junk.3gp");
    Files.write(junk.toPath(), "this is not audio".getBytes(StandardCharsets.UTF_8));
    platform.onUi(() -> pac.ClassifySoundData(junk.getPath()));
    assertError(BridgeConstants.ERROR_DECODE_FAILED, "");
    platform.decoder = file -> new PcmClip(new float[0], 8000);
    platform.onUi(() -> pac.ClassifySoundData(junk.getPath()));
    assertError(BridgeConstants.ERROR_DECODE_FAILED, "no audio samples");
    platform.decoder = file -> {
      throw new IllegalStateException("codec exploded");
    };
    platform.onUi(() -> pac.ClassifySoundData(junk.getPath()));
    assertError(BridgeConstants.ERROR_DECODE_FAILED, "codec exploded");
  }

  static byte[] wav() {
    ByteBuffer b = ByteBuffer.allocate(44 + 8).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(44);
    b.put("WAVEfmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1)
        .putShort((short) 1).putInt(8000).putInt(16000).putShort((short) 2).putShort((short) 16);
    b.put("data".getBytes(StandardCharsets.US_ASCII)).putInt(8)
        .putShort((short) 1).putShort((short) -1).putShort((short) 300).putShort((short) 0);
    return b.array();
  }

  @Test
  public void wavFilesGoToThePageAsTheyAre() throws Exception {
    ready("a");
    File file = tmp.newFile("clip one.wav");
    Files.write(file.toPath(), wav());
    String expected = Scripts.classifyWav(Base64.getEncoder().encodeToString(wav()));
    platform.onUi(() -> pac.ClassifySoundData(file.getPath()));
    assertEquals(expected, platform.nextScript());
    platform.onUi(() -> pac.ClassifySoundData("file://" + file.getPath()));
    assertEquals(expected, platform.nextScript());
    platform.onUi(() -> pac.ClassifySoundData(file.toURI().toString()));
    assertEquals(expected, platform.nextScript());
    form.projectAssets.put("kitten.wav", wav());
    platform.onUi(() -> pac.ClassifySoundData("kitten.wav"));
    assertEquals(expected, platform.nextScript());
    assertTrue(expected.contains("pac.classifyWav(\""));
    assertTrue(form.events.isEmpty());
  }

  @Test
  public void otherFormatsAreDecodedToPcmOnTheWorkerThread() throws Exception {
    ready("a");
    AtomicReference<String> decodedOn = new AtomicReference<>();
    AtomicReference<byte[]> decodedBytes = new AtomicReference<>();
    platform.decoder = file -> {
      decodedOn.set(Thread.currentThread().getName());
      try {
        decodedBytes.set(Files.readAllBytes(file.toPath()));
      } catch (java.io.IOException e) {
        throw new AssertionError(e);
      }
      return new PcmClip(new float[] {0.25f, -0.25f}, 44100);
    };
    byte[] threeGp = "\0\0\0\u0018ftyp3gp4 pretend audio".getBytes(StandardCharsets.ISO_8859_1);
    form.projectAssets.put("memo.3gp", threeGp);
    platform.onUi(() -> pac.ClassifySoundData("memo.3gp"));
    String script = platform.nextScript();
    assertEquals(Scripts.classifyPcm(new PcmClip(new float[] {0.25f, -0.25f}, 44100)
        .toBase64Float32(), 44100), script);
    assertTrue(script.contains(",44100)"));
    assertEquals("pac-worker", decodedOn.get());
    assertArrayEquals(threeGp, decodedBytes.get());
    assertEquals("the temporary copy is deleted", 0, form.cacheDir.list().length);
  }

  @Test
  public void aPageThatIsNotThereOrThrowsRaisesError() throws Exception {
    ready("a");
    File file = tmp.newFile("c.wav");
    Files.write(file.toPath(), wav());
    platform.evaluateResult = "false";
    platform.onUi(() -> pac.ClassifySoundData(file.getPath()));
    assertError(BridgeConstants.ERROR_NOT_READY, "not loaded");
    platform.evaluateResult = "\"TypeError: pac.classifyWav is broken\"";
    platform.onUi(() -> pac.ClassifySoundData(file.getPath()));
    assertError(BridgeConstants.ERROR_CLASSIFICATION_FAILED, "TypeError");
    platform.evaluateResult = null;
    platform.onUi(() -> pac.ClassifySoundData(file.getPath()));
    assertError(BridgeConstants.ERROR_CLASSIFICATION_FAILED, "null");
  }

  // ---------------------------------------------------------------- Model

  static String body(RequestServer.Response r) throws Exception {
    try (InputStream in = r.body) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  public void theModelPropertyReplacesTheBuiltInModel() throws Exception {
    form.extensionAssets.put("model__pac.json", "{\"builtin\":true}".getBytes(StandardCharsets.UTF_8));
    form.extensionAssets.put("mobilenet__model.json", "base".getBytes(StandardCharsets.UTF_8));
    form.projectAssets.put("mine.zip", Zips.pacModel("mine"));
    platform.onUi(() -> pac.Model("mine.zip"));
    attach();
    // the page is loaded once the model is read, not before
    long deadline = System.currentTimeMillis() + 10000;
    while (platform.loads.isEmpty() && System.currentTimeMillis() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(1, platform.loads.size());
    String dir = platform.loads.get(0).replace("classifier.html", "");
    assertEquals("{\"tag\":\"mine\"}", body(platform.server.serve(dir + "model/pac.json")));
    assertEquals("W-mine", body(platform.server.serve(dir + "model/weights.bin")));
    assertEquals("base", body(platform.server.serve(dir + "mobilenet/model.json")));

    platform.onUi(() -> pac.Model(""));
    assertEquals(2, platform.loads.size());
    assertFalse("each load has its own URL", platform.loads.get(0).equals(platform.loads.get(1)));
    assertEquals("{\"builtin\":true}", body(platform.server.serve(dir + "model/pac.json")));
  }

  @Test
  public void aBadModelRaisesModelInvalidAndIsNotLoaded() throws Exception {
    form.projectAssets.put("notes.txt", "hello".getBytes(StandardCharsets.UTF_8));
    attach();
    assertEquals(1, platform.loads.size());
    platform.onUi(() -> pac.Model("notes.txt"));
    assertError(BridgeConstants.ERROR_MODEL_INVALID, "notes.txt");
    platform.onUi(() -> pac.Model("absent.mdl"));
    assertError(BridgeConstants.ERROR_MODEL_INVALID, "absent.mdl");
    assertEquals(1, platform.loads.size());
    platform.onUi(() -> pac.ClassifySoundData("/x.wav"));
    assertError(BridgeConstants.ERROR_MODEL_INVALID, "absent.mdl");
    form.projectAssets.put("model.mdl", Zips.mdlModel());
    platform.onUi(() -> pac.Model("model.mdl"));
    long deadline = System.currentTimeMillis() + 10000;
    while (platform.loads.size() < 2 && System.currentTimeMillis() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(2, platform.loads.size());
    String dir = platform.loads.get(1).replace("classifier.html", "");
    assertEquals("MDLW", body(platform.server.serve(dir + "model/model.weights.bin")));
  }

  @Test
  public void twoComponentsServeTwoModels() throws Exception {
    FakePlatform otherPlatform = new FakePlatform();
    AtomicReference<PersonalAudioClassifier> other = new AtomicReference<>();
    otherPlatform.onUi(() -> other.set(new PersonalAudioClassifier(form, otherPlatform)));
    form.projectAssets.put("one.zip", Zips.pacModel("one"));
    form.projectAssets.put("two.zip", Zips.pacModel("two"));
    platform.onUi(() -> pac.Model("one.zip"));
    otherPlatform.onUi(() -> other.get().Model("two.zip"));
    attach();
    otherPlatform.onUi(() -> other.get().WebViewer(new WebViewer(null)));
    long deadline = System.currentTimeMillis() + 10000;
    while ((platform.loads.isEmpty() || otherPlatform.loads.isEmpty())
        && System.currentTimeMillis() < deadline) {
      Thread.sleep(10);
    }
    String one = platform.loads.get(0);
    String two = otherPlatform.loads.get(0);
    assertFalse(one.equals(two));
    assertEquals("W-one", body(platform.server.serve(one.replace("classifier.html",
        "model/weights.bin"))));
    assertEquals("W-two", body(otherPlatform.server.serve(two.replace("classifier.html",
        "model/weights.bin"))));
    otherPlatform.onUi(() -> other.get().onDestroy());
    otherPlatform.uiThread.shutdownNow();
  }

  // ---------------------------------------------------------------- microphone

  private boolean listening() throws Exception {
    AtomicReference<Boolean> value = new AtomicReference<>();
    platform.onUi(() -> value.set(pac.Listening()));
    return value.get();
  }

  @Test
  public void refusedMicrophoneRaisesPermissionDenied() throws Exception {
    ready("a");
    form.grantPermission = false;
    platform.onUi(() -> pac.StartListening());
    assertError(BridgeConstants.ERROR_PERMISSION_DENIED, "permission");
    assertFalse(listening());
    platform.onUi(() -> pac.RecordAndClassify(500));
    assertError(BridgeConstants.ERROR_PERMISSION_DENIED, "permission");
    assertTrue(platform.mics.isEmpty());
  }

  @Test
  public void startAndStopListeningClassifiesWhatWasHeard() throws Exception {
    ready("a");
    platform.onUi(() -> pac.StartListening());
    assertTrue(listening());
    assertEquals(PersonalAudioClassifier.LISTEN_KEEP_MILLIS, platform.mics.get(0).keepMillis);
    platform.onUi(() -> pac.StartListening());
    assertError(BridgeConstants.ERROR_BUSY, "already recording");
    platform.onUi(() -> pac.StopListening());
    assertFalse(listening());
    String script = platform.nextScript();
    assertTrue(script, script.contains("pac.classifyPcm(\"") && script.endsWith(",16000);"
        + "return true;}return false;}catch(e){return String(e);}})()"));
    assertTrue(platform.mics.get(0).released);
    platform.onUi(() -> pac.StopListening());  // not listening: nothing happens
    Thread.sleep(50);
    assertTrue(form.events.isEmpty());
    assertTrue(platform.scripts.isEmpty());
  }

  @Test
  public void recordAndClassifyStopsByItself() throws Exception {
    ready("a");
    platform.onUi(() -> pac.RecordAndClassify(5));  // brought up to 100 ms
    assertEquals(PersonalAudioClassifier.MIN_RECORD_MILLIS, platform.mics.get(0).keepMillis);
    String script = platform.nextScript();
    assertTrue(script.contains("classifyPcm"));
    assertFalse(listening());
  }

  @Test
  public void aMicrophoneThatCannotOpenRaisesRecordingFailed() throws Exception {
    ready("a");
    platform.micStartFailure = new PacException(BridgeConstants.ERROR_RECORDING_FAILED,
        "The microphone is in use by another app.");
    platform.onUi(() -> pac.StartListening());
    assertError(BridgeConstants.ERROR_RECORDING_FAILED, "in use");
    assertFalse(listening());
    assertTrue(platform.mics.get(0).released);
  }

  @Test
  public void recordingNeedsAReadyClassifier() throws Exception {
    attach();
    platform.onUi(() -> pac.StartListening());
    assertError(BridgeConstants.ERROR_NOT_READY, "ClassifierReady");
    assertTrue(platform.mics.isEmpty());
  }
}
