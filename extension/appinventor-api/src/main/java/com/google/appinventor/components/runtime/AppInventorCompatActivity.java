package com.google.appinventor.components.runtime;

import android.app.Activity;

/**
 * Upstream: runtime/AppInventorCompatActivity.java, {@code public class AppInventorCompatActivity
 * extends Activity implements AppCompatCallback} (the interface is omitted).
 */
public class AppInventorCompatActivity extends Activity {
}
