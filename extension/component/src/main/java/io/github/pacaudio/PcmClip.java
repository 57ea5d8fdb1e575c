package io.github.pacaudio;

/** Mono float samples in [-1, 1] at a sample rate. */
final class PcmClip {
  final float[] samples;
  final int sampleRate;

  PcmClip(float[] samples, int sampleRate) {
    this.samples = samples;
    this.sampleRate = sampleRate;
  }

  /** The samples as float32 little-endian bytes, base64-encoded (what pac.classifyPcm takes). */
  String toBase64Float32() {
    byte[] bytes = new byte[samples.length * 4];
    for (int i = 0, b = 0; i < samples.length; i++, b += 4) {
      int bits = Float.floatToIntBits(samples[i]);
      bytes[b] = (byte) bits;
      bytes[b + 1] = (byte) (bits >>> 8);
      bytes[b + 2] = (byte) (bits >>> 16);
      bytes[b + 3] = (byte) (bits >>> 24);
    }
    return Base64Codec.encode(bytes);
  }
}
