package io.github.pacaudio;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Collects decoded interleaved PCM (as Android's MediaCodec and AudioRecord deliver it) into mono
 * float samples: channels are averaged. Also a ring of the most recent 16-bit samples for the
 * microphone. Pure Java so that it is unit-tested.
 */
final class Pcm {
  // android.media.AudioFormat encodings (constant values of the public API).
  static final int ENCODING_PCM_16BIT = 2;
  static final int ENCODING_PCM_8BIT = 3;
  static final int ENCODING_PCM_FLOAT = 4;
  static final int ENCODING_PCM_24BIT_PACKED = 21;
  static final int ENCODING_PCM_32BIT = 22;

  private float[] data = new float[16384];
  private int size;
  private final int maxSamples;

  /** @param maxSamples frames kept at most; later frames are dropped */
  Pcm(int maxSamples) {
    this.maxSamples = maxSamples;
  }

  int size() {
    return size;
  }

  boolean full() {
    return size >= maxSamples;
  }

  static int bytesPerSample(int encoding) {
    switch (encoding) {
      case ENCODING_PCM_8BIT:
        return 1;
      case ENCODING_PCM_16BIT:
        return 2;
      case ENCODING_PCM_24BIT_PACKED:
        return 3;
      case ENCODING_PCM_FLOAT:
      case ENCODING_PCM_32BIT:
        return 4;
      default:
        throw new IllegalArgumentException("unsupported PCM encoding " + encoding);
    }
  }

  /**
   * Appends the interleaved frames between the buffer's position and limit, mixed to mono.
   * A trailing partial frame is ignored.
   */
  void addInterleaved(ByteBuffer buffer, int channels, int encoding) {
    if (channels < 1) {
      throw new IllegalArgumentException("channel count " + channels);
    }
    ByteBuffer b = buffer.slice().order(ByteOrder.LITTLE_ENDIAN);
    int width = bytesPerSample(encoding);
    int frames = b.remaining() / (width * channels);
    for (int f = 0; f < frames && size < maxSamples; f++) {
      float sum = 0;
      for (int c = 0; c < channels; c++) {
        int at = (f * channels + c) * width;
        sum += sample(b, at, encoding);
      }
      append(sum / channels);
    }
  }

  private static float sample(ByteBuffer b, int at, int encoding) {
    switch (encoding) {
      case ENCODING_PCM_8BIT:
        return ((b.get(at) & 0xff) - 128) / 128f;
      case ENCODING_PCM_16BIT:
        return b.getShort(at) / 32768f;
      case ENCODING_PCM_24BIT_PACKED: {
        int v = (b.get(at) & 0xff) | (b.get(at + 1) & 0xff) << 8 | b.get(at + 2) << 16;
        return v / 8388608f;
      }
      case ENCODING_PCM_32BIT:
        return (float) (b.getInt(at) / 2147483648.0);
      case ENCODING_PCM_FLOAT: {
        float v = b.getFloat(at);
        return Float.isNaN(v) ? 0f : Math.max(-1f, Math.min(1f, v));
      }
      default:
        throw new IllegalArgumentException("unsupported PCM encoding " + encoding);
    }
  }

  private void append(float v) {
    if (size == data.length) {
      float[] bigger = new float[Math.min(Math.max(data.length * 2, 16), Math.max(maxSamples, 1))];
      System.arraycopy(data, 0, bigger, 0, size);
      data = bigger;
    }
    data[size++] = v;
  }

  float[] toArray() {
    float[] out = new float[size];
    System.arraycopy(data, 0, out, 0, size);
    return out;
  }

  /** The most recent {@code capacity} 16-bit samples written to it. */
  static final class Ring {
    private final short[] ring;
    private int next;
    private long written;

    Ring(int capacity) {
      ring = new short[Math.max(1, capacity)];
    }

    synchronized void write(short[] samples, int count) {
      for (int i = 0; i < count; i++) {
        ring[next] = samples[i];
        next = (next + 1) % ring.length;
      }
      written += count;
    }

    synchronized long written() {
      return written;
    }

    /** Oldest first, as floats in [-1, 1). */
    synchronized float[] toFloats() {
      int n = (int) Math.min(written, ring.length);
      float[] out = new float[n];
      int start = written > ring.length ? next : 0;
      for (int i = 0; i < n; i++) {
        out[i] = ring[(start + i) % ring.length] / 32768f;
      }
      return out;
    }
  }

  /** Cuts a stream of 16-bit samples into float chunks of a fixed length (continuous listening). */
  static final class Chunker {
    private final float[] chunk;
    private int fill;

    Chunker(int chunkSamples) {
      chunk = new float[Math.max(1, chunkSamples)];
    }

    /** Appends count samples; returns the chunks they complete, oldest first (often none). */
    java.util.List<float[]> add(short[] samples, int count) {
      java.util.List<float[]> done = new java.util.ArrayList<float[]>(1);
      for (int i = 0; i < count; i++) {
        chunk[fill++] = samples[i] / 32768f;
        if (fill == chunk.length) {
          done.add(chunk.clone());
          fill = 0;
        }
      }
      return done;
    }
  }
}
