package com.google.appinventor.components;

import static org.junit.Assert.assertTrue;

import java.lang.annotation.Retention;
import java.lang.annotation.Target;
import java.lang.reflect.Array;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.Assume;
import org.junit.Test;

/**
 * Checks every type and member of this API surface against App Inventor's own sources: each
 * declared class, superclass and interface, constructor, method (return and parameter types,
 * static, varargs), constant (type and value), enum constant (order and name) and annotation
 * element (type, default, retention, target) must appear upstream with the same signature.
 *
 * <p>Runs when the environment variable APPINVENTOR_SOURCES names a checkout of
 * mit-cml/appinventor-sources (or of mit-cml/appinventor-extensions, which carries the same
 * tree): the directory that holds appinventor/components/src. Skipped otherwise (the sources are
 * not on Maven Central); package-info.java records the commit it was last run against.
 */
public class UpstreamSignaturesTest {
  static final String[] TYPES = {
      "annotations.DesignerComponent", "annotations.DesignerProperty", "annotations.SimpleEvent",
      "annotations.SimpleFunction", "annotations.SimpleObject", "annotations.SimpleProperty",
      "annotations.UsesAssets", "annotations.UsesPermissions", "annotations.PropertyCategory",
      "common.ComponentCategory", "common.ComponentConstants", "common.PropertyTypeConstants",
      "runtime.AndroidNonvisibleComponent", "runtime.AndroidViewComponent",
      "runtime.AppInventorCompatActivity", "runtime.Component", "runtime.ComponentContainer",
      "runtime.Deleteable", "runtime.EventDispatcher", "runtime.Form",
      "runtime.HandlesEventDispatching", "runtime.OnDestroyListener", "runtime.OnPauseListener",
      "runtime.OnResumeListener",
      "runtime.PermissionResultHandler", "runtime.VisibleComponent", "runtime.WebViewer",
      "runtime.util.ErrorMessages", "runtime.util.MediaUtil", "runtime.util.OnInitializeListener",
      "runtime.util.YailList"};
  static final String PREFIX = "com.google.appinventor.components.";

  private final List<String> problems = new ArrayList<>();

  @Test
  public void everyDeclarationMatchesUpstream() throws Exception {
    String root = System.getenv("APPINVENTOR_SOURCES");
    Assume.assumeTrue("APPINVENTOR_SOURCES is not set", root != null && !root.isEmpty());
    Path src = Paths.get(root, "appinventor/components/src/com/google/appinventor/components");
    Assume.assumeTrue(src + " does not exist", Files.isDirectory(src));
    int checked = 0;
    for (String name : TYPES) {
      Class<?> c = Class.forName(PREFIX + name);
      Path file = src.resolve(name.replace('.', '/') + ".java");
      if (!Files.isRegularFile(file)) {
        problems.add(name + ": no upstream file " + file);
        continue;
      }
      String text = normalize(stripComments(
          new String(Files.readAllBytes(file), StandardCharsets.UTF_8)));
      checked += check(c, text);
    }
    assertTrue(String.join("\n", problems), problems.isEmpty());
    assertTrue("only " + checked + " declarations checked", checked > 60);
    System.out.println("UpstreamSignaturesTest: " + checked + " declarations match " + src);
  }

