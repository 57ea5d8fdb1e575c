package io.github.pacaudio;

import com.google.appinventor.components.runtime.WebViewer;
import java.io.File;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A Platform whose "UI thread" is a named thread, whose page records what it is given. */
final class FakePlatform implements Platform {
  static final String UI_THREAD = "test-ui-thread";

  final ExecutorService uiThread = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, UI_THREAD);
    t.setDaemon(true);
    return t;
  });
  final List<String> loads = new CopyOnWriteArrayList<>();
  final LinkedBlockingQueue<String> scripts = new LinkedBlockingQueue<>();
  volatile String evaluateResult = "true";
  volatile JsBridge bridge;
  volatile RequestServer server;
  volatile DecodeFunction decoder = file -> {
    throw new PacException(BridgeConstants.ERROR_DECODE_FAILED, "no decoder in this test");
  };
  final List<FakeMic> mics = new CopyOnWriteArrayList<>();
  volatile PacException micStartFailure;

  interface DecodeFunction {
    PcmClip decode(File file) throws PacException;
  }

  @Override
  public void runOnUiThread(Runnable r) {
    if (Thread.currentThread().getName().equals(UI_THREAD)) {
      r.run();
    } else {
      uiThread.execute(r);
    }
  }

  /** Runs r on the UI thread and waits for it (how App Inventor calls blocks). */
  void onUi(Runnable r) throws Exception {
    uiThread.submit(r).get(10, TimeUnit.SECONDS);
  }

  @Override
  public Page attach(WebViewer viewer, RequestServer server, JsBridge bridge) {
    this.server = server;
    this.bridge = bridge;
    return new Page() {
      @Override
      public void load(String url) {
        loads.add(url);
      }

      @Override
      public void evaluate(String script, Callback callback) {
        scripts.add(script);
        callback.onResult(evaluateResult);
      }
    };
  }

  @Override
  public PcmClip decode(File file, int maxSeconds) throws PacException {
    return decoder.decode(file);
  }

  @Override
  public Microphone microphone() {
    FakeMic mic = new FakeMic();
    mics.add(mic);
    return mic;
  }

  String nextScript() throws InterruptedException {
    String s = scripts.poll(10, TimeUnit.SECONDS);
    if (s == null) {
      throw new AssertionError("no script evaluated within 10 s");
    }
    return s;
  }

  final class FakeMic implements Microphone {
    volatile int keepMillis = -1;
    volatile boolean started;
    volatile boolean released;
    volatile int chunkMillis = -1;
    volatile Sink sink;

    @Override
    public void stream(int chunkMillis, Sink sink) throws PacException {
      if (micStartFailure != null) {
        throw micStartFailure;
      }
      this.chunkMillis = chunkMillis;
      this.sink = sink;
      started = true;
    }

    /** What the recording thread does: one chunk of the given samples at 16 kHz. */
    void deliver(float... samples) throws InterruptedException {
      Thread t = new Thread(() -> sink.onChunk(samples, 16000), "pac-microphone");
      t.start();
      t.join();
    }

    @Override
    public void start(int keepMillis) throws PacException {
      if (micStartFailure != null) {
        throw micStartFailure;
      }
      this.keepMillis = keepMillis;
      started = true;
    }

    @Override
    public PcmClip stop() {
      float[] samples = new float[1600];
      for (int i = 0; i < samples.length; i++) {
        samples[i] = (float) Math.sin(i * 0.1) * 0.5f;
      }
      return new PcmClip(samples, 16000);
    }

    @Override
    public void release() {
      released = true;
    }
  }
}
