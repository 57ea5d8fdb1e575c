package io.github.pacaudio;

import android.app.Activity;
import android.content.Context;
import android.media.AudioManager;
import android.media.MediaCodec;
import android.media.MediaExtractor;
import android.media.MediaFormat;
import android.os.Build;
import android.view.WindowManager;
import android.webkit.ConsoleMessage;
import android.webkit.ValueCallback;
import android.webkit.WebChromeClient;
import android.webkit.WebResourceRequest;
import android.webkit.WebResourceResponse;
import android.webkit.WebSettings;
import android.webkit.WebView;
import android.webkit.WebViewClient;
import com.google.appinventor.components.runtime.WebViewer;
import java.io.File;
import java.nio.ByteBuffer;

/** The real {@link Platform}: Android's WebView, MediaExtractor/MediaCodec and AudioRecord. */
final class AndroidPlatform implements Platform {
  private static final long DECODE_TIMEOUT_MS = 20000;
  private static final long CODEC_WAIT_US = 10000;

  private final Activity activity;

  AndroidPlatform(Activity activity) {
    this.activity = activity;
  }

  @Override
  public void runOnUiThread(Runnable r) {
    activity.runOnUiThread(r);
  }

  @Override
  public Page attach(WebViewer viewer, final RequestServer server, JsBridge bridge) {
    final WebView webView = (WebView) viewer.getView();
    // TensorFlow.js's WebGL backend needs a hardware-accelerated window (as MIT's PAC requested).
    activity.getWindow().setFlags(WindowManager.LayoutParams.FLAG_HARDWARE_ACCELERATED,
        WindowManager.LayoutParams.FLAG_HARDWARE_ACCELERATED);
    WebSettings settings = webView.getSettings();
    settings.setJavaScriptEnabled(true);
    settings.setAllowFileAccess(false);
    settings.setAllowContentAccess(false);
    settings.setCacheMode(WebSettings.LOAD_NO_CACHE);
    webView.addJavascriptInterface(bridge, BridgeConstants.JAVASCRIPT_INTERFACE);
    webView.setWebViewClient(new WebViewClient() {
      @Override
      public WebResourceResponse shouldInterceptRequest(WebView view, WebResourceRequest request) {
        return toWebResponse(server.serve(request.getUrl().toString()));
      }

      @Override
      public boolean shouldOverrideUrlLoading(WebView view, WebResourceRequest request) {
        // The classifier's WebView stays on the classifier page.
        return !RequestServer.isOurs(request.getUrl().toString());
      }
    });
    webView.setWebChromeClient(new WebChromeClient() {
      @Override
      public boolean onConsoleMessage(ConsoleMessage message) {
        Logs.d("page: " + message.message() + " (" + message.sourceId() + ":"
            + message.lineNumber() + ")");
        return true;
      }
    });
    return new Page() {
      @Override
      public void load(String url) {
        webView.loadUrl(url);
      }

      @Override
      public void evaluate(String script, final Callback callback) {
        webView.evaluateJavascript(script, new ValueCallback<String>() {
          @Override
          public void onReceiveValue(String value) {
            callback.onResult(value);
          }
        });
      }
    };
  }

  static WebResourceResponse toWebResponse(RequestServer.Response r) {
    if (r == null) {
      return null;
    }
    return new WebResourceResponse(r.mimeType, r.encoding, r.status, r.reason, r.headers, r.body);
  }

  @Override
  public Microphone microphone() {
    return new MicRecorder(nativeSampleRate());
  }

  /** The rate the audio hardware runs at (usually 48000), or 0 if unknown. */
  private int nativeSampleRate() {
    try {
      AudioManager am = (AudioManager) activity.getSystemService(Context.AUDIO_SERVICE);
      String rate = am == null ? null : am.getProperty(AudioManager.PROPERTY_OUTPUT_SAMPLE_RATE);
      return rate == null ? 0 : Integer.parseInt(rate.trim());
    } catch (RuntimeException e) {
      return 0;
    }
  }

