package io.github.pacaudio;

/** A failure with one of the bridge's error codes (see bridge.json) and a one-line message. */
final class PacException extends Exception {
  private static final long serialVersionUID = 1L;
  final int code;

  PacException(int code, String message) {
    super(message);
    this.code = code;
  }

  PacException(int code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }
}
