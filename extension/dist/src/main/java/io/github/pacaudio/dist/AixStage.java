package io.github.pacaudio.dist;

import com.android.dx.command.dexer.DxContext;
import com.android.dx.command.dexer.Main;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Enumeration;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import javax.imageio.ImageIO;

/**
 * Stages the component's build outputs for the .aix packager, checking what App Inventor
 * requires on the way:
 * <pre>
 *   AixStage COMPONENT_JAR DESCRIPTORS_DIR STAGE_DIR OUTPUT_TIMESTAMP
 * </pre>
 * AndroidRuntime.jar must hold only Java 8 (major 52) classes of the component's package; classes.jar
 * is a jar holding the classes.dex that dx makes from it (fixed timestamp, so reproducible); the
 * descriptors must be ASCII and must not ask for INTERNET; the icon is drawn here.
 */
public final class AixStage {
  static final String PACKAGE_PATH = "io/github/pacaudio/";
  static final String ICON = "aiwebres/pac.png";

  private AixStage() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      throw new IllegalArgumentException(
          "usage: AixStage COMPONENT_JAR DESCRIPTORS_DIR STAGE_DIR OUTPUT_TIMESTAMP");
    }
    Path jar = Paths.get(args[0]);
    Path descriptors = Paths.get(args[1]);
    Path stage = Paths.get(args[2]).toAbsolutePath().normalize();
    LocalDateTime time = OffsetDateTime.parse(args[3]).withOffsetSameInstant(ZoneOffset.UTC)
        .toLocalDateTime();

    int classes = checkRuntimeJar(jar);
    Files.createDirectories(stage.resolve("aiwebres"));
    Files.copy(jar, stage.resolve("AndroidRuntime.jar"), StandardCopyOption.REPLACE_EXISTING);

    byte[] dex = dex(jar, stage);
    int defined = checkDex(dex);
    if (defined != classes) {
      throw new IllegalStateException("classes.dex defines " + defined + " classes, the jar has "
          + classes);
    }
    writeJar(stage.resolve("classes.jar"), "classes.dex", dex, time);

    for (String[] d : new String[][] {
        {"components.json", "components.json"},
        {"files/component_build_infos.json", "component_build_infos.json"}}) {
      byte[] json = Files.readAllBytes(descriptors.resolve(d[0]));
      checkDescriptor(d[0], json);
      Files.write(stage.resolve(d[1]), json);
    }
    Files.write(stage.resolve("extension.properties"),
        "type=external\n".getBytes(StandardCharsets.US_ASCII));
    Files.write(stage.resolve(ICON), icon());
    System.out.println("pac: staged the component for the .aix packager in " + stage
        + " (" + classes + " classes)");
  }

  /** Java 8 class files of our package only; returns the number of classes. */
  static int checkRuntimeJar(Path jar) throws IOException {
    int classes = 0;
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      Enumeration<? extends ZipEntry> entries = zip.entries();
      while (entries.hasMoreElements()) {
        ZipEntry e = entries.nextElement();
        String name = e.getName();
        if (e.isDirectory() || name.equals("META-INF/MANIFEST.MF")) {
          continue;
        }
        if (!name.startsWith(PACKAGE_PATH) || !name.endsWith(".class")
            || name.substring(PACKAGE_PATH.length()).contains("/")) {
          throw new IllegalStateException(jar + ": unexpected entry " + name);
        }
        byte[] head = new byte[8];
        try (java.io.InputStream in = zip.getInputStream(e)) {
          if (in.readNBytes(head, 0, 8) != 8) {
            throw new IllegalStateException(name + ": truncated class file");
          }
        }
        ByteBuffer b = ByteBuffer.wrap(head);
        int magic = b.getInt();
        b.getShort();
        int major = b.getShort() & 0xffff;
        if (magic != 0xCAFEBABE || major != 52) {
          throw new IllegalStateException(name + ": class file major version " + major
              + ", App Inventor needs 52 (Java 8)");
        }
        classes++;
      }
    }
    if (classes == 0) {
      throw new IllegalStateException(jar + " holds no classes");
    }
    return classes;
  }

  static byte[] dex(Path jar, Path stage) throws IOException {
    Path out = Files.createTempFile(stage, "classes", ".dex");
    try {
      DxContext context = new DxContext();
      Main.Arguments arguments = new Main.Arguments(context);
      arguments.strictNameCheck = false;  // dx --no-strict, as App Inventor's dexExtension
      arguments.numThreads = 1;
      arguments.outName = out.toString();
      arguments.fileNames = new String[] {jar.toString()};
      arguments.makeOptionsObjects();
      int rc = new Main(context).runDx(arguments);
      if (rc != 0) {
        throw new IllegalStateException("dx failed with code " + rc);
      }
      return Files.readAllBytes(out);
    } finally {
      Files.deleteIfExists(out);
    }
  }

  /** Checks the dex header; returns class_defs_size. */
  static int checkDex(byte[] dex) {
    String magic = new String(dex, 0, 4, StandardCharsets.US_ASCII);
    if (!magic.equals("dex\n")) {
      throw new IllegalStateException("dx wrote no dex file");
    }
    ByteBuffer b = ByteBuffer.wrap(dex).order(ByteOrder.LITTLE_ENDIAN);
    if (b.getInt(32) != dex.length) {
      throw new IllegalStateException("dex file_size mismatch");
    }
    return b.getInt(96);
  }

  static void writeJar(Path path, String name, byte[] data, LocalDateTime time)
      throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      ZipEntry e = new ZipEntry(name);
      e.setTimeLocal(time);
      zip.putNextEntry(e);
      zip.write(data);
      zip.closeEntry();
    }
    Files.write(path, bytes.toByteArray());
  }

  static void checkDescriptor(String name, byte[] json) {
    for (byte c : json) {
      if (c < 0) {
        throw new IllegalStateException(name + " is not ASCII");
      }
    }
    String text = new String(json, StandardCharsets.US_ASCII);
    if (text.contains("android.permission.INTERNET")) {
      throw new IllegalStateException(name + " asks for INTERNET; pac works offline");
    }
  }

  /** A 32x32 palette icon: white sound bars on a teal tile (no antialiasing: reproducible). */
  static byte[] icon() throws IOException {
    System.setProperty("java.awt.headless", "true");
    BufferedImage image = new BufferedImage(32, 32, BufferedImage.TYPE_INT_ARGB);
    Graphics2D g = image.createGraphics();
    try {
      g.setColor(new Color(0x00, 0x79, 0x6b));
      g.fillRoundRect(0, 0, 32, 32, 10, 10);
      g.setColor(Color.WHITE);
      int[] heights = {6, 14, 22, 12, 18, 8};
      for (int i = 0; i < heights.length; i++) {
        int x = 5 + i * 4;
        g.fillRect(x, 16 - heights[i] / 2, 2, heights[i]);
      }
    } finally {
      g.dispose();
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (!ImageIO.write(image, "png", out)) {
      throw new IOException("no PNG writer");
    }
    return out.toByteArray();
  }

}
