package io.github.pacaudio;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Answers the WebView's requests for the classifier page and its files, offline: every URL under
 * the page's folder (see {@link AssetPaths}) is served from the extension's assets, or, for
 * model/... when a Model asset is set, from inside that zip. Any other http(s) URL gets a 404, so
 * the page never reaches the network. Called on WebView's I/O threads.
 */
final class RequestServer {
  /** Opens one of the extension's assets by its .aix asset name. */
  interface AssetSource {
    InputStream open(String assetName) throws IOException;
  }

  /** What WebResourceResponse needs. */
  static final class Response {
    final int status;
    final String reason;
    final String mimeType;
    final String encoding;
    final Map<String, String> headers;
    final InputStream body;

    Response(int status, String reason, String mimeType, InputStream body) {
      this.status = status;
      this.reason = reason;
      this.mimeType = mimeType;
      this.encoding = AssetPaths.isText(mimeType) ? "utf-8" : null;
      this.body = body;
      Map<String, String> h = new LinkedHashMap<String, String>();
      h.put("Access-Control-Allow-Origin", "*");
      h.put("Cache-Control", "no-store");
      this.headers = h;
    }
  }

  private final AssetSource assets;
  private volatile ModelArchive model;

  RequestServer(AssetSource assets) {
    this.assets = assets;
  }

  /** The user's model, or null for the model built into the extension. */
  void setModel(ModelArchive model) {
    this.model = model;
  }

  static boolean isOurs(String url) {
    return url.startsWith(AssetPaths.INSTANCE_PARENT);
  }

  /** The response for a URL, or null to let WebView handle it (non-http(s) schemes only). */
  Response serve(String url) {
    if (url == null) {
      return null;
    }
    if (!isOurs(url)) {
      if (url.startsWith("http:") || url.startsWith("https:")) {
        return notFound("pac serves no network URL: " + url);
      }
      return null;
    }
    String rest = url.substring(AssetPaths.INSTANCE_PARENT.length());
    int cut = indexOfAny(rest, "?#");
    if (cut >= 0) {
      rest = rest.substring(0, cut);
    }
    int slash = rest.indexOf('/');
    if (slash <= 0) {
      return notFound("no such file: " + url);
    }
    String relative = rest.substring(slash + 1);
    String assetName;
    try {
      assetName = AssetPaths.assetName(relative);
    } catch (IllegalArgumentException e) {
      return notFound(e.getMessage());
    }
    String mime = AssetPaths.mimeType(relative);
    ModelArchive m = model;
    if (m != null && relative.startsWith(BridgeConstants.ASSET_MODEL_PREFIX)) {
      byte[] bytes = m.get(relative.substring(BridgeConstants.ASSET_MODEL_PREFIX.length()));
      if (bytes == null) {
        return notFound(relative + " is not in model " + m.name);
      }
      return new Response(200, "OK", mime, new ByteArrayInputStream(bytes));
    }
    try {
      InputStream in = assets.open(assetName);
      if (in == null) {
        return notFound("no asset " + assetName);
      }
      return new Response(200, "OK", mime, in);
    } catch (IOException e) {
      return notFound("no asset " + assetName);
    }
  }

  private static int indexOfAny(String s, String chars) {
    for (int i = 0; i < s.length(); i++) {
      if (chars.indexOf(s.charAt(i)) >= 0) {
        return i;
      }
    }
    return -1;
  }

  private static Response notFound(String why) {
    byte[] body;
    try {
      body = why.getBytes("UTF-8");
    } catch (java.io.UnsupportedEncodingException e) {
      throw new AssertionError(e);
    }
    return new Response(404, "Not Found", "text/plain", new ByteArrayInputStream(body));
  }
}
