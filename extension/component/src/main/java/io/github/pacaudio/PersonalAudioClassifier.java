package io.github.pacaudio;

import com.google.appinventor.components.annotations.DesignerComponent;
import com.google.appinventor.components.annotations.DesignerProperty;
import com.google.appinventor.components.annotations.PropertyCategory;
import com.google.appinventor.components.annotations.SimpleEvent;
import com.google.appinventor.components.annotations.SimpleFunction;
import com.google.appinventor.components.annotations.SimpleObject;
import com.google.appinventor.components.annotations.SimpleProperty;
import com.google.appinventor.components.annotations.UsesAssets;
import com.google.appinventor.components.annotations.UsesPermissions;
import com.google.appinventor.components.common.ComponentCategory;
import com.google.appinventor.components.common.PropertyTypeConstants;
import com.google.appinventor.components.runtime.AndroidNonvisibleComponent;
import com.google.appinventor.components.runtime.ComponentContainer;
import com.google.appinventor.components.runtime.Deleteable;
import com.google.appinventor.components.runtime.EventDispatcher;
import com.google.appinventor.components.runtime.Form;
import com.google.appinventor.components.runtime.OnDestroyListener;
import com.google.appinventor.components.runtime.OnPauseListener;
import com.google.appinventor.components.runtime.OnResumeListener;
import com.google.appinventor.components.runtime.PermissionResultHandler;
import com.google.appinventor.components.runtime.WebViewer;
import com.google.appinventor.components.runtime.util.ErrorMessages;
import com.google.appinventor.components.runtime.util.MediaUtil;
import com.google.appinventor.components.runtime.util.OnInitializeListener;
import com.google.appinventor.components.runtime.util.YailList;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * Classifies sounds with a personal audio classifier, on the phone and without the network.
 *
 * <p>The classifier itself is pac's JavaScript page (spectrogram + TensorFlow.js MobileNet + the
 * trained head) running in the WebViewer chosen in the designer; this component serves the page
 * and every file it needs from the extension's assets (and the Model zip), passes sounds to it and
 * turns its answers into events. All blocks are called, and all events fire, on the UI thread;
 * file reading, decoding and recording run on a worker thread.
 */
@DesignerComponent(
    version = PersonalAudioClassifier.VERSION,
    versionName = "0.1.0",
    category = ComponentCategory.EXTENSION,
    nonVisible = true,
    iconName = "aiwebres/pac.png",
    androidMinSdk = 21,
    description = "Recognises sounds with your own audio classifier (a word, a voice, a noise), "
        + "entirely on the phone: no network is needed. Set WebViewer to a WebViewer component "
        + "(it can be hidden) and, optionally, Model to a model file (.zip exported by pac, or "
        + ".mdl from MIT's Personal Audio Classifier); without a Model the classifier built into "
        + "this extension is used. Wait for ClassifierReady, then call ClassifySoundData with a "
        + "sound file (for example SoundRecorder's AfterSoundRecorded sound) or record with "
        + "StartListening / StopListening or RecordAndClassify. Results arrive in "
        + "GotClassification; problems in Error. StartContinuousListening listens until "
        + "StopContinuousListening and fires Heard whenever it hears one of the model's labels "
        + "(the model needs a _background_noise_ label for that).")
