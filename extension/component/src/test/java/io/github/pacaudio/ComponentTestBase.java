package io.github.pacaudio;

import org.junit.After;
import org.junit.Before;

/**
 * A fresh component on a {@link TestForm} with a {@link FakePlatform} for each test, created on the
 * fake UI thread and destroyed after the test.
 */
public abstract class ComponentTestBase {
  protected TestForm form;
  protected FakePlatform platform;
  protected PersonalAudioClassifier pac;

  @Before
  public void setUpComponent() throws Exception {
    form = TestForm.create();
    platform = new FakePlatform();
    platform.onUi(() -> pac = new PersonalAudioClassifier(form, platform));
  }

  @After
  public void tearDownComponent() throws Exception {
    platform.onUi(() -> pac.onDestroy());
    platform.uiThread.shutdownNow();
  }
}
