package io.github.pacaudio;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;

/**
 * Turns ClassifySoundData's path into the script that classifies it: WAV files go to the page
 * as they are (pac.classifyWav), anything else is decoded to PCM by the phone
 * (pac.classifyPcm). Runs on the worker thread. Every failure is a PacException with
 * FILE_NOT_FOUND, FILE_UNREADABLE or DECODE_FAILED; nothing here can block forever.
 */
final class SoundLoader {
  /** Opens media paths App Inventor's way (project assets, content: URIs, ...): MediaUtil. */
  interface Opener {
    InputStream open(String path) throws IOException;
  }

  /** Decodes a non-WAV file. */
  interface Decoder {
    PcmClip decode(File file) throws PacException;
  }

  static final long MAX_FILE_BYTES = 64L * 1024 * 1024;

  private final Opener opener;
  private final Decoder decoder;
  private final File tempDir;

  SoundLoader(Opener opener, Decoder decoder, File tempDir) {
    this.opener = opener;
    this.decoder = decoder;
    this.tempDir = tempDir;
  }

  String scriptFor(String path) throws PacException {
    if (path == null || path.trim().isEmpty()) {
      throw new PacException(BridgeConstants.ERROR_FILE_NOT_FOUND,
          "ClassifySoundData needs the path of a sound file");
    }
    path = path.trim();
    File file = localFile(path);
    if (file != null) {
      checkFile(path, file);
      byte[] head = readHead(path, file);
      if (isWav(head)) {
        return Scripts.classifyWav(Base64Codec.encode(readFile(path, file)));
      }
      return pcmScript(decoder.decode(file));
    }
    byte[] bytes = readOpened(path);
    if (isWav(bytes)) {
      return Scripts.classifyWav(Base64Codec.encode(bytes));
    }
    File temp = null;
    try {
      temp = File.createTempFile("pac-sound", ".bin", tempDir);
      FileOutputStream out = new FileOutputStream(temp);
      try {
        out.write(bytes);
      } finally {
        out.close();
      }
      return pcmScript(decoder.decode(temp));
    } catch (IOException e) {
      throw new PacException(BridgeConstants.ERROR_DECODE_FAILED,
          "cannot make a temporary copy of " + path + " to decode it: " + e.getMessage(), e);
    } finally {
      if (temp != null && !temp.delete()) {
        temp.deleteOnExit();
      }
    }
  }

  private static String pcmScript(PcmClip clip) throws PacException {
    if (clip.samples.length == 0) {
      throw new PacException(BridgeConstants.ERROR_DECODE_FAILED,
          "the sound file decoded to no audio samples");
    }
    return Scripts.classifyPcm(clip.toBase64Float32(), clip.sampleRate);
  }

  /** An absolute path or file: URI as a File; null for anything MediaUtil must open. */
  static File localFile(String path) {
    if (path.startsWith("/")) {
      return new File(path);
    }
    if (path.startsWith("file:")) {
      String p;
      try {
        p = URI.create(path).getPath();
      } catch (IllegalArgumentException e) {
        // not a valid URI (e.g. a space in it): take what follows file:// literally
        p = path.startsWith("file://") ? path.substring("file://".length()) : null;
      }
      if (p != null && p.startsWith("/") && !p.startsWith("/android_asset/")) {
        return new File(p);
      }
    }
    return null;
  }

  static boolean isWav(byte[] head) {
    if (head.length < 12) {
      return false;
    }
    String riff = new String(head, 0, 4, java.nio.charset.Charset.forName("ISO-8859-1"));
    String wave = new String(head, 8, 4, java.nio.charset.Charset.forName("ISO-8859-1"));
    return (riff.equals("RIFF") || riff.equals("RIFX") || riff.equals("RF64"))
        && wave.equals("WAVE");
  }

  private static void checkFile(String path, File file) throws PacException {
    if (!file.exists()) {
      throw new PacException(BridgeConstants.ERROR_FILE_NOT_FOUND, "no file at " + path);
    }
    if (file.isDirectory()) {
      throw new PacException(BridgeConstants.ERROR_FILE_UNREADABLE,
          path + " is a folder, not a sound file");
    }
    if (!file.canRead()) {
      throw new PacException(BridgeConstants.ERROR_FILE_UNREADABLE,
          "no permission to read " + path);
    }
    if (file.length() == 0) {
      throw new PacException(BridgeConstants.ERROR_FILE_UNREADABLE, path + " is empty (0 bytes)");
    }
    if (file.length() > MAX_FILE_BYTES) {
      throw new PacException(BridgeConstants.ERROR_FILE_UNREADABLE, path + " is larger than "
          + (MAX_FILE_BYTES >> 20) + " MB");
    }
  }

  private static byte[] readHead(String path, File file) throws PacException {
    try {
      InputStream in = new FileInputStream(file);
      try {
        byte[] head = new byte[12];
        int n = 0;
        while (n < head.length) {
          int r = in.read(head, n, head.length - n);
          if (r < 0) {
            break;
          }
          n += r;
        }
        return n == head.length ? head : new byte[0];
      } finally {
        in.close();
      }
    } catch (IOException e) {
      throw new PacException(BridgeConstants.ERROR_FILE_UNREADABLE,
          "cannot read " + path + ": " + e.getMessage(), e);
    }
  }

  private static byte[] readFile(String path, File file) throws PacException {
    try {
      return readAll(new FileInputStream(file), path);
    } catch (FileNotFoundException e) {
      throw new PacException(BridgeConstants.ERROR_FILE_UNREADABLE,
          "cannot read " + path + ": " + e.getMessage(), e);
    }
  }

  private byte[] readOpened(String path) throws PacException {
    InputStream in;
    try {
      in = opener.open(path);
    } catch (FileNotFoundException e) {
      throw new PacException(BridgeConstants.ERROR_FILE_NOT_FOUND, "no file at " + path, e);
    } catch (IOException e) {
      // MediaUtil reports a missing asset as a plain IOException ("Unable to open media")
      throw new PacException(BridgeConstants.ERROR_FILE_NOT_FOUND,
          "cannot open " + path + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      // e.g. App Inventor's PermissionException for storage
      throw new PacException(BridgeConstants.ERROR_FILE_UNREADABLE,
          "cannot open " + path + ": " + e, e);
    }
    if (in == null) {
      throw new PacException(BridgeConstants.ERROR_FILE_NOT_FOUND, "no file at " + path);
    }
    byte[] bytes = readAll(in, path);
    if (bytes.length == 0) {
      throw new PacException(BridgeConstants.ERROR_FILE_UNREADABLE, path + " is empty (0 bytes)");
    }
    return bytes;
  }

  private static byte[] readAll(InputStream in, String path) throws PacException {
    try {
      try {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[65536];
        int n;
        while ((n = in.read(buf)) > 0) {
          out.write(buf, 0, n);
          if (out.size() > MAX_FILE_BYTES) {
            throw new PacException(BridgeConstants.ERROR_FILE_UNREADABLE, path
                + " is larger than " + (MAX_FILE_BYTES >> 20) + " MB");
          }
        }
        return out.toByteArray();
      } finally {
        in.close();
      }
    } catch (IOException e) {
      throw new PacException(BridgeConstants.ERROR_FILE_UNREADABLE,
          "cannot read " + path + ": " + e.getMessage(), e);
    }
  }
}