@SimpleObject(external = true)
@UsesAssets(fileNames = "classifier.html")
@UsesPermissions(permissionNames = "android.permission.RECORD_AUDIO")
public class PersonalAudioClassifier extends AndroidNonvisibleComponent
    implements OnDestroyListener, Deleteable, OnInitializeListener, OnPauseListener,
    OnResumeListener, JsBridge.Listener {

  /** The component's version (the designer's upgrade logic compares it). */
  static final int VERSION = 1;
  /** ClassifySoundData decodes at most this much of a compressed file. */
  static final int MAX_DECODE_SECONDS = 30;
  /** StartListening keeps this much of the most recent audio. */
  static final int LISTEN_KEEP_MILLIS = 10000;
  static final int MIN_RECORD_MILLIS = 100;
  static final int MAX_RECORD_MILLIS = 10000;
  static final String RECORD_AUDIO = "android.permission.RECORD_AUDIO";
  /** Continuous listening sends the microphone to the page in chunks of this length. */
  static final int STREAM_CHUNK_MILLIS = 100;
  /** Threshold's designer default: bridge.json listening.default_threshold (checked by a test). */
  static final String DEFAULT_THRESHOLD = "0.8";
  /** MinimumInterval's designer default: listening.default_minimum_interval_ms (tested). */
  static final String DEFAULT_MINIMUM_INTERVAL = "1000";

  private final Platform platform;
  private final RequestServer server;
  private final JsBridge bridge;
  private final Executor ui;
  private ScheduledExecutorService worker;

  private Platform.Page page;
  private String modelAsset = "";
  private boolean modelPending;
  private boolean modelFailed;
  private int loadCount;
  private int modelGeneration;
  private boolean ready;
  private List<String> labels = Collections.emptyList();

  private Platform.Microphone microphone;
  private boolean listening;
  private int recordingId;

  private double threshold = Double.parseDouble(DEFAULT_THRESHOLD);
  private int minimumInterval = Integer.parseInt(DEFAULT_MINIMUM_INTERVAL);
  /** Between StartContinuousListening and StopContinuousListening (also while paused). */
  private boolean continuous;
  /** The screen is paused: the microphone and the page's stream are stopped until onResume. */
  private boolean paused;

  /** Called by App Inventor. */
  public PersonalAudioClassifier(ComponentContainer container) {
    this(container.$form(), null);
  }

  /** The seam used by tests: any Platform (the Android one when null). */
  PersonalAudioClassifier(Form form, Platform platform) {
    super(form);
    this.platform = platform != null ? platform : new AndroidPlatform(form);
    this.ui = new Executor() {
      @Override
      public void execute(Runnable r) {
        PersonalAudioClassifier.this.platform.runOnUiThread(r);
      }
    };
    this.server = new RequestServer(new RequestServer.AssetSource() {
      @Override
      public InputStream open(String assetName) throws IOException {
        return PersonalAudioClassifier.this.form.openAssetForExtension(
            PersonalAudioClassifier.this, assetName);
      }
    });
    this.bridge = new JsBridge(ui, this);
    form.registerForOnDestroy(this);
    form.registerForOnInitialize(this);
    form.registerForOnPause(this);
    form.registerForOnResume(this);
  }

  // ------------------------------------------------------------------------------ properties

  /** The WebViewer that runs the classifier page. */
  @DesignerProperty(editorType = PropertyTypeConstants.PROPERTY_TYPE_COMPONENT
      + ":com.google.appinventor.components.runtime.WebViewer")
  @SimpleProperty(category = PropertyCategory.BEHAVIOR, userVisible = false,
      description = "The WebViewer component that runs the classifier. It can be hidden "
          + "(Visible unchecked). This component takes it over: do not use it for web pages.")
  public void WebViewer(WebViewer viewer) {
    if (viewer == null) {
      return;
    }
    page = platform.attach(viewer, server, bridge);
    loadPage();
  }

  /** The model file (a project asset), or empty for the model built into the extension. */
  @DesignerProperty(editorType = PropertyTypeConstants.PROPERTY_TYPE_ASSET, defaultValue = "")
  @SimpleProperty(category = PropertyCategory.BEHAVIOR, userVisible = false,
      description = "The model to use: a media file uploaded to the project, either a .zip "
          + "exported by pac (pac.json, model.json and its weights) or a .mdl file from MIT's "
          + "Personal Audio Classifier website. Leave empty to use the model built into this "
          + "extension.")
  public void Model(String asset) {
    final String name = asset == null ? "" : asset.trim();
    modelAsset = name;
    final int generation = ++modelGeneration;
    ready = false;
    labels = Collections.emptyList();
    if (name.isEmpty()) {
      server.setModel(null);
      modelPending = false;
      modelFailed = false;
      loadPage();
      return;
    }
    modelPending = true;
    modelFailed = false;
    worker().execute(new Runnable() {
      @Override
      public void run() {
        ModelArchive archive = null;
        PacException failure = null;
        try {
          InputStream in = MediaUtil.openMedia(form, name);
          archive = ModelArchive.read(name, in);
        } catch (PacException e) {
          failure = e;
        } catch (IOException e) {
          failure = new PacException(BridgeConstants.ERROR_MODEL_INVALID,
              "cannot open the Model file " + name + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
          failure = new PacException(BridgeConstants.ERROR_MODEL_INVALID,
              "cannot open the Model file " + name + ": " + e, e);
        }
        final ModelArchive loaded = archive;
        final PacException failed = failure;
        ui.execute(new Runnable() {
          @Override
          public void run() {
            if (generation != modelGeneration) {
              return;  // the Model changed again meanwhile
            }
            modelPending = false;
            if (failed != null) {
              modelFailed = true;
              server.setModel(null);
              Error(failed.code, failed.getMessage());
            } else {
              server.setModel(loaded);
              loadPage();
            }
          }
        });
      }
    });
  }

  @SimpleProperty(category = PropertyCategory.BEHAVIOR,
      description = "The labels the model can recognise, in the model's order. Empty until "
          + "ClassifierReady.")
  public YailList ModelLabels() {
    return YailList.makeList(new ArrayList<Object>(labels));
  }

  @SimpleProperty(category = PropertyCategory.BEHAVIOR,
      description = "True while the microphone is recording (after StartListening, during "
          + "RecordAndClassify, and from StartContinuousListening to StopContinuousListening).")
  public boolean Listening() {
    return listening;
  }

  /** Continuous listening's threshold. */
  @DesignerProperty(editorType = PropertyTypeConstants.PROPERTY_TYPE_FLOAT,
      defaultValue = DEFAULT_THRESHOLD)
  @SimpleProperty(category = PropertyCategory.BEHAVIOR,
      description = "Continuous listening: the smallest confidence (0.01 to 1; other values are "
          + "brought into that range) a label needs to fire Heard. Higher: fewer false alarms, "
          + "more missed words. Takes effect at the next StartContinuousListening.")
  public void Threshold(double value) {
    threshold = Double.isNaN(value) ? threshold : Math.max(0.01, Math.min(1.0, value));
  }

  @SimpleProperty
  public double Threshold() {
    return threshold;
  }

  /** Continuous listening's suppression after a detection, in milliseconds. */
  @DesignerProperty(editorType = PropertyTypeConstants.PROPERTY_TYPE_NON_NEGATIVE_INTEGER,
      defaultValue = DEFAULT_MINIMUM_INTERVAL)
  @SimpleProperty(category = PropertyCategory.BEHAVIOR,
      description = "Continuous listening: after Heard fires, no other Heard for this many "
          + "milliseconds (0 to 60000), so one word is heard once. Takes effect at the next "
          + "StartContinuousListening.")
  public void MinimumInterval(int milliseconds) {
    minimumInterval = Math.max(0, Math.min(BridgeConstants.LISTENING_MINIMUM_INTERVAL_MS_MAX,
        milliseconds));
  }

  @SimpleProperty
  public int MinimumInterval() {
    return minimumInterval;
  }

  // ------------------------------------------------------------------------------ methods

  @SimpleFunction(description = "Classifies the sound file at path: a WAV file, or any sound "
      + "file the phone can play (the .3gp/.aac files SoundRecorder makes, .mp3, .m4a, ...). "
      + "path is a full file path (such as SoundRecorder's sound), a file:// or content:// URL, "
      + "or the name of a media file of the project. At most the first 30 seconds of a "
      + "compressed file are used. Fires GotClassification, or Error.")
  public void ClassifySoundData(final String path) {
    if (!checkCanClassify()) {
      return;
    }
    final SoundLoader loader = new SoundLoader(new SoundLoader.Opener() {
      @Override
      public InputStream open(String p) throws IOException {
        return MediaUtil.openMedia(form, p);
      }
    }, new SoundLoader.Decoder() {
      @Override
      public PcmClip decode(File file) throws PacException {
        return platform.decode(file, MAX_DECODE_SECONDS);
      }
    }, form.getCacheDir());
    worker().execute(new Runnable() {
      @Override
      public void run() {
        try {
          sendToPage(loader.scriptFor(path));
        } catch (PacException e) {
          reportOnUi(e.code, e.getMessage());
        } catch (OutOfMemoryError e) {
          reportOnUi(BridgeConstants.ERROR_FILE_UNREADABLE, "the sound file " + path
              + " is too large for this phone's memory");
        } catch (RuntimeException e) {
          Logs.w("ClassifySoundData failed", e);
          reportOnUi(BridgeConstants.ERROR_DECODE_FAILED,
              "cannot classify " + path + ": " + e);
        }
      }
    });
  }

  @SimpleFunction(description = "Starts recording from the microphone (the first time, the "
      + "phone asks the user for permission). Call StopListening to classify what was heard; "
      + "only the last 10 seconds are kept. Listening is true meanwhile.")
  public void StartListening() {
    startRecording(-1);
  }

  @SimpleFunction(description = "Stops the recording started by StartListening and classifies "
      + "what was heard (the last 10 seconds at most). Fires GotClassification, or Error. Does "
      + "nothing if the microphone is not recording.")
  public void StopListening() {
    stopRecordingAndClassify(recordingId);
  }

  @SimpleFunction(description = "Records from the microphone for the given number of "
      + "milliseconds (100 to 10000; other values are brought into that range), then "
      + "classifies the recording. Fires GotClassification, or Error.")
  public void RecordAndClassify(int milliseconds) {
    int ms = Math.max(MIN_RECORD_MILLIS, Math.min(MAX_RECORD_MILLIS, milliseconds));
    startRecording(ms);
  }

  @SimpleFunction(description = "Listens to the microphone until StopContinuousListening "
      + "(the first time, the phone asks the user for permission) and fires Heard each time "
      + "the most probable label of the last second of sound is not _background_noise_ and "
      + "its confidence is at least Threshold (at most once per MinimumInterval). The model "
      + "needs a _background_noise_ label (recordings of the room, of nothing in particular, "
      + "and of other talk): without one this raises Error 9. The microphone pauses while the "
      + "app is in the background. GotClassification is not fired. Error 27 if the "
      + "microphone is already recording.")
  public void StartContinuousListening() {
    if (listening) {
      Error(BridgeConstants.ERROR_BUSY, "The microphone is already recording; call "
          + (continuous ? "StopContinuousListening" : "StopListening") + " first.");
      return;
    }
    if (!checkCanClassify()) {
      return;
    }
    if (!labels.contains(BridgeConstants.LISTENING_BACKGROUND_LABEL)) {
      Error(BridgeConstants.ERROR_NO_BACKGROUND_LABEL, "Continuous listening needs a model "
          + "with a " + BridgeConstants.LISTENING_BACKGROUND_LABEL + " label (recordings of "
          + "nothing in particular); this model has none.");
      return;
    }
    listening = true;  // reserved while the permission is asked
    continuous = true;
    final int id = ++recordingId;
    whenMicrophoneAllowed(id, "heard", new Runnable() {
      @Override
      public void run() {
        if (!paused) {
          beginStreaming(id);
        }
      }
    });
  }

  @SimpleFunction(description = "Stops continuous listening: the microphone is released and "
      + "no more Heard events fire. Does nothing if not listening continuously.")
  public void StopContinuousListening() {
    if (!continuous) {
      return;
    }
    continuous = false;
    listening = false;
    stopStreaming();
  }

  // ------------------------------------------------------------------------------ events

  @SimpleEvent(description = "The model is loaded and the classifier is ready: ModelLabels is "
      + "set, and sounds can be classified from now on.")
  public void ClassifierReady() {
    EventDispatcher.dispatchEvent(this, "ClassifierReady");
  }

  @SimpleEvent(description = "A classification finished. result is a list of [label, "
      + "confidence] pairs, one per label, most confident first; confidences are between 0 and "
      + "1 and add up to 1. The best guess is the first item's label.")
  public void GotClassification(YailList result) {
    EventDispatcher.dispatchEvent(this, "GotClassification", result);
  }

  @SimpleEvent(description = "Something went wrong. errorCode says what: 1 not ready yet "
      + "(wait for ClassifierReady), 2 the model could not be loaded, 3 not a WAV file, "
      + "4 unsupported or damaged WAV file, 5 the sound holds no samples, 6 the sound is "
      + "silent, 7 the sound is too short, 8 classification failed, 9 the model has no "
      + "_background_noise_ label (needed for continuous listening), 20 no file at that path, "
      + "21 the file cannot be read, 22 the phone cannot decode the file, 23 the WebViewer "
      + "property is not set, 24 the Model file is missing or not a model, 25 the user refused "
      + "the microphone, 26 the microphone could not record, 27 already recording. "
      + "errorMessage explains it in one line.")
  public void Error(int errorCode, String errorMessage) {
    if (!EventDispatcher.dispatchEvent(this, "Error", errorCode, errorMessage)) {
      // No Error block: let the screen report it rather than failing silently.
      form.dispatchErrorOccurredEvent(this, "Error", ErrorMessages.ERROR_EXTENSION_ERROR,
          errorCode, "PersonalAudioClassifier", errorMessage);
    }
  }

  @SimpleEvent(description = "Continuous listening heard a label: the most probable label of "
      + "the last second of sound is not _background_noise_ and its confidence (0 to 1) is at "
      + "least Threshold. Fires at most once per MinimumInterval.")
  public void Heard(String label, double confidence) {
    EventDispatcher.dispatchEvent(this, "Heard", label, confidence);
  }

  // ------------------------------------------------------------------------------ bridge

  @Override
  public void onReady(List<String> modelLabels) {
    labels = Collections.unmodifiableList(new ArrayList<String>(modelLabels));
    ready = true;
    ClassifierReady();
  }

  @Override
  public void onResult(List<ResultParser.Entry> result) {
    List<Object> rows = new ArrayList<Object>(result.size());
    for (ResultParser.Entry e : result) {
      rows.add(YailList.makeList(new Object[] {e.label, e.confidence}));
    }
    GotClassification(YailList.makeList(rows));
  }

  @Override
  public void onHeard(String label, double confidence) {
    if (continuous && !paused) {  // a late detection after Stop or a pause is dropped
      Heard(label, confidence);
    }
  }

  @Override
  public void onError(int code, String message) {
    Error(code, message);
  }

  // ------------------------------------------------------------------------------ lifecycle

  @Override
  public void onInitialize() {
    if (page == null) {
      Error(BridgeConstants.ERROR_NO_WEBVIEWER, "Set the WebViewer property of this "
          + "PersonalAudioClassifier to a WebViewer component in the designer.");
    }
  }

  @Override
  public void onDestroy() {
    shutdown();
  }

  @Override
  public void onPause() {
    paused = true;
    if (continuous) {
      stopStreaming();
    }
  }

  @Override
  public void onResume() {
    if (!paused) {
      return;
    }
    paused = false;
    if (continuous) {
      beginStreaming(++recordingId);
    }
  }

  @Override
  public void onDelete() {
    shutdown();
  }

  private void shutdown() {
    if (continuous && page != null) {
      page.evaluate(Scripts.stopStream(), IGNORE);
    }
    continuous = false;
    recordingId++;
    listening = false;
    if (microphone != null) {
      microphone.release();
      microphone = null;
    }
    if (worker != null) {
      worker.shutdownNow();
      worker = null;
    }
  }

  // ------------------------------------------------------------------------------ internals

  private void loadPage() {
    if (page == null || modelPending || modelFailed) {
      return;
    }
    ready = false;
    labels = Collections.emptyList();
    String instance = Integer.toString(System.identityHashCode(this), 36) + "-" + (++loadCount);
    page.load(AssetPaths.pageUrl(instance));
  }

  private boolean checkCanClassify() {
    if (page == null) {
      Error(BridgeConstants.ERROR_NO_WEBVIEWER, "Set the WebViewer property of this "
          + "PersonalAudioClassifier to a WebViewer component in the designer.");
      return false;
    }
    if (modelFailed) {
      Error(BridgeConstants.ERROR_MODEL_INVALID, "The Model file " + modelAsset
          + " could not be loaded; choose another Model.");
      return false;
    }
    if (!ready) {
      Error(BridgeConstants.ERROR_NOT_READY,
          "The classifier is still loading; wait for ClassifierReady.");
      return false;
    }
    return true;
  }

  /** durationMillis: -1 for StartListening (keeps the last 10 s), else RecordAndClassify's. */
  private void startRecording(final int durationMillis) {
    if (listening) {
      Error(BridgeConstants.ERROR_BUSY, "The microphone is already recording; call "
          + "StopListening first.");
      return;
    }
    if (!checkCanClassify()) {
      return;
    }
    listening = true;  // reserved while the permission is asked
    final int id = ++recordingId;
    whenMicrophoneAllowed(id, "recorded", new Runnable() {
      @Override
      public void run() {
        beginRecording(id, durationMillis);
      }
    });
  }

  /**
   * Asks for the microphone permission and, on the UI thread, runs {@code granted} if it was given
   * and recording {@code id} is still the current one; a refusal ends listening (one-shot or
   * continuous) with {@code ERROR_PERMISSION_DENIED}, saying what cannot be {@code done}.
   */
  private void whenMicrophoneAllowed(final int id, final String done, final Runnable granted) {
    form.askPermission(RECORD_AUDIO, new PermissionResultHandler() {
      @Override
      public void HandlePermissionResponse(String permission, final boolean allowed) {
        ui.execute(new Runnable() {
          @Override
          public void run() {
            if (id != recordingId) {
              return;
            }
            if (!allowed) {
              listening = false;
              continuous = false;
              Error(BridgeConstants.ERROR_PERMISSION_DENIED, "The microphone permission was "
                  + "refused, so nothing can be " + done + ".");
              return;
            }
            granted.run();
          }
        });
      }
    });
  }

  private void beginRecording(final int id, int durationMillis) {
    Platform.Microphone mic = platform.microphone();
    try {
      mic.start(durationMillis < 0 ? LISTEN_KEEP_MILLIS : durationMillis);
    } catch (PacException e) {
      mic.release();
      listening = false;
      Error(e.code, e.getMessage());
      return;
    } catch (RuntimeException e) {
      mic.release();
      listening = false;
      Error(BridgeConstants.ERROR_RECORDING_FAILED, "The microphone could not be opened: " + e);
      return;
    }
    microphone = mic;
    if (durationMillis >= 0) {
      worker().schedule(new Runnable() {
        @Override
        public void run() {
          ui.execute(new Runnable() {
            @Override
            public void run() {
              stopRecordingAndClassify(id);
            }
          });
        }
      }, durationMillis, TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Opens the microphone in streaming mode: every chunk goes to the page (startStream before the
   * first one, at the microphone's rate). Chunks of an older id (after Stop, a pause or a
   * restart) are dropped.
   */
  private void beginStreaming(final int id) {
    Platform.Microphone mic = platform.microphone();
    microphone = mic;
    final boolean[] started = {false};
    try {
      mic.stream(STREAM_CHUNK_MILLIS, new Platform.Sink() {
        @Override
        public void onChunk(float[] samples, final int sampleRate) {
          final String base64 = new PcmClip(samples, sampleRate).toBase64Float32();
          ui.execute(new Runnable() {
            @Override
            public void run() {
              if (id != recordingId || page == null) {
                return;
              }
              if (!started[0]) {
                started[0] = true;
                page.evaluate(Scripts.startStream(sampleRate, threshold, minimumInterval),
                    IGNORE);
              }
              page.evaluate(Scripts.pushPcm(base64), IGNORE);
            }
          });
        }

        @Override
        public void onFailure(final PacException e) {
          ui.execute(new Runnable() {
            @Override
            public void run() {
              if (id != recordingId) {
                return;
              }
              continuous = false;
              listening = false;
              stopStreaming();
              Error(e.code, e.getMessage());
            }
          });
        }
      });
    } catch (PacException e) {
      microphone = null;
      mic.release();
      continuous = false;
      listening = false;
      Error(e.code, e.getMessage());
    } catch (RuntimeException e) {
      microphone = null;
      mic.release();
      continuous = false;
      listening = false;
      Error(BridgeConstants.ERROR_RECORDING_FAILED, "The microphone could not be opened: " + e);
    }
  }

  /** Releases the streaming microphone and stops the page's stream (listening flags unchanged). */
  private void stopStreaming() {
    recordingId++;
    if (microphone != null) {
      microphone.release();
      microphone = null;
    }
    if (page != null) {
      page.evaluate(Scripts.stopStream(), IGNORE);
    }
  }

  /** Stream scripts answer through the bridge (heard, error); their value is not needed. */
  private static final Platform.Callback IGNORE = new Platform.Callback() {
    @Override
    public void onResult(String value) {
      if (!"true".equals(value)) {
        Logs.w("continuous listening: the page answered " + value, null);
      }
    }
  };

  private void stopRecordingAndClassify(int id) {
    if (!listening || id != recordingId || microphone == null) {
      return;
    }
    final Platform.Microphone mic = microphone;
    microphone = null;
    listening = false;
    recordingId++;
    worker().execute(new Runnable() {
      @Override
      public void run() {
        try {
          PcmClip clip;
          try {
            clip = mic.stop();
          } finally {
            mic.release();
          }
          if (clip.samples.length == 0) {
            throw new PacException(BridgeConstants.ERROR_RECORDING_FAILED,
                "The microphone delivered no sound.");
          }
          sendToPage(Scripts.classifyPcm(clip.toBase64Float32(), clip.sampleRate));
        } catch (PacException e) {
          reportOnUi(e.code, e.getMessage());
        } catch (RuntimeException e) {
          Logs.w("recording failed", e);
          reportOnUi(BridgeConstants.ERROR_RECORDING_FAILED, "Recording failed: " + e);
        }
      }
    });
  }

  /** Runs a classify script in the page (from any thread). */
  private void sendToPage(final String script) {
    ui.execute(new Runnable() {
      @Override
      public void run() {
        if (page == null || !ready) {
          Error(BridgeConstants.ERROR_NOT_READY,
              "The classifier is still loading; wait for ClassifierReady.");
          return;
        }
        page.evaluate(script, new Platform.Callback() {
          @Override
          public void onResult(String value) {
            if ("true".equals(value)) {
              return;  // the page answers through the bridge
            }
            if ("false".equals(value)) {
              Error(BridgeConstants.ERROR_NOT_READY,
                  "The classifier page is not loaded; wait for ClassifierReady.");
            } else {
              Error(BridgeConstants.ERROR_CLASSIFICATION_FAILED,
                  "The classifier page failed: " + value);
            }
          }
        });
      }
    });
  }

  private void reportOnUi(final int code, final String message) {
    ui.execute(new Runnable() {
      @Override
      public void run() {
        Error(code, message);
      }
    });
  }

  private synchronized ScheduledExecutorService worker() {
    if (worker == null) {
      ScheduledThreadPoolExecutor w = new ScheduledThreadPoolExecutor(1, new ThreadFactory() {
        @Override
        public Thread newThread(Runnable r) {
          Thread t = new Thread(r, "pac-worker");
          t.setDaemon(true);
          return t;
        }
      });
      w.setRemoveOnCancelPolicy(true);
      worker = w;
    }
    return worker;
  }
}