  private int check(Class<?> c, String up) throws Exception {
    int n = 0;
    String simple = c.getSimpleName();
    String kind = c.isAnnotation() ? "@interface" : c.isEnum() ? "enum"
        : c.isInterface() ? "interface" : "class";
    Matcher header = Pattern.compile("(?:^|[\\s;}])((?:public |abstract |final )*)"
        + Pattern.quote(kind) + " " + Pattern.quote(simple) + "\\b([^{]*)\\{").matcher(up);
    if (!header.find()) {
      problems.add(simple + ": no upstream " + kind + " " + simple);
      return 0;
    }
    String mods = header.group(1);
    String rest = header.group(2);
    if (Modifier.isFinal(c.getModifiers()) && !c.isEnum() && !mods.contains("final")) {
      problems.add(simple + ": final here, not upstream");
    }
    if (Modifier.isAbstract(c.getModifiers()) && !c.isInterface() && !mods.contains("abstract")) {
      problems.add(simple + ": abstract here, not upstream");
    }
    Class<?> sup = c.getSuperclass();
    if (sup != null && sup != Object.class && sup != Enum.class
        && !rest.matches(".*\\bextends " + Pattern.quote(sup.getSimpleName()) + "\\b.*")) {
      problems.add(simple + ": upstream does not extend " + sup.getSimpleName());
    }
    if (!c.isAnnotation()) {
      for (Class<?> i : c.getInterfaces()) {
        if (!rest.matches(".*\\b" + Pattern.quote(i.getSimpleName()) + "\\b.*")) {
          problems.add(simple + ": upstream does not implement " + i.getSimpleName());
        }
      }
    }
    n++;
    if (c.isAnnotation()) {
      Retention r = c.getAnnotation(Retention.class);
      if (r != null && !up.contains("@Retention(RetentionPolicy." + r.value() + ")")) {
        problems.add(simple + ": retention " + r.value() + " differs upstream");
      }
      Target t = c.getAnnotation(Target.class);
      if (t != null) {
        for (Object e : t.value()) {
          if (!up.contains("ElementType." + e)) {
            problems.add(simple + ": target " + e + " not upstream");
          }
        }
      }
    }
    if (c.isEnum()) {
      n += checkEnum(c, up);
    }
    for (Field f : c.getDeclaredFields()) {
      if (f.isSynthetic() || f.isEnumConstant() || !isApi(f.getModifiers(), c)) {
        continue;
      }
      n++;
      String value = "";
      if (Modifier.isStatic(f.getModifiers()) && Modifier.isFinal(f.getModifiers())) {
        f.setAccessible(true);
        Object v = f.get(null);
        value = "\\s*=\\s*" + literal(v);
      }
      String re = "(?<![\\w$])" + type(f.getType(), false) + " " + Pattern.quote(f.getName())
          + (value.isEmpty() ? "\\s*[;=]" : value + "\\s*;");
      if (!Pattern.compile(re).matcher(up).find()) {
        problems.add(simple + ": field " + f.getType().getSimpleName() + " " + f.getName()
            + (value.isEmpty() ? "" : " = " + f.get(null)) + " not upstream");
      }
    }
    for (Constructor<?> k : c.getDeclaredConstructors()) {
      if (!isApi(k.getModifiers(), c) || c.isEnum()) {
        continue;
      }
      n++;
      String re = "(?<![\\w$.])" + Pattern.quote(simple) + "\\s*\\(" + params(k.getParameterTypes(),
          k.isVarArgs()) + "\\)";
      boolean implicit = k.getParameterCount() == 0 && !Pattern.compile(
          "(?<![\\w$.])(?<!new )" + Pattern.quote(simple) + "\\s*\\(").matcher(up).find();
      if (!implicit && !Pattern.compile(re).matcher(up).find()) {
        problems.add(simple + ": constructor " + Arrays.toString(k.getParameterTypes())
            + " not upstream");
      }
    }
    for (Method m : c.getDeclaredMethods()) {
      if (m.isSynthetic() || !isApi(m.getModifiers(), c)
          || c.isEnum() && (m.getName().equals("values") || m.getName().equals("valueOf"))) {
        continue;
      }
      n++;
      String prefix = Modifier.isStatic(m.getModifiers()) ? "static(?:\\s+\\w+)*\\s+" : "";
      String re = "(?<![\\w$.])" + prefix + type(m.getReturnType(), false) + " "
          + Pattern.quote(m.getName()) + "\\s*\\(" + params(m.getParameterTypes(), m.isVarArgs())
          + "\\)";
      if (c.isAnnotation()) {
        re += m.getDefaultValue() == null ? "\\s*;" : "\\s*default\\s+([^;]+);";
      }
      Matcher found = Pattern.compile(re).matcher(up);
      if (!found.find()) {
        problems.add(simple + ": method " + m.getReturnType().getSimpleName() + " " + m.getName()
            + Arrays.toString(m.getParameterTypes()) + " not upstream (or its default differs)");
      } else if (c.isAnnotation() && m.getDefaultValue() != null) {
        String upstreamDefault = found.group(1).trim();
        if (!sameDefault(m.getDefaultValue(), upstreamDefault)) {
          problems.add(simple + "." + m.getName() + ": default " + m.getDefaultValue()
              + " vs upstream " + upstreamDefault);
        }
      }
    }
    return n;
  }

