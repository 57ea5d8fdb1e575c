/*
 * pac classifier page: load the model, then classify clips sent by the App Inventor component.
 *
 * Start-up: read model/pac.json (labels + feature configuration; when that file does not exist
 * the manifest built into the page is used), pick a TensorFlow.js backend, load MobileNet
 * (mobilenet/model.json) cut at the manifest's cut layer and the head (model/model.json), warm
 * both up, then call the bridge's ready(labelsJson) exactly once.  Any failure: error(2, ...).
 *
 * Java -> JS (names from bridge.json): window.pac.classifyWav(base64Wav) and
 * window.pac.classifyPcm(base64Float32, sampleRate).  Each call ends in exactly one bridge call:
 * reportResult('[[label, confidence], ...]') or error(code, message).  Clips are processed one
 * at a time in arrival order.
 *
 * Debugging / tests (not part of the bridge): window.pac.debugImage(base64Wav) resolves to the
 * uint8 RGB spectrogram image (row-major, image_size x image_size x 3) as base64, and
 * window.pac.info() returns {state, failure, backend, base, labels, features, timings, tfjs, tensors}.
 *
 * Watchdogs: a start-up that takes over LOAD_TIMEOUT_MS reports MODEL_LOAD_FAILED, a clip that
 * takes over CLIP_TIMEOUT_MS reports CLASSIFICATION_FAILED (and the queue moves on).
 *
 * Query parameters: ?backend=wasm|webgl|cpu forces one tfjs backend (else the first of
 * C.backends that initialises); ?base=layers runs MobileNet through the layers API instead of the
 * fused kernels of base.js.
 */
