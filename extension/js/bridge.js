/*
 * pac classifier page: constants, the bridge to the App Inventor component, and the error guard.
 *
 * Loaded first, before TensorFlow.js, so that nothing can fail unreported.  The constants (bridge
 * names, error codes, feature-configuration schema, colour-map tables, built-in manifest) are
 * rendered by pac.runtime into the page as JSON data (<script type="application/json"
 * id="pac-constants">), never as script; this file only parses them.
 *
 * Java -> JS calls arrive on window[C.bridge.object] (window.pac); until classifier.js has loaded
 * and the model is ready they answer with the NOT_READY error.
 */
(function (root) {
  'use strict';

  const R = root.PacRuntime = root.PacRuntime || {};
  const element = document.getElementById('pac-constants');
  const C = R.constants = JSON.parse(element.textContent);
  const B = C.bridge;

  /** One readable line (the bridge's messages are shown to App Inventor users). */
  function oneLine(text) {
    return String(text).split(/\s+/).filter(Boolean).join(' ');
  }

  /**
   * Call a method of the Java interface object, or log the call when the page runs outside the
   * app (a desktop browser): never throws.
   */
  function callJava(method, args) {
    let target = null;
    try {
      target = root[B.javascript_interface];
    } catch (e) {
      target = null;
    }
    if (target && typeof target[method] === 'function') {
      try {
        target[method].apply(target, args);
      } catch (e) {
        console.error('pac: the bridge call ' + method + ' failed: ' + e);
      }
    } else {
      console.log('pac: (no ' + B.javascript_interface + ' bridge) ' + method + ' ' +
                  JSON.stringify(args));
    }
  }

  /** Report an error by its bridge.json name (e.g. "NOT_WAV") with a one-line message. */
  function reportError(name, message) {
    const code = C.errors[name];
    if (typeof code !== 'number') {
      throw new Error('pac: unknown error name ' + name);
    }
    const line = oneLine(message) || name;
    console.warn('pac: error ' + code + ' (' + name + '): ' + line);
    callJava(B.js_to_java.error, [code, line]);
  }

  /** An error with a bridge.json error name attached (kind), thrown by the pipeline. */
  class PacRuntimeError extends Error {
    constructor(kind, message) {
      super(oneLine(message));
      this.name = 'PacRuntimeError';
      this.kind = kind;
    }
  }

  /** Map anything thrown to [name, message]: our own errors keep their kind, the rest are bugs. */
  function describe(err, fallbackKind) {
    if (err instanceof PacRuntimeError) {
      return [err.kind, err.message];
    }
    const text = (err && (err.message || err.toString && err.toString())) || String(err);
    return [fallbackKind || 'CLASSIFICATION_FAILED', text];
  }

  R.oneLine = oneLine;
  R.callJava = callJava;
  R.reportError = reportError;
  R.PacRuntimeError = PacRuntimeError;
  R.describe = describe;

  // Nothing may escape unreported: uncaught errors and rejections become CLASSIFICATION_FAILED.
  root.addEventListener('error', function (event) {
    if (event && event.target && event.target !== root && event.target.src) {
      // A <script> that failed to load (404): reported by the init code as MODEL_LOAD_FAILED.
      console.error('pac: could not load ' + event.target.src);
      return;
    }
    const where = event && event.filename ? ' (' + event.filename + ':' + event.lineno + ')' : '';
    const error = event && event.error;
    const text = (error && error.message) || (event && event.message) || 'unknown';
    reportError('CLASSIFICATION_FAILED', 'uncaught error: ' + text + where);
  }, true);
  root.addEventListener('unhandledrejection', function (event) {
    const reason = event && event.reason;
    const text = (reason && (reason.message || String(reason))) || 'unknown reason';
    reportError('CLASSIFICATION_FAILED', 'unhandled promise rejection: ' + text);
    if (event && event.preventDefault) {
      event.preventDefault();
    }
  });

  // Entry points answer NOT_READY until classifier.js replaces them.
  const api = root[B.java_to_js.object] = root[B.java_to_js.object] || {};
  function notReady() {
    reportError('NOT_READY', 'the classifier is not ready yet (wait for ClassifierReady)');
  }
  api[B.java_to_js.classifyWav] = notReady;
  api[B.java_to_js.classifyPcm] = notReady;
  api[B.java_to_js.startStream] = notReady;
  // Stream chunks and stops before the page is ready are ignored (startStream already answered).
  api[B.java_to_js.pushPcm] = function () {};
  api[B.java_to_js.stopStream] = function () {};
})(window);