  private int checkEnum(Class<?> c, String up) throws Exception {
    Matcher body = Pattern.compile("enum " + c.getSimpleName() + "\\s*\\{([^;]*);").matcher(up);
    if (!body.find()) {
      problems.add(c.getSimpleName() + ": enum body not found upstream");
      return 0;
    }
    List<String> upstream = new ArrayList<>();
    Matcher constant = Pattern.compile("(?:^|,)\\s*([A-Z][A-Z0-9_]*)\\s*\\(\\s*\"([^\"]*)\"")
        .matcher(body.group(1));
    List<String> upstreamNames = new ArrayList<>();
    while (constant.find()) {
      upstream.add(constant.group(1) + "=" + constant.group(2));
      upstreamNames.add(constant.group(1));
    }
    List<String> ours = new ArrayList<>();
    Method getName = c.getMethod("getName");
    for (Object e : c.getEnumConstants()) {
      String display = (String) getName.invoke(e);
      ours.add(((Enum<?>) e).name() + "=" + display.replace("\u00ae", "\u00ae"));
    }
    if (!ours.equals(upstream)) {
      problems.add(c.getSimpleName() + ": constants " + ours + " vs upstream " + upstream);
    }
    return ours.size();
  }

  private static boolean isApi(int modifiers, Class<?> owner) {
    return owner.isInterface() || Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
  }

  private static boolean sameDefault(Object ours, String upstream) throws Exception {
    if (upstream.matches("[A-Za-z_][\\w]*\\.[A-Za-z_][\\w]*") && !(ours instanceof Enum)) {
      String[] parts = upstream.split("\\.");
      for (String pkg : new String[] {"common.", "annotations."}) {
        try {
          Field f = Class.forName(PREFIX + pkg + parts[0]).getField(parts[1]);
          return f.get(null).equals(ours);
        } catch (ClassNotFoundException | NoSuchFieldException e) {
          // try the next package
        }
      }
      return false;
    }
    if (ours instanceof Enum) {
      return upstream.matches("(?:\\w+\\.)?" + ((Enum<?>) ours).name());
    }
    if (ours.getClass().isArray()) {
      return Array.getLength(ours) == 0 && upstream.matches("\\{\\s*\\}");
    }
    return upstream.matches(literal(ours));
  }

  private static String literal(Object v) {
    if (v instanceof String) {
      return Pattern.quote("\"" + v + "\"");
    }
    return Pattern.quote(String.valueOf(v));
  }

  private static String type(Class<?> t, boolean varargs) {
    if (t.isArray()) {
      String element = type(t.getComponentType(), false);
      return varargs ? element + "\\s*\\.\\.\\." : element + "\\s*\\[\\s*\\]";
    }
    return "(?:[\\w.]+\\.)?" + Pattern.quote(t.getSimpleName());
  }

  private static String params(Class<?>[] types, boolean varargs) {
    StringBuilder sb = new StringBuilder("\\s*");
    for (int i = 0; i < types.length; i++) {
      if (i > 0) {
        sb.append("\\s*,\\s*");
      }
      sb.append("(?:final\\s+)?(?:@[\\w.]+(?:\\([^)]*\\))?\\s+)*")
          .append(type(types[i], varargs && i == types.length - 1))
          .append("\\s*[\\w$]+(?:\\s*\\[\\s*\\])?");
    }
    return sb.append("\\s*").toString();
  }

  /** Removes comments, keeping string and character literals intact. */
  static String stripComments(String s) {
    StringBuilder out = new StringBuilder(s.length());
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (c == '"' || c == '\'') {
        int j = i + 1;
        while (j < s.length() && s.charAt(j) != c) {
          j += s.charAt(j) == '\\' ? 2 : 1;
        }
        out.append(s, i, Math.min(j + 1, s.length()));
        i = j + 1;
      } else if (s.startsWith("//", i)) {
        while (i < s.length() && s.charAt(i) != '\n') {
          i++;
        }
      } else if (s.startsWith("/*", i)) {
        int end = s.indexOf("*/", i + 2);
        i = end < 0 ? s.length() : end + 2;
        out.append(' ');
      } else {
        out.append(c);
        i++;
      }
    }
    return out.toString();
  }

  static String normalize(String s) {
    return s.replaceAll("\\s+", " ");
  }
}
