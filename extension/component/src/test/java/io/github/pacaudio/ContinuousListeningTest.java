package io.github.pacaudio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import com.google.appinventor.components.runtime.WebViewer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.json.JSONArray;
import org.json.JSONObject;
import org.junit.Test;

/**
 * StartContinuousListening / StopContinuousListening / Heard / Threshold / MinimumInterval on a
 * plain JVM: the microphone's chunks reach the page as startStream + pushPcm scripts, the page's
 * heard calls fire Heard, and the microphone and the page's stream stop on Stop, on a screen
 * pause (and start again on resume) and when the component is deleted.
 */
public class ContinuousListeningTest extends ComponentTestBase {
  private static final String BG = BridgeConstants.LISTENING_BACKGROUND_LABEL;

  private void ready(String... labels) throws Exception {
    platform.onUi(() -> pac.WebViewer(new WebViewer(null)));
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

  private boolean listening() throws Exception {
    AtomicReference<Boolean> value = new AtomicReference<>();
    platform.onUi(() -> value.set(pac.Listening()));
    return value.get();
  }

  /** Lets the UI thread run what is queued on it. */
  private void drainUi() throws Exception {
    platform.onUi(() -> { });
  }

  private void assertNothingMore() throws Exception {
    drainUi();
    Thread.sleep(30);
    drainUi();
    assertTrue(form.events.toString(), form.events.isEmpty());
    assertTrue(platform.scripts.toString(), platform.scripts.isEmpty());
  }

  private static String call(String function, String args) {
    return "window.pac&&typeof window.pac." + function + "==='function'){window.pac." + function
        + "(" + args + ");return true;}";
  }

  private static float[] pushedSamples(String script) {
    int start = script.indexOf("pushPcm(\"") + "pushPcm(\"".length();
    byte[] bytes = Base64.getDecoder().decode(script.substring(start, script.indexOf('"', start)));
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[bytes.length / 4];
    for (int i = 0; i < out.length; i++) {
      out[i] = b.getFloat();
    }
    return out;
  }

  @Test
  public void chunksGoToThePageAndHeardFires() throws Exception {
    ready(BG, "go", "stop");
    platform.onUi(() -> {
      pac.Threshold(0.7);
      pac.MinimumInterval(1500);
    });
    platform.onUi(() -> pac.StartContinuousListening());
    assertTrue(listening());
    FakePlatform.FakeMic mic = platform.mics.get(0);
    assertEquals(PersonalAudioClassifier.STREAM_CHUNK_MILLIS, mic.chunkMillis);
    assertTrue(platform.scripts.isEmpty());  // startStream waits for the first chunk's rate
    mic.deliver(0.5f, -0.25f, 0f);
    String start = platform.nextScript();
    assertTrue(start, start.contains(call("startStream", "16000,0.7,1500")));
    String push = platform.nextScript();
    assertTrue(push, push.contains("window.pac.pushPcm(\""));
    assertEquals(3, pushedSamples(push).length);
    assertEquals(0.5f, pushedSamples(push)[0], 0f);
    assertEquals(-0.25f, pushedSamples(push)[1], 0f);
    mic.deliver(0.125f);
    String again = platform.nextScript();
    assertTrue(again, again.contains("pushPcm(") && !again.contains("startStream"));

    Thread js = new Thread(() -> platform.bridge.heard("go", 0.93), "JavaBridge");
    js.start();
    js.join();
    TestForm.Fired heard = form.next("Heard");
    assertEquals(FakePlatform.UI_THREAD, heard.thread);
    assertEquals("go", heard.args[0]);
    assertEquals(Double.valueOf(0.93), heard.args[1]);
    assertNothingMore();  // no GotClassification, nothing else
  }

  @Test
  public void alreadyListeningRaisesBusy() throws Exception {
    ready(BG, "go");
    platform.onUi(() -> pac.StartContinuousListening());
    platform.onUi(() -> pac.StartContinuousListening());
    assertError(BridgeConstants.ERROR_BUSY, "StopContinuousListening");
    platform.onUi(() -> pac.StartListening());
    assertError(BridgeConstants.ERROR_BUSY, "already recording");
    platform.onUi(() -> pac.RecordAndClassify(500));
    assertError(BridgeConstants.ERROR_BUSY, "already recording");
    assertEquals(1, platform.mics.size());
    assertTrue(listening());
    // and the other way round: a one-shot recording blocks continuous listening
    platform.onUi(() -> pac.StopContinuousListening());
    platform.onUi(() -> pac.StartListening());
    platform.onUi(() -> pac.StartContinuousListening());
    assertError(BridgeConstants.ERROR_BUSY, "StopListening");
  }

  @Test
  public void refusedPermissionRaisesPermissionDenied() throws Exception {
    ready(BG, "go");
    form.grantPermission = false;
    platform.onUi(() -> pac.StartContinuousListening());
    assertError(BridgeConstants.ERROR_PERMISSION_DENIED, "permission");
    assertFalse(listening());
    assertTrue(platform.mics.isEmpty());
    form.grantPermission = true;  // asking again works
    platform.onUi(() -> pac.StartContinuousListening());
    assertTrue(listening());
    assertEquals(1, platform.mics.size());
  }

  @Test
  public void aModelWithoutBackgroundOrNotReadyIsRefused() throws Exception {
    platform.onUi(() -> pac.WebViewer(new WebViewer(null)));
    platform.onUi(() -> pac.StartContinuousListening());
    assertError(BridgeConstants.ERROR_NOT_READY, "ClassifierReady");
    platform.bridge.ready("[\"go\",\"stop\"]");
    form.next("ClassifierReady");
    platform.onUi(() -> pac.StartContinuousListening());
    assertError(BridgeConstants.ERROR_NO_BACKGROUND_LABEL, BG);
    assertFalse(listening());
    assertTrue(platform.mics.isEmpty());
  }

  @Test
  public void stopReleasesTheMicrophoneAndStopsThePage() throws Exception {
    ready(BG, "go");
    platform.onUi(() -> pac.StopContinuousListening());  // not listening: nothing
    assertNothingMore();
    platform.onUi(() -> pac.StartContinuousListening());
    FakePlatform.FakeMic mic = platform.mics.get(0);
    mic.deliver(0.1f);
    platform.nextScript();
    platform.nextScript();
    platform.onUi(() -> pac.StopContinuousListening());
    assertTrue(mic.released);
    assertFalse(listening());
    assertTrue(platform.nextScript().contains(call("stopStream", "")));
    mic.deliver(0.2f);  // a chunk still on its way: dropped
    platform.bridge.heard("go", 0.99);  // a detection still on its way: dropped
    assertNothingMore();
  }

  @Test
  public void pauseStopsTheMicrophoneAndResumeStartsAgain() throws Exception {
    ready(BG, "go");
    platform.onUi(() -> pac.StartContinuousListening());
    FakePlatform.FakeMic first = platform.mics.get(0);
    first.deliver(0.1f);
    platform.nextScript();
    platform.nextScript();
    platform.onUi(() -> form.pause());
    assertTrue(first.released);
    assertTrue(platform.nextScript().contains(call("stopStream", "")));
    assertTrue(listening());  // still on: it resumes with the screen
    first.deliver(0.2f);
    platform.bridge.heard("go", 0.99);
    assertNothingMore();
    platform.onUi(() -> form.resume());
    assertEquals(2, platform.mics.size());
    FakePlatform.FakeMic second = platform.mics.get(1);
    assertTrue(second.started && !second.released);
    second.deliver(0.3f);
    assertTrue(platform.nextScript().contains("startStream(16000,0.8,1000)"));
    assertTrue(platform.nextScript().contains("pushPcm("));
    platform.bridge.heard("go", 0.95);
    assertEquals("go", form.next("Heard").args[0]);
  }

  @Test
  public void pausedWhileAskingPermissionStartsOnResume() throws Exception {
    ready(BG, "go");
    platform.onUi(() -> form.pause());
    platform.onUi(() -> pac.StartContinuousListening());
    assertTrue(platform.mics.isEmpty());
    platform.onUi(() -> form.resume());
    assertEquals(1, platform.mics.size());
  }

  @Test
  public void pauseAndResumeWithoutListeningDoNothing() throws Exception {
    ready(BG, "go");
    platform.onUi(() -> form.pause());
    platform.onUi(() -> form.resume());
    assertTrue(platform.mics.isEmpty());
    assertNothingMore();
  }

  @Test
  public void deletingTheComponentStopsEverything() throws Exception {
    ready(BG, "go");
    platform.onUi(() -> pac.StartContinuousListening());
    FakePlatform.FakeMic mic = platform.mics.get(0);
    mic.deliver(0.1f);
    platform.nextScript();
    platform.nextScript();
    platform.onUi(() -> pac.onDelete());
    assertTrue(mic.released);
    assertTrue(platform.nextScript().contains(call("stopStream", "")));
    assertFalse(listening());
    mic.deliver(0.2f);
    platform.bridge.heard("go", 0.99);
    assertNothingMore();
  }

  @Test
  public void microphoneFailuresRaiseRecordingFailed() throws Exception {
    ready(BG, "go");
    platform.micStartFailure = new PacException(BridgeConstants.ERROR_RECORDING_FAILED,
        "The microphone is in use by another app.");
    platform.onUi(() -> pac.StartContinuousListening());
    assertError(BridgeConstants.ERROR_RECORDING_FAILED, "in use");
    assertFalse(listening());
    assertTrue(platform.mics.get(0).released);
    platform.micStartFailure = null;
    platform.onUi(() -> pac.StartContinuousListening());
    FakePlatform.FakeMic mic = platform.mics.get(1);
    Thread t = new Thread(() -> mic.sink.onFailure(new PacException(
        BridgeConstants.ERROR_RECORDING_FAILED, "The microphone stopped delivering sound.")));
    t.start();
    t.join();
    assertError(BridgeConstants.ERROR_RECORDING_FAILED, "stopped delivering");
    assertFalse(listening());
    assertTrue(mic.released);
    assertTrue(platform.nextScript().contains(call("stopStream", "")));
  }

  @Test
  public void aMalformedDetectionIsAnError() throws Exception {
    ready(BG, "go");
    platform.onUi(() -> pac.StartContinuousListening());
    platform.bridge.heard("go", 1.5);
    assertError(BridgeConstants.ERROR_CLASSIFICATION_FAILED, "confidence");
    platform.bridge.heard(null, 0.5);
    assertError(BridgeConstants.ERROR_CLASSIFICATION_FAILED, "label");
  }

  @Test
  public void thresholdAndIntervalDefaultsComeFromBridgeJsonAndAreClamped() throws Exception {
    JSONObject rules = Bridge.json().getJSONObject("listening");
    assertEquals(rules.getDouble("default_threshold"),
        Double.parseDouble(PersonalAudioClassifier.DEFAULT_THRESHOLD), 0);
    assertEquals(rules.getInt("default_minimum_interval_ms"),
        Integer.parseInt(PersonalAudioClassifier.DEFAULT_MINIMUM_INTERVAL));
    assertEquals(rules.getString("background_label"), BG);
    AtomicReference<Object[]> got = new AtomicReference<>();
    platform.onUi(() -> {
      Object[] values = new Object[6];
      values[0] = pac.Threshold();
      values[1] = pac.MinimumInterval();
      pac.Threshold(7);
      pac.MinimumInterval(-5);
      values[2] = pac.Threshold();
      values[3] = pac.MinimumInterval();
      pac.Threshold(0);
      pac.MinimumInterval(10000000);
      values[4] = pac.Threshold();
      values[5] = pac.MinimumInterval();
      got.set(values);
    });
    assertEquals(0.8, (Double) got.get()[0], 0);
    assertEquals(1000, got.get()[1]);
    assertEquals(1.0, (Double) got.get()[2], 0);
    assertEquals(0, got.get()[3]);
    assertEquals(0.01, (Double) got.get()[4], 0);
    assertEquals(rules.getInt("minimum_interval_ms_max"), got.get()[5]);
    assertNull(platform.bridge == null ? null : null);
  }
}
