package io.github.pacaudio.buildtools;

import com.google.appinventor.components.annotations.DesignerComponent;
import com.google.appinventor.components.annotations.DesignerProperty;
import com.google.appinventor.components.annotations.PropertyCategory;
import com.google.appinventor.components.annotations.SimpleEvent;
import com.google.appinventor.components.annotations.SimpleFunction;
import com.google.appinventor.components.annotations.SimpleObject;
import com.google.appinventor.components.annotations.SimpleProperty;
import com.google.appinventor.components.annotations.UsesAssets;
import com.google.appinventor.components.annotations.UsesPermissions;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.text.SimpleDateFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Date;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TimeZone;
import java.util.TreeMap;
import java.util.TreeSet;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.RoundEnvironment;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.Modifier;
import javax.lang.model.element.TypeElement;
import javax.lang.model.element.VariableElement;
import javax.lang.model.type.TypeKind;
import javax.lang.model.type.TypeMirror;
import javax.tools.Diagnostic;
import javax.tools.JavaFileObject;

/**
 * pac's annotation processor. It reads App Inventor's component annotations the way App Inventor's
 * own ComponentProcessor / ComponentDescriptorGenerator / ComponentListGenerator do (names, YAIL
 * types, read-write modes, categories, the "designer property needs a categorised simple property"
 * rule) and writes, for the one external component it finds:
 * <ul>
 *   <li>{@code <pac.outDir>/components.json}: a JSON array of the component's descriptor;</li>
 *   <li>{@code <pac.outDir>/files/component_build_infos.json}: a JSON array of its build info;</li>
 * </ul>
 * and, when {@code pac.bridgeJson} is given, generates the source of {@code BridgeConstants} in
 * package {@code pac.bridgePackage} from extension/bridge.json.
 *
 * <p>Options ({@code -Akey=value}): {@code pac.outDir} (required for descriptors),
 * {@code pac.dateBuilt} (ISO-8601 instant, e.g. Maven's project.build.outputTimestamp, so the
 * output is reproducible), {@code pac.assetList} (optional file, one asset name per line, which
 * replaces the @UsesAssets list), {@code pac.bridgeJson}, {@code pac.bridgePackage}.
 *
 * <p>Every scalar in the descriptors is a string, every event and method carries description,
 * deprecated and params, and the files are pure ASCII (non-ASCII text is \\u-escaped).
 */
public final class DescriptorProcessor extends AbstractProcessor {
  static final String OUT_DIR = "pac.outDir";
  static final String DATE_BUILT = "pac.dateBuilt";
  static final String ASSET_LIST = "pac.assetList";
  static final String BRIDGE_JSON = "pac.bridgeJson";
  static final String BRIDGE_PACKAGE = "pac.bridgePackage";

  private static final String ANNOTATIONS = "com.google.appinventor.components.annotations.";
  private static final String RUNTIME = "com.google.appinventor.components.runtime.";

  private boolean bridgeDone;
  private final List<Map<String, Object>> descriptors = new ArrayList<Map<String, Object>>();
  private final List<Map<String, Object>> buildInfos = new ArrayList<Map<String, Object>>();

  @Override
  public Set<String> getSupportedAnnotationTypes() {
    return Collections.singleton(ANNOTATIONS + "*");
  }

  @Override
  public Set<String> getSupportedOptions() {
    return new HashSet<String>(
        Arrays.asList(OUT_DIR, DATE_BUILT, ASSET_LIST, BRIDGE_JSON, BRIDGE_PACKAGE));
  }

  @Override
  public SourceVersion getSupportedSourceVersion() {
    return SourceVersion.latestSupported();
  }

