package io.github.pacaudio;

import android.media.AudioFormat;
import android.media.AudioRecord;
import android.media.MediaRecorder;

/**
 * Records 16-bit mono PCM with AudioRecord at the device's native rate (or the first common rate
 * the device accepts) on its own thread, keeping the most recent samples in a ring.
 */
final class MicRecorder implements Platform.Microphone {
  private static final int[] RATES = {48000, 44100, 32000, 22050, 16000, 11025, 8000};

  private final int preferredRate;
  private AudioRecord record;
  private Thread thread;
  private volatile boolean running;
  private volatile int readError;
  private Pcm.Ring ring;
  private int rate;

  MicRecorder(int preferredRate) {
    this.preferredRate = preferredRate;
  }

  @Override
  public void start(int keepMillis) throws PacException {
    open();
    ring = new Pcm.Ring((int) ((long) rate * keepMillis / 1000));
    final Pcm.Ring target = ring;
    read(new Consumer() {
      @Override
      public void take(short[] buffer, int n) {
        target.write(buffer, n);
      }
    }, null);
  }

  @Override
  public void stream(int chunkMillis, final Platform.Sink sink) throws PacException {
    open();
    final int sampleRate = rate;
    final Pcm.Chunker chunker = new Pcm.Chunker((int) ((long) rate * chunkMillis / 1000));
    read(new Consumer() {
      @Override
      public void take(short[] buffer, int n) {
        for (float[] chunk : chunker.add(buffer, n)) {
          sink.onChunk(chunk, sampleRate);
        }
      }
    }, sink);
  }

  private interface Consumer {
    void take(short[] buffer, int n);
  }

  /** Opens AudioRecord at the first rate the device accepts and starts it. */
  private void open() throws PacException {
    int code = BridgeConstants.ERROR_RECORDING_FAILED;
    AudioRecord r = null;
    try {
      for (int i = -1; i < RATES.length && r == null; i++) {
        int candidate = i < 0 ? preferredRate : RATES[i];
        if (candidate <= 0) {
          continue;
        }
        int min = AudioRecord.getMinBufferSize(candidate, AudioFormat.CHANNEL_IN_MONO,
            AudioFormat.ENCODING_PCM_16BIT);
        if (min <= 0) {
          continue;
        }
        AudioRecord attempt = new AudioRecord(MediaRecorder.AudioSource.MIC, candidate,
            AudioFormat.CHANNEL_IN_MONO, AudioFormat.ENCODING_PCM_16BIT,
            Math.max(min * 2, candidate / 5 * 2));
        if (attempt.getState() == AudioRecord.STATE_INITIALIZED) {
          r = attempt;
          rate = candidate;
        } else {
          attempt.release();
        }
      }
    } catch (SecurityException e) {
      throw new PacException(BridgeConstants.ERROR_PERMISSION_DENIED,
          "The app may not use the microphone: " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new PacException(code, "The microphone could not be opened: " + e.getMessage(), e);
    }
    if (r == null) {
      throw new PacException(code, "The microphone could not be opened at any sample rate.");
    }
    record = r;
    try {
      r.startRecording();
    } catch (IllegalStateException e) {
      release();
      throw new PacException(code, "The microphone could not start: " + e.getMessage(), e);
    }
    if (r.getRecordingState() != AudioRecord.RECORDSTATE_RECORDING) {
      release();
      throw new PacException(code, "The microphone is in use by another app.");
    }
  }

  /** Reads on the recording thread until released; a read error ends it (and tells sink). */
  private void read(final Consumer consumer, final Platform.Sink sink) {
    running = true;
    final AudioRecord reading = record;
    thread = new Thread(new Runnable() {
      @Override
      public void run() {
        short[] buffer = new short[2048];
        while (running) {
          int n = reading.read(buffer, 0, buffer.length);
          if (n < 0) {
            readError = n;
            if (sink != null && running) {
              sink.onFailure(new PacException(BridgeConstants.ERROR_RECORDING_FAILED,
                  "The microphone stopped delivering sound (error " + n + ")."));
            }
            break;
          }
          consumer.take(buffer, n);
        }
      }
    }, "pac-microphone");
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public PcmClip stop() throws PacException {
    running = false;
    if (record != null) {
      try {
        record.stop();
      } catch (IllegalStateException ignored) {
        // not recording any more
      }
    }
    if (thread != null) {
      try {
        thread.join(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    int error = readError;
    Pcm.Ring r = ring;
    release();
    if (error != 0 && (r == null || r.written() == 0)) {
      throw new PacException(BridgeConstants.ERROR_RECORDING_FAILED,
          "The microphone stopped delivering sound (error " + error + ").");
    }
    return new PcmClip(r == null ? new float[0] : r.toFloats(), rate);
  }

  @Override
  public void release() {
    running = false;
    if (record != null) {
      try {
        record.stop();
      } catch (IllegalStateException ignored) {
        // not recording
      }
      record.release();
      record = null;
    }
  }
}
