package io.github.pacaudio.buildtools;

import java.util.List;
import java.util.Map;

/** Renders the Java source of BridgeConstants from the parsed extension/bridge.json. */
public final class BridgeConstantsSource {
  private BridgeConstantsSource() {
  }

  @SuppressWarnings("unchecked")
  public static String render(String pkg, Map<String, Object> bridge) {
    StringBuilder sb = new StringBuilder();
    sb.append("package ").append(pkg).append(";\n\n");
    sb.append("/**\n * The JS<->Java bridge and error codes, generated from extension/bridge.json by\n"
        + " * pac's annotation processor at build time. Do not edit; edit bridge.json.\n */\n");
    sb.append("final class BridgeConstants {\n  private BridgeConstants() {\n  }\n\n");
    constant(sb, "JAVASCRIPT_INTERFACE", (String) require(bridge, "javascript_interface"));

    Map<String, Object> jsToJava = (Map<String, Object>) require(bridge, "js_to_java");
    for (Map.Entry<String, Object> e : jsToJava.entrySet()) {
      List<Object> params = (List<Object>) ((Map<String, Object>) e.getValue()).get("params");
      constant(sb, "JS_TO_JAVA_" + upper(e.getKey()), e.getKey());
      intConstant(sb, "JS_TO_JAVA_" + upper(e.getKey()) + "_ARITY", params.size());
    }
    Map<String, Object> javaToJs = (Map<String, Object>) require(bridge, "java_to_js");
    constant(sb, "JS_OBJECT", (String) require(javaToJs, "object"));
    for (Map.Entry<String, Object> e : javaToJs.entrySet()) {
      if (e.getValue() instanceof Map) {
        List<Object> params = (List<Object>) ((Map<String, Object>) e.getValue()).get("params");
        constant(sb, "JAVA_TO_JS_" + upper(e.getKey()), e.getKey());
        intConstant(sb, "JAVA_TO_JS_" + upper(e.getKey()) + "_ARITY", params.size());
      }
    }

    Map<String, Object> assets = (Map<String, Object>) require(bridge, "asset_paths");
    constant(sb, "ASSET_ORIGIN", (String) require(assets, "origin"));
    constant(sb, "ASSET_PAGE_URL", (String) require(assets, "page_url"));
    constant(sb, "ASSET_SEPARATOR", (String) require(assets, "separator"));
    constant(sb, "ASSET_SEGMENT_PATTERN", (String) require(assets, "segment_pattern"));
    constant(sb, "ASSET_MODEL_PREFIX", (String) require(assets, "model_prefix"));
    stringArray(sb, "ASSET_RESERVED_NAMES", (List<Object>) require(assets, "reserved_names"));
    stringArray(sb, "ASSET_RESERVED_SUFFIXES",
        (List<Object>) require(assets, "reserved_suffixes"));

    Map<String, Object> listening = (Map<String, Object>) require(bridge, "listening");
    for (Map.Entry<String, Object> e : listening.entrySet()) {
      String name = "LISTENING_" + e.getKey().toUpperCase(java.util.Locale.ROOT);
      Object v = e.getValue();
      if (e.getKey().equals("doc")) {
        continue;
      } else if (v instanceof String) {
        constant(sb, name, (String) v);
      } else if (v instanceof Long) {
        intConstant(sb, name, (Long) v);
      } else if (v instanceof Number) {
        sb.append("  static final double ").append(name).append(" = ")
            .append(((Number) v).doubleValue()).append(";\n");
      } else {
        throw new IllegalArgumentException("bridge.json: listening." + e.getKey()
            + " must be a string or a number");
      }
    }

    sb.append("\n");
    List<Object> errors = (List<Object>) require(bridge, "errors");
    for (Object o : errors) {
      Map<String, Object> err = (Map<String, Object>) o;
      String name = (String) require(err, "name");
      long code = (Long) require(err, "code");
      sb.append("  /** ").append(((String) err.get("doc")).replace("*/", "* /"))
          .append(" */\n");
      intConstant(sb, "ERROR_" + name, code);
    }
    sb.append("}\n");
    return sb.toString();
  }

  private static Object require(Map<String, Object> map, String key) {
    Object v = map.get(key);
    if (v == null) {
      throw new IllegalArgumentException("bridge.json: missing \"" + key + "\"");
    }
    return v;
  }

  private static String upper(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(java.util.Locale.ROOT);
  }

  private static void constant(StringBuilder sb, String name, String value) {
    sb.append("  static final String ").append(name).append(" = ");
    Json.quote(sb, value);
    sb.append(";\n");
  }

  private static void intConstant(StringBuilder sb, String name, long value) {
    sb.append("  static final int ").append(name).append(" = ").append(value).append(";\n");
  }

  private static void stringArray(StringBuilder sb, String name, List<Object> values) {
    sb.append("  static final String[] ").append(name).append(" = {");
    for (int i = 0; i < values.size(); i++) {
      if (i > 0) {
        sb.append(", ");
      }
      Json.quote(sb, (String) values.get(i));
    }
    sb.append("};\n");
  }
}