  @Override
  public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
    try {
      if (!bridgeDone) {
        bridgeDone = true;
        String bridge = processingEnv.getOptions().get(BRIDGE_JSON);
        if (bridge != null) {
          generateBridgeConstants(bridge);
        }
      }
      for (Element e : round.getElementsAnnotatedWith(DesignerComponent.class)) {
        if (e.getKind() == ElementKind.CLASS && e.getAnnotation(SimpleObject.class) != null
            && !e.getModifiers().contains(Modifier.ABSTRACT)) {
          describe((TypeElement) e);
        }
      }
      if (round.processingOver() && !descriptors.isEmpty()) {
        writeOutputs();
      }
    } catch (IOException | RuntimeException ex) {
      error(null, "pac descriptor processor failed: " + ex);
    }
    return false;
  }

  private void error(Element where, String message) {
    processingEnv.getMessager().printMessage(Diagnostic.Kind.ERROR, message, where);
  }

  // ---------------------------------------------------------------- descriptors

  private static final class Property {
    String name;
    String description = "";
    TypeMirror type;
    boolean readable;
    boolean writable;
    boolean userVisible = true;
    boolean deprecated;
    PropertyCategory category = PropertyCategory.UNSET;
    Element element;
  }

  private void describe(TypeElement component) {
    DesignerComponent dc = component.getAnnotation(DesignerComponent.class);
    SimpleObject so = component.getAnnotation(SimpleObject.class);
    String type = component.getQualifiedName().toString();
    String name = component.getSimpleName().toString();
    if (dc.description().isEmpty()) {
      error(component, "@DesignerComponent needs a description");
    }
    if (!so.external()) {
      error(component, "pac's component must be @SimpleObject(external = true)");
    }

    Map<String, DesignerProperty> designer = new TreeMap<String, DesignerProperty>();
    Map<String, Property> properties = new TreeMap<String, Property>();
    Map<String, Map<String, Object>> events = new TreeMap<String, Map<String, Object>>();
    Map<String, Map<String, Object>> methods = new TreeMap<String, Map<String, Object>>();

    for (Element member : component.getEnclosedElements()) {
      if (member.getKind() != ElementKind.METHOD
          || !member.getModifiers().contains(Modifier.PUBLIC)) {
        continue;
      }
      ExecutableElement m = (ExecutableElement) member;
      String memberName = m.getSimpleName().toString();
      DesignerProperty dp = m.getAnnotation(DesignerProperty.class);
      if (dp != null) {
        designer.put(memberName, dp);
      }
      SimpleProperty sp = m.getAnnotation(SimpleProperty.class);
      if (sp != null) {
        addProperty(properties, m, sp);
      }
      SimpleEvent se = m.getAnnotation(SimpleEvent.class);
      if (se != null) {
        events.put(memberName, block(m, se.description(), false));
      }
      SimpleFunction sf = m.getAnnotation(SimpleFunction.class);
      if (sf != null) {
        methods.put(memberName, block(m, sf.description(), true));
      }
    }

    for (Map.Entry<String, DesignerProperty> e : designer.entrySet()) {
      Property p = properties.get(e.getKey());
      if (p == null) {
        error(component, "Designer property " + e.getKey() + " has no @SimpleProperty");
      } else if (p.category == PropertyCategory.UNSET) {
        error(p.element, "Property " + name + "." + p.name + " has no category.");
      } else if (!p.writable) {
        error(p.element, "Designer property " + p.name + " needs a @SimpleProperty setter");
      }
    }

    Map<String, Object> json = new LinkedHashMap<String, Object>();
    json.put("type", type);
    json.put("name", name);
    json.put("external", Boolean.toString(so.external()));
    json.put("version", Integer.toString(dc.version()));
    if (!dc.versionName().isEmpty()) {
      json.put("versionName", dc.versionName());
    }
    json.put("dateBuilt", dateBuilt());
    json.put("categoryString", dc.category().name());
    json.put("helpString", dc.designerHelpDescription().isEmpty()
        ? dc.description() : dc.designerHelpDescription());
    String helpUrl = dc.helpUrl();
    json.put("helpUrl",
        helpUrl.startsWith("http:") || helpUrl.startsWith("https:") ? helpUrl : "");
    json.put("showOnPalette", Boolean.toString(dc.showOnPalette()));
    json.put("nonVisible", Boolean.toString(dc.nonVisible()));
    json.put("iconName", dc.iconName());
    json.put("licenseName", dc.licenseName());
    json.put("androidMinSdk", Integer.toString(dc.androidMinSdk()));

    List<Object> designerJson = new ArrayList<Object>();
    for (Map.Entry<String, DesignerProperty> e : designer.entrySet()) {
      Map<String, Object> p = new LinkedHashMap<String, Object>();
      p.put("name", e.getKey());
      p.put("editorType", e.getValue().editorType());
      p.put("defaultValue", e.getValue().defaultValue());
      p.put("editorArgs", new ArrayList<Object>(Arrays.asList(e.getValue().editorArgs())));
      designerJson.add(p);
    }
    json.put("properties", designerJson);

    List<Object> blockProperties = new ArrayList<Object>();
    for (Property p : properties.values()) {
      if (p.description.isEmpty()) {
        error(p.element, "Property " + p.name + " needs a description");
      }
      Map<String, Object> b = new LinkedHashMap<String, Object>();
      b.put("name", p.name);
      b.put("description", p.description);
      b.put("type", yailType(p.type, p.element));
      String rw = p.readable && p.writable ? "read-write" : p.readable ? "read-only" : "write-only";
      b.put("rw", p.userVisible ? rw : "invisible");
      b.put("deprecated", Boolean.toString(p.deprecated));
      b.put("category", p.category.getName());
      blockProperties.add(b);
    }
    json.put("blockProperties", blockProperties);
    json.put("events", new ArrayList<Object>(events.values()));
    json.put("methods", new ArrayList<Object>(methods.values()));

    List<String> assets = assets(component);
    if (!assets.isEmpty()) {
      json.put("assets", new ArrayList<Object>(assets));
    }
    json.put("providermodel", new ArrayList<Object>());
    json.put("provider", new ArrayList<Object>());
    descriptors.add(json);

    Map<String, Object> info = new LinkedHashMap<String, Object>();
    info.put("type", type);
    info.put("permissions", new ArrayList<Object>(permissions(component)));
    info.put("permissionConstraints", new LinkedHashMap<String, Object>());
    info.put("libraries", new ArrayList<Object>());
    info.put("native", new ArrayList<Object>());
    info.put("assets", new ArrayList<Object>(assets));
    info.put("activities", new ArrayList<Object>());
    info.put("metadata", new ArrayList<Object>());
    info.put("activityMetadata", new ArrayList<Object>());
    info.put("androidMinSdk",
        new ArrayList<Object>(Collections.singletonList(Integer.toString(dc.androidMinSdk()))));
    info.put("broadcastReceivers", new ArrayList<Object>());
    info.put("queries", new ArrayList<Object>());
    info.put("services", new ArrayList<Object>());
    info.put("contentProviders", new ArrayList<Object>());
    info.put("xmls", new ArrayList<Object>());
    info.put("features", new ArrayList<Object>());
    info.put("broadcastReceiver", new ArrayList<Object>());
    buildInfos.add(info);
  }

  private void addProperty(Map<String, Property> properties, ExecutableElement m,
      SimpleProperty sp) {
    String name = m.getSimpleName().toString();
    Property p = properties.get(name);
    if (p == null) {
      p = new Property();
      p.name = name;
      p.element = m;
      p.deprecated = true;
      properties.put(name, p);
    }
    TypeMirror type;
    if (m.getParameters().isEmpty()) {
      if (m.getReturnType().getKind() == TypeKind.VOID) {
        error(m, "Property getter " + name + " returns void");
        return;
      }
      p.readable = true;
      type = m.getReturnType();
      p.type = type;  // the getter's type wins, as in App Inventor
    } else if (m.getParameters().size() == 1) {
      p.writable = true;
      type = m.getParameters().get(0).asType();
      if (p.type == null) {
        p.type = type;
      }
    } else {
      error(m, "Property setter " + name + " must take one argument");
      return;
    }
    if (!sp.description().isEmpty()) {
      p.description = sp.description();
    }
    if (sp.category() != PropertyCategory.UNSET) {
      if (p.category != PropertyCategory.UNSET && p.category != sp.category()) {
        error(m, "Property " + name + " has inconsistent categories");
      }
      p.category = sp.category();
    }
    p.userVisible = p.userVisible && sp.userVisible();
    p.deprecated = p.deprecated && processingEnv.getElementUtils().isDeprecated(m);
  }

  private Map<String, Object> block(ExecutableElement m, String description, boolean isMethod) {
    String name = m.getSimpleName().toString();
    if (description.isEmpty()) {
      error(m, (isMethod ? "Method " : "Event ") + name + " needs a description");
    }
    Map<String, Object> json = new LinkedHashMap<String, Object>();
    json.put("name", name);
    json.put("description", description);
    json.put("deprecated",
        Boolean.toString(processingEnv.getElementUtils().isDeprecated(m)));
    List<Object> params = new ArrayList<Object>();
    for (VariableElement v : m.getParameters()) {
      Map<String, Object> p = new LinkedHashMap<String, Object>();
      p.put("name", v.getSimpleName().toString());
      p.put("type", yailType(v.asType(), v));
      params.add(p);
    }
    json.put("params", params);
    if (isMethod && m.getReturnType().getKind() != TypeKind.VOID) {
      json.put("returnType", yailType(m.getReturnType(), m));
    }
    if (!isMethod && m.getReturnType().getKind() != TypeKind.VOID) {
      error(m, "Event " + name + " must return void");
    }
    return json;
  }

  /** App Inventor's mapping from Java types to YAIL types (ComponentProcessor.javaTypeToYailType). */
  private String yailType(TypeMirror type, Element where) {
    String t = processingEnv.getTypeUtils().erasure(type).toString();
    if (t.equals("boolean")) {
      return "boolean";
    }
    if (t.equals("java.lang.String")) {
      return "text";
    }
    if (Arrays.asList("float", "double", "int", "short", "long", "byte").contains(t)) {
      return "number";
    }
    if (t.equals(RUNTIME + "util.YailList") || t.equals("java.util.List")) {
      return "list";
    }
    if (t.equals(RUNTIME + "util.YailDictionary")) {
      return "dictionary";
    }
    if (t.equals("java.lang.Object")) {
      return "any";
    }
    TypeElement componentType =
        processingEnv.getElementUtils().getTypeElement(RUNTIME + "Component");
    if (componentType != null && processingEnv.getTypeUtils().isAssignable(
        processingEnv.getTypeUtils().erasure(type),
        processingEnv.getTypeUtils().erasure(componentType.asType()))) {
      return "component";
    }
    error(where, "Cannot convert Java type '" + t + "' to a YAIL type");
    return "any";
  }

  private List<String> assets(TypeElement component) {
    Set<String> names = new TreeSet<String>();
    String listFile = processingEnv.getOptions().get(ASSET_LIST);
    if (listFile != null && !listFile.isEmpty()) {
      try {
        for (String line : Files.readAllLines(new File(listFile).toPath(),
            Charset.forName("UTF-8"))) {
          if (!line.trim().isEmpty()) {
            names.add(line.trim());
          }
        }
      } catch (IOException e) {
        error(component, "cannot read " + ASSET_LIST + " " + listFile + ": " + e);
      }
    } else {
      UsesAssets ua = component.getAnnotation(UsesAssets.class);
      if (ua != null) {
        names.addAll(split(ua.fileNames()));
      }
    }
    return new ArrayList<String>(names);
  }

  private Set<String> permissions(TypeElement component) {
    Set<String> names = new TreeSet<String>();
    List<Element> holders = new ArrayList<Element>();
    holders.add(component);
    holders.addAll(component.getEnclosedElements());
    for (Element e : holders) {
      UsesPermissions up = e.getAnnotation(UsesPermissions.class);
      if (up != null) {
        names.addAll(split(up.permissionNames()));
        for (String v : up.value()) {
          names.addAll(split(v));
        }
      }
    }
    Set<String> full = new LinkedHashSet<String>();
    for (String n : names) {
      full.add(n.contains(".") ? n : "android.permission." + n);
    }
    return full;
  }

  private static List<String> split(String commaSeparated) {
    List<String> out = new ArrayList<String>();
    for (String s : commaSeparated.split(",")) {
      if (!s.trim().isEmpty()) {
        out.add(s.trim());
      }
    }
    return out;
  }

  private String dateBuilt() {
    String iso = processingEnv.getOptions().get(DATE_BUILT);
    Date date;
    if (iso == null || iso.isEmpty()) {
      date = new Date();
    } else {
      try {
        SimpleDateFormat in = new SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ssX");
        date = in.parse(iso);
      } catch (java.text.ParseException e) {
        throw new IllegalArgumentException(DATE_BUILT + " is not an ISO-8601 instant: " + iso);
      }
    }
    SimpleDateFormat out = new SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ssZ");
    out.setTimeZone(TimeZone.getTimeZone("UTC"));
    return out.format(date);
  }

  private void writeOutputs() throws IOException {
    String outDir = processingEnv.getOptions().get(OUT_DIR);
    if (outDir == null) {
      processingEnv.getMessager().printMessage(Diagnostic.Kind.NOTE,
          "pac: no -A" + OUT_DIR + "; descriptors not written");
      return;
    }
    File dir = new File(outDir);
    File files = new File(dir, "files");
    if (!files.isDirectory() && !files.mkdirs()) {
      throw new IOException("cannot create " + files);
    }
    write(new File(dir, "components.json"), Json.write(descriptors));
    write(new File(files, "component_build_infos.json"), Json.write(buildInfos));
  }

  private static void write(File file, String ascii) throws IOException {
    OutputStream out = Files.newOutputStream(file.toPath());
    try {
      out.write(ascii.getBytes(Charset.forName("US-ASCII")));
    } finally {
      out.close();
    }
  }

  // ---------------------------------------------------------------- bridge constants

  @SuppressWarnings("unchecked")
  private void generateBridgeConstants(String bridgePath) throws IOException {
    String pkg = processingEnv.getOptions().get(BRIDGE_PACKAGE);
    if (pkg == null || pkg.isEmpty()) {
      throw new IllegalArgumentException("-A" + BRIDGE_PACKAGE + " is required with -A"
          + BRIDGE_JSON);
    }
    String text = new String(Files.readAllBytes(new File(bridgePath).toPath()), "UTF-8");
    Map<String, Object> bridge = (Map<String, Object>) Json.parse(text);
    String source = BridgeConstantsSource.render(pkg, bridge);
    JavaFileObject file = processingEnv.getFiler().createSourceFile(pkg + ".BridgeConstants");
    Writer w = file.openWriter();
    try {
      w.write(source);
    } finally {
      w.close();
    }
  }
}
