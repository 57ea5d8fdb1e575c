package com.google.appinventor.components.runtime.util;

import com.google.appinventor.components.runtime.Form;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;

/**
 * Upstream: runtime/util/MediaUtil.java ({@code public static InputStream openMedia(Form form,
 * String mediaPath) throws IOException}: absolute paths, file: and content: URIs, URLs, and
 * project assets, in the APK and in the Companion). The test double handles absolute paths, file:
 * URIs and, for anything else, {@link Form#openAsset}.
 */
public class MediaUtil {
  private MediaUtil() {
  }

  public static InputStream openMedia(Form form, String mediaPath) throws IOException {
    if (mediaPath.startsWith("/")) {
      return new FileInputStream(mediaPath);
    }
    if (mediaPath.startsWith("file:")) {
      return new FileInputStream(new File(URI.create(mediaPath)));
    }
    return form.openAsset(mediaPath);
  }
}
