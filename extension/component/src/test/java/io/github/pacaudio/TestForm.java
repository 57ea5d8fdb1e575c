package io.github.pacaudio;

import com.google.appinventor.components.runtime.Component;
import com.google.appinventor.components.runtime.Form;
import com.google.appinventor.components.runtime.OnDestroyListener;
import com.google.appinventor.components.runtime.OnPauseListener;
import com.google.appinventor.components.runtime.OnResumeListener;
import com.google.appinventor.components.runtime.PermissionResultHandler;
import com.google.appinventor.components.runtime.util.OnInitializeListener;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A Form for plain-JVM tests. android.app.Activity cannot be constructed off Android, so the
 * instance is allocated without running constructors (sun.misc.Unsafe) and every Form member the
 * component uses is overridden here. Events the component fires are recorded with the thread they
 * fired on.
 */
final class TestForm extends Form {
  /** One fired event. */
  static final class Fired {
    final String name;
    final Object[] args;
    final String thread;

    Fired(String name, Object[] args, String thread) {
      this.name = name;
      this.args = args;
      this.thread = thread;
    }

    @Override
    public String toString() {
      return name + java.util.Arrays.toString(args) + " on " + thread;
    }
  }

  // Initialised in create(): constructors and field initialisers do not run.
  LinkedBlockingQueue<Fired> events;
  LinkedBlockingQueue<Fired> screenErrors;
  Map<String, byte[]> extensionAssets;
  Map<String, byte[]> projectAssets;
  List<OnDestroyListener> destroyListeners;
  List<OnInitializeListener> initializeListeners;
  List<OnPauseListener> pauseListeners;
  List<OnResumeListener> resumeListeners;
  volatile Boolean grantPermission;
  volatile boolean handlesEvents;
  volatile RuntimeException assetFailure;
  File cacheDir;

  static TestForm create() {
    try {
      Field f = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
      f.setAccessible(true);
      Object unsafe = f.get(null);
      TestForm form = (TestForm) unsafe.getClass()
          .getMethod("allocateInstance", Class.class).invoke(unsafe, TestForm.class);
      form.events = new LinkedBlockingQueue<Fired>();
      form.screenErrors = new LinkedBlockingQueue<Fired>();
      form.extensionAssets = new ConcurrentHashMap<String, byte[]>();
      form.projectAssets = new ConcurrentHashMap<String, byte[]>();
      form.destroyListeners = new CopyOnWriteArrayList<OnDestroyListener>();
      form.initializeListeners = new CopyOnWriteArrayList<OnInitializeListener>();
      form.pauseListeners = new CopyOnWriteArrayList<OnPauseListener>();
      form.resumeListeners = new CopyOnWriteArrayList<OnResumeListener>();
      form.grantPermission = Boolean.TRUE;
      form.handlesEvents = true;
      form.cacheDir = java.nio.file.Files.createTempDirectory("pac-cache").toFile();
      return form;
    } catch (Exception e) {
      throw new AssertionError("cannot allocate a test Form", e);
    }
  }

  /** The next event, waiting up to 10 s. */
  Fired next() throws InterruptedException {
    Fired e = events.poll(10, TimeUnit.SECONDS);
    if (e == null) {
      throw new AssertionError("no event within 10 s");
    }
    return e;
  }

  /** The next event, which must have this name. */
  Fired next(String name) throws InterruptedException {
    Fired e = next();
    if (!e.name.equals(name)) {
      throw new AssertionError("expected " + name + " but got " + e);
    }
    return e;
  }

  @Override
  public boolean canDispatchEvent(Component component, String eventName) {
    return handlesEvents;
  }

  @Override
  public boolean dispatchEvent(Component component, String componentName, String eventName,
      Object[] args) {
    events.add(new Fired(eventName, args, Thread.currentThread().getName()));
    return true;
  }

  @Override
  public void dispatchErrorOccurredEvent(Component component, String functionName,
      int errorNumber, Object... messageArgs) {
    Object[] all = new Object[messageArgs.length + 1];
    all[0] = errorNumber;
    System.arraycopy(messageArgs, 0, all, 1, messageArgs.length);
    screenErrors.add(new Fired(functionName, all, Thread.currentThread().getName()));
  }

  @Override
  public void registerForOnDestroy(OnDestroyListener component) {
    destroyListeners.add(component);
  }

  @Override
  public void registerForOnInitialize(OnInitializeListener component) {
    initializeListeners.add(component);
  }

  @Override
  public void registerForOnPause(OnPauseListener component) {
    pauseListeners.add(component);
  }

  @Override
  public void registerForOnResume(OnResumeListener component) {
    resumeListeners.add(component);
  }

  /** What Form.onPause does: tell every registered listener (call it on the UI thread). */
  void pause() {
    for (OnPauseListener l : pauseListeners) {
      l.onPause();
    }
  }

  /** What Form.onResume does. */
  void resume() {
    for (OnResumeListener l : resumeListeners) {
      l.onResume();
    }
  }

  @Override
  public void askPermission(String permission, PermissionResultHandler handler) {
    handler.HandlePermissionResponse(permission, grantPermission);
  }

  @Override
  public InputStream openAsset(String asset) throws IOException {
    if (assetFailure != null) {
      throw assetFailure;
    }
    byte[] bytes = projectAssets.get(asset);
    if (bytes == null) {
      throw new FileNotFoundException(asset);
    }
    return new ByteArrayInputStream(bytes);
  }

  @Override
  public InputStream openAssetForExtension(Component component, String asset)
      throws IOException {
    byte[] bytes = extensionAssets.get(asset);
    if (bytes == null) {
      throw new FileNotFoundException(asset);
    }
    return new ByteArrayInputStream(bytes);
  }

  @Override
  public File getCacheDir() {
    return cacheDir;
  }
}
