package io.github.pacaudio;

/**
 * Standard base64 (RFC 4648, with padding, no line breaks). Used instead of android.util.Base64 so
 * that the same code runs in unit tests, and instead of java.util.Base64 (Android API 26+).
 */
final class Base64Codec {
  private static final char[] ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".toCharArray();

  private Base64Codec() {
  }

  static String encode(byte[] data) {
    return encode(data, 0, data.length);
  }

  static String encode(byte[] data, int offset, int length) {
    char[] out = new char[(length + 2) / 3 * 4];
    int o = 0;
    int end = offset + length;
    int i = offset;
    for (; i + 2 < end; i += 3) {
      int v = (data[i] & 0xff) << 16 | (data[i + 1] & 0xff) << 8 | (data[i + 2] & 0xff);
      out[o++] = ALPHABET[v >>> 18];
      out[o++] = ALPHABET[(v >>> 12) & 63];
      out[o++] = ALPHABET[(v >>> 6) & 63];
      out[o++] = ALPHABET[v & 63];
    }
    int rest = end - i;
    if (rest > 0) {
      int v = (data[i] & 0xff) << 16 | (rest == 2 ? (data[i + 1] & 0xff) << 8 : 0);
      out[o++] = ALPHABET[v >>> 18];
      out[o++] = ALPHABET[(v >>> 12) & 63];
      out[o++] = rest == 2 ? ALPHABET[(v >>> 6) & 63] : '=';
      out[o++] = '=';
    }
    return new String(out);
  }
}
