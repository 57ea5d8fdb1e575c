package io.github.pacaudio;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The one rule from URL paths of the classifier page to flat .aix asset names, as stated in
 * bridge.json "asset_paths": segments joined by "/" in the URL are joined by "__" in the asset
 * name, and every segment matches the segment pattern (so "__" never occurs inside one and the
 * mapping is one-to-one).
 */
final class AssetPaths {
  static final Pattern SEGMENT = Pattern.compile(BridgeConstants.ASSET_SEGMENT_PATTERN);
  static final String PAGE_FILE = BridgeConstants.ASSET_PAGE_URL.substring(
      BridgeConstants.ASSET_PAGE_URL.lastIndexOf('/') + 1);
  /** The page URL up to the INSTANCE segment, e.g. https://appassets.androidplatform.net/pac/. */
  static final String INSTANCE_PARENT = BridgeConstants.ASSET_PAGE_URL.substring(0,
      BridgeConstants.ASSET_PAGE_URL.indexOf("INSTANCE"));

  private AssetPaths() {
  }

  /** The asset name for a URL path relative to the page's folder; IllegalArgumentException if invalid. */
  static String assetName(String relativePath) {
    if (relativePath == null || relativePath.isEmpty()) {
      throw new IllegalArgumentException("empty path");
    }
    String[] segments = relativePath.split("/", -1);
    StringBuilder sb = new StringBuilder();
    for (String segment : segments) {
      if (!SEGMENT.matcher(segment).matches()) {
        throw new IllegalArgumentException("bad path segment '" + segment + "' in " + relativePath);
      }
      if (sb.length() > 0) {
        sb.append(BridgeConstants.ASSET_SEPARATOR);
      }
      sb.append(segment);
    }
    String name = sb.toString();
    checkNotReserved(name);
    return name;
  }

  /** The URL path (relative to the page's folder) of an asset name; the inverse of assetName. */
  static String relativePath(String assetName) {
    String path = assetName.replace(BridgeConstants.ASSET_SEPARATOR, "/");
    if (!assetName(path).equals(assetName)) {
      throw new IllegalArgumentException("not a pac asset name: " + assetName);
    }
    return path;
  }

  static void checkNotReserved(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    for (String reserved : BridgeConstants.ASSET_RESERVED_NAMES) {
      if (lower.equals(reserved)) {
        throw new IllegalArgumentException("reserved asset name " + name);
      }
    }
    for (String suffix : BridgeConstants.ASSET_RESERVED_SUFFIXES) {
      if (lower.endsWith(suffix)) {
        throw new IllegalArgumentException("reserved asset name suffix in " + name);
      }
    }
  }

  /** The page's URL for one load of one component (instance must be a valid segment). */
  static String pageUrl(String instance) {
    if (!SEGMENT.matcher(instance).matches()) {
      throw new IllegalArgumentException("bad instance " + instance);
    }
    return INSTANCE_PARENT + instance + "/" + PAGE_FILE;
  }

  static String mimeType(String path) {
    String p = path.toLowerCase(Locale.ROOT);
    if (p.endsWith(".html") || p.endsWith(".htm")) {
      return "text/html";
    }
    if (p.endsWith(".js") || p.endsWith(".mjs")) {
      return "text/javascript";
    }
    if (p.endsWith(".json")) {
      return "application/json";
    }
    if (p.endsWith(".wasm")) {
      return "application/wasm";
    }
    if (p.endsWith(".css")) {
      return "text/css";
    }
    if (p.endsWith(".png")) {
      return "image/png";
    }
    return "application/octet-stream";
  }

  static boolean isText(String mimeType) {
    return mimeType.startsWith("text/") || mimeType.equals("application/json");
  }
}