  @Override
  public PcmClip decode(File file, int maxSeconds) throws PacException {
    int code = BridgeConstants.ERROR_DECODE_FAILED;
    MediaExtractor extractor = new MediaExtractor();
    MediaCodec codec = null;
    try {
      extractor.setDataSource(file.getAbsolutePath());
      int track = -1;
      MediaFormat format = null;
      String mime = null;
      for (int i = 0; i < extractor.getTrackCount(); i++) {
        MediaFormat f = extractor.getTrackFormat(i);
        String m = f.getString(MediaFormat.KEY_MIME);
        if (m != null && m.startsWith("audio/")) {
          track = i;
          format = f;
          mime = m;
          break;
        }
      }
      if (track < 0) {
        throw new PacException(code, file.getName() + " holds no audio this phone can read");
      }
      extractor.selectTrack(track);
      int rate = format.getInteger(MediaFormat.KEY_SAMPLE_RATE);
      int channels = format.getInteger(MediaFormat.KEY_CHANNEL_COUNT);
      int encoding = Pcm.ENCODING_PCM_16BIT;
      codec = MediaCodec.createDecoderByType(mime);
      codec.configure(format, null, null, 0);
      codec.start();
      Pcm pcm = new Pcm(rate * maxSeconds);
      MediaCodec.BufferInfo info = new MediaCodec.BufferInfo();
      boolean inputDone = false;
      long deadline = System.currentTimeMillis() + DECODE_TIMEOUT_MS;
      while (true) {
        if (System.currentTimeMillis() > deadline) {
          throw new PacException(code, "decoding " + file.getName() + " took too long");
        }
        if (!inputDone) {
          int in = codec.dequeueInputBuffer(CODEC_WAIT_US);
          if (in >= 0) {
            ByteBuffer buffer = codec.getInputBuffer(in);
            int n = buffer == null ? -1 : extractor.readSampleData(buffer, 0);
            if (n < 0) {
              codec.queueInputBuffer(in, 0, 0, 0, MediaCodec.BUFFER_FLAG_END_OF_STREAM);
              inputDone = true;
            } else {
              codec.queueInputBuffer(in, 0, n, extractor.getSampleTime(), 0);
              extractor.advance();
            }
          }
        }
        int out = codec.dequeueOutputBuffer(info, CODEC_WAIT_US);
        if (out >= 0) {
          ByteBuffer buffer = codec.getOutputBuffer(out);
          if (buffer != null && info.size > 0) {
            buffer.position(info.offset);
            buffer.limit(info.offset + info.size);
            pcm.addInterleaved(buffer, channels, encoding);
          }
          codec.releaseOutputBuffer(out, false);
          if ((info.flags & MediaCodec.BUFFER_FLAG_END_OF_STREAM) != 0 || pcm.full()) {
            break;
          }
        } else if (out == MediaCodec.INFO_OUTPUT_FORMAT_CHANGED) {
          MediaFormat f = codec.getOutputFormat();
          rate = f.getInteger(MediaFormat.KEY_SAMPLE_RATE);
          channels = f.getInteger(MediaFormat.KEY_CHANNEL_COUNT);
          if (Build.VERSION.SDK_INT >= 24 && f.containsKey(MediaFormat.KEY_PCM_ENCODING)) {
            encoding = f.getInteger(MediaFormat.KEY_PCM_ENCODING);
          }
        }
      }
      return new PcmClip(pcm.toArray(), rate);
    } catch (PacException e) {
      throw e;
    } catch (Exception e) {
      // IOException from setDataSource, IllegalStateException / CodecException from MediaCodec,
      // IllegalArgumentException from Pcm for an unknown encoding
      throw new PacException(code, "the phone cannot decode " + file.getName() + ": " + e, e);
    } finally {
      if (codec != null) {
        try {
          codec.stop();
        } catch (RuntimeException ignored) {
          // already stopped or failed
        }
        codec.release();
      }
      extractor.release();
    }
  }
}