(function (root) {
  'use strict';

  const R = root.PacRuntime;
  const C = R.constants;
  const B = C.bridge;
  const PacRuntimeError = R.PacRuntimeError;
  const api = root[B.java_to_js.object];

  const LOAD_TIMEOUT_MS = 120000;
  const CLIP_TIMEOUT_MS = 30000;

  const state = {
    status: 'loading',  // -> 'ready' | 'failed'
    failure: null,
    backend: null,
    labels: null,
    config: null,
    base: null,
    head: null,
    timings: {},
    queue: Promise.resolve(),
  };

  function now() {
    return (root.performance && performance.now) ? performance.now() : Date.now();
  }

  function loadFailed(message) {
    return new PacRuntimeError('MODEL_LOAD_FAILED', message);
  }

  /** `promise`, or a rejection with PacRuntimeError(kind, message) after `ms` milliseconds. */
  function withTimeout(promise, ms, kind, message) {
    let timer;
    const timeout = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new PacRuntimeError(kind, message)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  // -- start-up ---------------------------------------------------------------------------------

  /** model/pac.json, or the built-in manifest if the file does not exist. */
  async function loadManifest() {
    const url = C.paths.manifest;
    let response;
    try {
      response = await fetch(url, {cache: 'no-store'});
    } catch (e) {
      response = null;  // not served at all: fall back
    }
    if (!response || response.status === 404) {
      const mdl = await loadMdlManifest();
      if (mdl) {
        return mdl;
      }
      console.warn('pac: ' + url + ' not found; using the built-in manifest');
      return {manifest: C.builtin_manifest, source: 'built-in manifest'};
    }
    if (!response.ok) {
      throw loadFailed(url + ': HTTP ' + response.status);
    }
    let text;
    try {
      text = await response.text();
      return {manifest: JSON.parse(text), source: url};
    } catch (e) {
      throw loadFailed(url + ': not valid JSON (' + e.message + ')');
    }
  }

  /**
   * A model from MIT's PAC site (.mdl entries under model/): a manifest made from
   * model_labels.json ({"0": label, ...}) and transfer_model.json, with the pac-compat features,
   * as pac.mdl.import does; null when there is no model_labels.json.
   */
  async function loadMdlManifest() {
    const D = C.mdl;
    let response;
    try {
      response = await fetch(D.labels, {cache: 'no-store'});
    } catch (e) {
      return null;
    }
    if (!response.ok) {
      return null;
    }
    let labelMap;
    let transfer;
    try {
      labelMap = JSON.parse(await response.text());
      const t = await fetch(D.transfer, {cache: 'no-store'});
      if (!t.ok) {
        throw new Error('HTTP ' + t.status);
      }
      transfer = JSON.parse(await t.text());
    } catch (e) {
      throw loadFailed(D.labels + ' / ' + D.transfer + ': unreadable (' + e.message + ')');
    }
    if (!labelMap || typeof labelMap !== 'object' || Array.isArray(labelMap)) {
      throw loadFailed(D.labels + ': must be an object like {"0": "label", "1": "label"}');
    }
    const keys = Object.keys(labelMap);
    const labels = [];
    for (let i = 0; i < keys.length; i++) {
      if (!Object.prototype.hasOwnProperty.call(labelMap, String(i))) {
        throw loadFailed(D.labels + ': keys must be "0" to "' + (keys.length - 1) + '" without gaps');
      }
      labels.push(labelMap[String(i)]);
    }
    const lastLayer = transfer && transfer.lastLayer;
    const manifest = {
      format: C.manifest.format,
      format_version: C.manifest.format_version,
      labels: labels,
      features: D.features,
      base: {name: transfer && transfer.name === 'mobilenet' ? C.manifest.base_name : String(transfer && transfer.name),
             cut_layer: lastLayer},
    };
    return {manifest: manifest, source: D.labels};
  }

  /** Check the manifest like pac.modeldir.read_manifest; returns {labels, config, cutLayer}. */
  function checkManifest(manifest, source) {
    const M = C.manifest;
    if (!manifest || typeof manifest !== 'object' || manifest.format !== M.format) {
      throw loadFailed(source + ': not a pac model manifest');
    }
    if (manifest.format_version !== M.format_version) {
      throw loadFailed(source + ': manifest version ' + manifest.format_version +
                       ' is not supported by this page (expects ' + M.format_version + ')');
    }
    const labels = manifest.labels;
    if (!Array.isArray(labels) || labels.length < 2 || !labels.every((x) => typeof x === 'string')) {
      throw loadFailed(source + ': labels must be a list of at least 2 strings');
    }
    if (new Set(labels).size !== labels.length) {
      throw loadFailed(source + ': labels are not unique');
    }
    const base = manifest.base || {};
    if (base.name !== M.base_name || base.cut_layer !== M.cut_layer) {
      throw loadFailed(source + ': trained on base ' + base.name + ':' + base.cut_layer +
                       ', this page supports ' + M.base_name + ':' + M.cut_layer);
    }
    const config = R.features.validateConfig(manifest.features, source + ' features');
    R.features.colormapLut(config.colormap);  // refuse an unknown colour map now
    return {labels: labels.slice(), config: config, cutLayer: base.cut_layer};
  }

  async function pickBackend() {
    if (typeof tf === 'undefined' || !tf.loadLayersModel) {
      throw loadFailed('TensorFlow.js did not load (' + C.paths.tfjs + ' missing?)');
    }
    const forced = new URLSearchParams(root.location.search).get('backend');
    const order = forced ? [forced] : C.backends;
    tf.enableProdMode();
    if (tf.wasm && tf.wasm.setWasmPaths) {
      // No threads: the page is not cross-origin isolated and the threaded binary is not shipped.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      tf.wasm.setWasmPaths(C.paths.wasm_prefix);
    }
    const tried = [];
    for (const name of order) {
      try {
        if (tf.findBackendFactory(name) && await tf.setBackend(name)) {
          await tf.ready();
          return name;
        }
        tried.push(name + ' (unavailable)');
      } catch (e) {
        tried.push(name + ' (' + R.oneLine(e && e.message || e) + ')');
      }
    }
    throw loadFailed('no TensorFlow.js backend could start: ' + tried.join(', '));
  }

  async function loadLayers(url, what) {
    try {
      return await tf.loadLayersModel(url);
    } catch (e) {
      throw loadFailed('cannot load ' + what + ' from ' + url + ': ' + (e && e.message || e));
    }
  }

  /** MobileNet from its input to the cut layer's output (see base.js). */
  async function loadBase(cutLayer) {
    const mode = new URLSearchParams(root.location.search).get('base') || 'fused';
    try {
      return await R.base.loadBase(C.paths.base, cutLayer, {mode: mode});
    } catch (e) {
      throw loadFailed('cannot load the MobileNet base from ' + C.paths.base + ': ' + (e && e.message || e));
    }
  }

  async function loadHead(labels, cutShape) {
    const head = await loadLayers(C.paths.head, 'the model');
    const input = head.inputs[0].shape.slice(1);
    if (input.join(',') !== cutShape.join(',')) {
      throw loadFailed(C.paths.head + ': head input [' + input + '] is not [' + cutShape + ']');
    }
    const outputs = head.outputs[0].shape[head.outputs[0].shape.length - 1];
    if (outputs !== labels.length) {
      throw loadFailed(C.paths.head + ': head has ' + outputs + ' outputs for ' + labels.length + ' labels');
    }
    return head;
  }

  /** Probabilities for one MobileNet input (Float32Array of size*size*3). */
  async function infer(input) {
    const size = state.config.image_size;
    const output = tf.tidy(() => state.head.predict(state.base.predict(tf.tensor4d(input, [1, size, size, 3]))));
    try {
      return await output.data();
    } finally {
      output.dispose();
    }
  }

  /** A synthetic 1 s chirp at 16 kHz through the whole pipeline (compiles, JITs, allocates). */
  async function warmUp() {
    const rate = 16000;
    const samples = new Float64Array(rate);
    for (let i = 0; i < rate; i++) samples[i] = 0.5 * Math.sin(2 * Math.PI * (200 + 0.2 * i) * i / rate);
    let input;
    try {
      input = R.features.modelInput(R.features.clipImage(samples, rate, state.config), state.config);
    } catch (e) {
      // A configuration that cannot analyse 16 kHz audio (e.g. f_min above 8 kHz): warm up tfjs only.
      input = new Float32Array(state.config.image_size * state.config.image_size * 3);
    }
    for (let round = 0; round < 2; round++) {
      await infer(input);
    }
  }

  async function start() {
    const t0 = now();
    const {manifest, source} = await loadManifest();
    const checked = checkManifest(manifest, source);
    state.labels = checked.labels;
    state.config = checked.config;
    state.backend = await pickBackend();
    const t1 = now();
    state.base = await loadBase(checked.cutLayer);
    state.head = await loadHead(state.labels, state.base.outputShape);
    const t2 = now();
    await warmUp();
    const t3 = now();
    state.timings = {backend_ms: t1 - t0, load_ms: t2 - t1, warmup_ms: t3 - t2, total_ms: t3 - t0};
    if (state.status !== 'loading') {
      return;  // the start-up watchdog has already reported MODEL_LOAD_FAILED
    }
    state.status = 'ready';
    console.log('pac: ready on ' + state.backend + ' in ' + Math.round(t3 - t0) + ' ms');
    R.callJava(B.js_to_java.ready, [JSON.stringify(state.labels)]);
  }

  // -- classification ----------------------------------------------------------------------------

  function decodeBase64(text, what) {
    if (typeof text !== 'string') {
      throw new PacRuntimeError('CLASSIFICATION_FAILED', what + ' must be a base64 string, not ' + typeof text);
    }
    let binary;
    try {
      binary = atob(text);
    } catch (e) {
      throw new PacRuntimeError('CLASSIFICATION_FAILED', what + ' is not valid base64');
    }
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function wavClip(base64Wav) {
    return R.wav.decodeWav(decodeBase64(base64Wav, 'the WAV clip'), 'clip');
  }

  function pcmClip(base64Float32, sampleRate) {
    const rate = Number(sampleRate);
    if (!Number.isInteger(rate) || rate < 1) {
      throw new PacRuntimeError('CLASSIFICATION_FAILED',
                                'sampleRate must be a positive whole number of Hz, not ' + sampleRate);
    }
    const bytes = decodeBase64(base64Float32, 'the PCM clip');
    if (bytes.length % 4 !== 0) {
      throw new PacRuntimeError('CLASSIFICATION_FAILED',
                                'the PCM clip has ' + bytes.length + ' bytes, not a whole number of float32 samples');
    }
    const view = new DataView(bytes.buffer);
    const samples = new Float64Array(bytes.length / 4);
    for (let i = 0; i < samples.length; i++) {
      samples[i] = view.getFloat32(4 * i, true);
      if (!Number.isFinite(samples[i])) {
        throw new PacRuntimeError('UNSUPPORTED_WAV', 'clip: contains non-finite float samples (NaN or infinity)');
      }
    }
    return {samples: samples, rate: rate, channels: 1, source: 'clip'};
  }

  /** Checked clip -> uint8 image. */
  function imageOf(clip) {
    const config = state.config;
    R.wav.checkClassifiable(clip, config.min_duration, config.silence_dbfs);
    return R.features.clipImage(clip.samples, clip.rate, config);
  }

  async function classify(clip) {
    const probabilities = await infer(R.features.modelInput(imageOf(clip), state.config));
    const labels = state.labels;
    const order = labels.map((_, i) => i);
    order.sort((a, b) => probabilities[b] - probabilities[a]);  // stable: ties keep label order
    return order.map((i) => [labels[i], probabilities[i]]);
  }

  function notReadyMessage() {
    if (state.status === 'failed') {
      return 'the classifier is not ready: the model failed to load (' + state.failure + ')';
    }
    return 'the classifier is not ready yet (wait for ClassifierReady)';
  }

  /** Queue one clip; exactly one bridge call (reportResult or error) per call. */
  function submit(makeClip) {
    if (state.status !== 'ready') {
      R.reportError('NOT_READY', notReadyMessage());
      return Promise.resolve();
    }
    const job = state.queue.then(async () => {
      try {
        // A stuck backend must not stall the queue for ever: one clip gets CLIP_TIMEOUT_MS.
        const result = await withTimeout(classify(makeClip()), CLIP_TIMEOUT_MS, 'CLASSIFICATION_FAILED',
                                         'classification timed out after ' + CLIP_TIMEOUT_MS / 1000 + ' s');
        R.callJava(B.js_to_java.reportResult, [JSON.stringify(result)]);
      } catch (err) {
        const [kind, message] = R.describe(err);
        R.reportError(kind, message);
      }
    });
    state.queue = job;
    return job;
  }

  api[B.java_to_js.classifyWav] = function (base64Wav) {
    return submit(() => wavClip(base64Wav));
  };

  api[B.java_to_js.classifyPcm] = function (base64Float32, sampleRate) {
    return submit(() => pcmClip(base64Float32, sampleRate));
  };

  function toBase64(bytes) {
    let binary = '';
    const chunk = 0x8000;
    for (let i = 0; i < bytes.length; i += chunk) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
    }
    return btoa(binary);
  }

  /** Debug: the uint8 RGB image for a WAV clip, as base64 (rejects with {code, name, message}). */
  api.debugImage = function (base64Wav) {
    return new Promise((resolve, reject) => {
      try {
        if (state.config === null) {
          throw new PacRuntimeError('NOT_READY', notReadyMessage());
        }
        resolve(toBase64(imageOf(wavClip(base64Wav))));
      } catch (err) {
        const [kind, message] = R.describe(err);
        reject({code: C.errors[kind], name: kind, message: message});
      }
    });
  };

  api.info = function () {
    return {
      state: state.status,
      failure: state.failure,
      backend: state.backend,
      base: state.base ? state.base.mode : null,
      labels: state.labels,
      features: state.config,
      timings: state.timings,
      tfjs: (typeof tf !== 'undefined' && tf.version) ? tf.version.tfjs : null,
      tensors: (typeof tf !== 'undefined' && tf.memory) ? tf.memory().numTensors : null,
    };
  };

  withTimeout(start(), LOAD_TIMEOUT_MS, 'MODEL_LOAD_FAILED',
              'loading the model timed out after ' + LOAD_TIMEOUT_MS / 1000 + ' s').catch((err) => {
    const [kind, message] = R.describe(err, 'MODEL_LOAD_FAILED');
    state.status = 'failed';
    state.failure = message;
    R.reportError(kind === 'CLASSIFICATION_FAILED' ? 'MODEL_LOAD_FAILED' : kind, message);
  });
})(window);
