// One script on purpose (issue 15): start-up, classification and streaming share the page's one `state`.
/*
 * pac classifier page: load the model, then classify clips sent by the App Inventor component.
 *
 * Start-up: read model/pac.json (labels, feature configuration and head; when that file does not
 * exist the manifest built into the page is used) and check it like pac.modeldir.read_manifest,
 * pick a TensorFlow.js backend, load the networks the model runs -- MobileNet
 * (mobilenet/model.json, cut at the manifest's cut layer) for PAC's conv head or a MobileNet
 * block (mobilenet, mobilenet_rows), the speech embedding (speech/graph.json + speech/weights.bin) for the speech block -- and
 * the head (model/model.json), warm them up, then call the bridge's ready(labelsJson) exactly once.
 * Any failure, also a model that needs a network this page does not ship (C.networks): error(2, ...).
 *
 * A clip, from the bridge to the answer (the classification half of this file reads top-down):
 *
 *   classifyWav(base64) / classifyPcm(base64, rate) -> submit -> classify(clip):
 *     checkClassifiable, then the analysis window (features.js analysisWindow) -> headInput:
 *       conv head (format 1):   window -> spectrogram image -> MobileNet -> [1, 7, 7, 256]
 *       linear head (format 2): the blocks of head.blocks side by side -> [1, d]
 *         speech:    window -> speech.js speechSequence -> speech_net.js embedSequence [n, 96] -> mean, max
 *         mobilenet: window -> spectrogram image -> MobileNet [1, 7, 7, 256] -> mean over 7 x 7
 *         mobilenet_rows: the same activations -> mean over the 7 columns (time) of each row [7 x 256]
 *     -> the head -> probabilities -> [[label, confidence], ...] most confident first -> reportResult
 *
 * exactly as pac.classifier.Classifier (pac.blocks) computes it in Python.
 *
 * Java -> JS (names from bridge.json): window.pac.classifyWav(base64Wav) and
 * window.pac.classifyPcm(base64Float32, sampleRate).  Each call ends in exactly one bridge call:
 * reportResult('[[label, confidence], ...]') or error(code, message).  Clips are processed one
 * at a time in arrival order.
 *
 * Debugging / tests (not part of the bridge): window.pac.debugImage(base64Wav) resolves to the
 * uint8 RGB spectrogram image (row-major, image_size x image_size x 3) as base64, and
 * window.pac.info() returns {state, failure, backend, base, head, blocks, networks, labels, features,
 * timings, tfjs, tensors}; timings holds the start-up times and, in last_clip, the milliseconds of
 * the last clip's parts: window_ms (analysis window), <block>_ms for each block of a linear head
 * (speech_ms, mobilenet_ms, mobilenet_rows_ms: from the window to its values) or mobilenet_ms
 * (MobileNet's activations) for a conv head, head_ms, total_ms.
 *
 * Continuous listening (bridge.json "listening", js/listen.js): startStream(sampleRate, threshold,
 * minimumIntervalMs), pushPcm(base64Float32) per chunk, stopStream(); a detection is a
 * heard(label, confidence) call.  window.pac.streamStats() / streamDetections() / streamIdle() are
 * for tests.
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
    model: null,        // checkManifest's {kind, blocks, networks, cutLayer, speechBase}
    base: null,         // MobileNet (base.js), when the model runs it
    speechNet: null,    // the speech embedding (speech_net.js), when the model runs it
    head: null,
    timings: {},
    queue: Promise.resolve(),
    stream: null,       // the continuous-listening stream (listen.js), while there is one
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

  /**
   * Check the manifest like pac.modeldir.read_manifest.  Returns {labels, config, model} where
   * model = {kind: 'conv' | 'linear', blocks (linear: block names in input order, else []),
   * inputShape (the head's input without the batch dimension; a conv head's is MobileNet's output,
   * set once MobileNet is loaded), networks (the names of the networks it runs, keys of
   * C.networks), cutLayer, speechBase}.
   */
  function checkManifest(manifest, source) {
    const M = C.manifest;
    if (!manifest || typeof manifest !== 'object' || manifest.format !== M.format) {
      throw loadFailed(source + ': not a pac model manifest');
    }
    const version = manifest.format_version;
    if (M.format_versions.indexOf(version) < 0) {
      throw loadFailed(source + ': manifest version ' + version + ' is not supported by this page (expects ' +
                       M.format_versions.join(' or ') + ')');
    }
    const labels = manifest.labels;
    if (!Array.isArray(labels) || labels.length < 2 || !labels.every((x) => typeof x === 'string')) {
      throw loadFailed(source + ': labels must be a list of at least 2 strings');
    }
    if (labels.length > C.limits.max_labels) {
      throw loadFailed(source + ': ' + labels.length.toLocaleString('en-US') + ' labels, more than the limit of ' +
                       C.limits.max_labels.toLocaleString('en-US'));
    }
    if (new Set(labels).size !== labels.length) {
      throw loadFailed(source + ': labels are not unique');
    }
    const linear = version === M.linear_format_version;
    const blocks = linear ? checkLinearHead(manifest.head, source) : [];
    // The networks the model runs: MobileNet for PAC's conv head, else its blocks' (pac.blocks.NETWORK).
    const networks = linear ? blockNetworks(blocks) : ['mobilenet'];
    const base = manifest.base || {};
    if (typeof base !== 'object' || Array.isArray(base)) {
      throw loadFailed(source + ': base must be an object naming the MobileNet the model was trained on');
    }
    if (networks.indexOf('mobilenet') >= 0 && (base.name !== M.base_name || base.cut_layer !== M.cut_layer)) {
      throw loadFailed(source + ': trained on base ' + base.name + ':' + base.cut_layer +
                       ', this page supports ' + M.base_name + ':' + M.cut_layer);
    }
    let speechBase = null;
    if (networks.indexOf('speech') >= 0) {
      speechBase = manifest.speech_base;
      if (!speechBase || typeof speechBase !== 'object' || speechBase.name !== M.speech_base_name) {
        throw loadFailed(source + ': the speech block needs speech_base ' + M.speech_base_name);
      }
      if (M.speech_weights.indexOf(speechBase.weights) < 0) {
        throw loadFailed(source + ': speech_base weights must be ' + M.speech_weights.join(' or '));
      }
    }
    const config = R.features.validateConfig(manifest.features, source + ' features');
    if (linear && config.method === 'pac-compat') {
      throw loadFailed(source + ': a linear head cannot use the pac-compat features (MIT\'s models are conv heads)');
    }
    R.features.colormapLut(config.colormap);  // refuse an unknown colour map now
    return {
      labels: labels.slice(),
      config: config,
      model: {kind: linear ? 'linear' : 'conv', blocks: blocks, networks: networks,
              inputShape: linear ? manifest.head.input_shape.slice() : null,
              cutLayer: base.cut_layer, speechBase: speechBase},
    };
  }

  function blockSize(name) {
    return C.manifest.blocks.filter((b) => b.name === name)[0].size;
  }

  /** The networks the named blocks run, each once, in C.manifest.blocks' order. */
  function blockNetworks(names) {
    const out = [];
    for (const b of C.manifest.blocks) {
      if (names.indexOf(b.name) >= 0 && out.indexOf(b.network) < 0) out.push(b.network);
    }
    return out;
  }

  /** The block names of a format-2 head, checked like pac.modeldir._linear_head. */
  function checkLinearHead(head, source) {
    const M = C.manifest;
    if (!head || typeof head !== 'object' || head.kind !== 'linear') {
      throw loadFailed(source + ': head.kind must be "linear" in a version ' + M.linear_format_version + ' manifest');
    }
    const blocks = head.blocks;
    if (!Array.isArray(blocks) || blocks.length === 0 ||
        !blocks.every((b) => b !== null && typeof b === 'object' && !Array.isArray(b))) {
      throw loadFailed(source + ': head.blocks must be a non-empty list of blocks');
    }
    const known = M.blocks.map((b) => b.name);
    const names = blocks.map((b) => b.name);
    const inOrder = known.filter((name) => names.indexOf(name) >= 0);
    if (names.length !== inOrder.length || !names.every((name, i) => name === inOrder[i])) {
      throw loadFailed(source + ': head.blocks must name ' + known.join(' and/or ') + ', each once, in that order');
    }
    let total = 0;
    for (const block of blocks) {
      if (block.size !== blockSize(block.name)) {
        throw loadFailed(source + ': block ' + block.name + ' must have size ' + blockSize(block.name));
      }
      total += block.size;
    }
    const shape = head.input_shape;
    if (!Array.isArray(shape) || shape.length !== 1 || shape[0] !== total) {
      throw loadFailed(source + ': head.input_shape must be [' + total + ']');
    }
    return names;
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

  /** A network the model runs but this page does not ship (e.g. a model swapped in at run time). */
  function notShipped(network) {
    const what = network === 'speech' ? 'the speech embedding network (' + C.paths.speech_graph + ')'
      : 'the MobileNet base (' + C.paths.base + ')';
    return loadFailed('this model needs ' + what + ', which this extension does not include (it was built ' +
                      'for a model that does not use it); package this model with pac build');
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

  /** The speech embedding network (see speech_net.js), checked against the manifest's speech_base. */
  async function loadSpeechNet(speechBase) {
    let net;
    try {
      net = await R.speechNet.load(C.paths.speech_graph, C.paths.speech_weights);
    } catch (e) {
      throw loadFailed('cannot load the speech embedding network: ' + (e && e.message || e));
    }
    if (typeof speechBase.sha256 === 'string' && net.graph.sha256 !== speechBase.sha256) {
      net.dispose();
      throw loadFailed(C.paths.speech_graph + ': the model was trained on another ' + speechBase.name +
                       ' network (sha256 ' + speechBase.sha256.slice(0, 12) + '..., this page has ' +
                       String(net.graph.sha256).slice(0, 12) + '...)');
    }
    if (net.weights !== speechBase.weights) {
      net.dispose();
      throw loadFailed(C.paths.speech_graph + ': the page has the ' + net.weights + ' speech network, the model ' +
                       'runs the ' + speechBase.weights + ' one; package this model with pac build');
    }
    return net;
  }

  /** The networks the model runs (refused at once when the page does not ship one). */
  async function loadNetworks(model) {
    const missing = model.networks.filter((name) => !C.networks[name]);
    if (missing.length) {
      throw notShipped(missing[0]);
    }
    if (model.networks.indexOf('mobilenet') >= 0) {
      state.base = await loadBase(model.cutLayer);
    }
    if (model.networks.indexOf('speech') >= 0) {
      state.speechNet = await loadSpeechNet(model.speechBase);
    }
  }

  async function loadHead(labels, inputShape) {
    const head = await loadLayers(C.paths.head, 'the model');
    const input = head.inputs[0].shape.slice(1);
    if (input.join(',') !== inputShape.join(',')) {
      throw loadFailed(C.paths.head + ': head input [' + input + '] is not [' + inputShape + ']');
    }
    const outputs = head.outputs[0].shape[head.outputs[0].shape.length - 1];
    if (outputs !== labels.length) {
      throw loadFailed(C.paths.head + ': head has ' + outputs + ' outputs for ' + labels.length + ' labels');
    }
    return head;
  }

  /**
   * A synthetic 1 s chirp at 16 kHz through the whole pipeline, twice (compiles, JITs, allocates
   * every network the model runs).
   */
  async function warmUp() {
    const rate = 16000;
    const samples = new Float64Array(rate);
    for (let i = 0; i < rate; i++) samples[i] = 0.5 * Math.sin(2 * Math.PI * (200 + 0.2 * i) * i / rate);
    for (let round = 0; round < 2; round++) {
      try {
        await infer(R.features.analysisWindow(samples, rate, state.config), rate, {});
      } catch (e) {
        if (!(e instanceof PacRuntimeError)) {
          throw e;
        }
        // A configuration that cannot analyse 16 kHz audio (e.g. f_min above 8 kHz): warm up tfjs only.
        await warmUpOnZeros();
      }
    }
  }

  /** Every network and the head on zeros of their input shapes. */
  async function warmUpOnZeros() {
    const size = state.config.image_size;
    const output = tf.tidy(() => {
      const outputs = [];
      if (state.base) outputs.push(tf.sum(state.base.predict(tf.zeros([1, size, size, 3]))));
      const K = C.features.speech_front_end;
      if (state.speechNet) outputs.push(tf.sum(state.speechNet.embed(tf.zeros([1, K.window_frames, K.n_bands, 1]))));
      outputs.push(tf.sum(state.head.predict(tf.zeros([1].concat(state.model.inputShape)))));
      return tf.stack(outputs);
    });
    try {
      await output.data();
    } finally {
      output.dispose();
    }
  }

  async function start() {
    const t0 = now();
    const {manifest, source} = await loadManifest();
    const checked = checkManifest(manifest, source);
    state.labels = checked.labels;
    state.config = checked.config;
    state.model = checked.model;
    state.backend = await pickBackend();
    const t1 = now();
    await loadNetworks(state.model);
    if (state.model.kind === 'conv') {
      state.model.inputShape = state.base.outputShape;  // the head takes MobileNet's activations
    }
    state.head = await loadHead(state.labels, state.model.inputShape);
    const t2 = now();
    await warmUp();
    const t3 = now();
    state.timings = {backend_ms: t1 - t0, load_ms: t2 - t1, warmup_ms: t3 - t2, total_ms: t3 - t0, last_clip: null};
    if (state.status !== 'loading') {
      return;  // the start-up watchdog has already reported MODEL_LOAD_FAILED
    }
    state.status = 'ready';
    console.log('pac: ready on ' + state.backend + ' in ' + Math.round(t3 - t0) + ' ms');
    R.callJava(B.js_to_java.ready, [JSON.stringify(state.labels)]);
  }

  // -- classification ----------------------------------------------------------------------------

  api[B.java_to_js.classifyWav] = function (base64Wav) {
    return submit(() => wavClip(base64Wav));
  };

  api[B.java_to_js.classifyPcm] = function (base64Float32, sampleRate) {
    return submit(() => pcmClip(base64Float32, sampleRate));
  };

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

  // -- continuous listening (js/listen.js) -------------------------------------------------------

  /**
   * startStream(sampleRate, threshold, minimumIntervalMs): a new stream (any earlier one stops);
   * pushPcm(base64Float32) feeds it; stopStream() ends it.  Each detection is one heard(label,
   * confidence) bridge call; failures are error calls (NO_BACKGROUND_LABEL when the model has no
   * background label, which also refuses the stream).  Windows are classified one at a time on the
   * same queue as clips.
   */
  api[B.java_to_js.startStream] = function (sampleRate, threshold, minimumIntervalMs) {
    stopStream();
    if (state.status !== 'ready') {
      R.reportError('NOT_READY', notReadyMessage());
      return false;
    }
    let settings;
    try {
      settings = R.listen.settings(sampleRate, {threshold: threshold, minimumIntervalMs: minimumIntervalMs});
    } catch (e) {
      R.reportError('CLASSIFICATION_FAILED', 'startStream: ' + e.message);
      return false;
    }
    if (state.labels.indexOf(settings.background) < 0) {
      R.reportError('NO_BACKGROUND_LABEL', 'continuous listening needs a model with a ' + settings.background +
                    ' label (recordings of nothing in particular); this model has ' + state.labels.join(', '));
      return false;
    }
    const stream = new R.listen.Stream({
      settings: settings,
      labels: state.labels,
      classify: streamWindow,
      onHeard: (found) => R.callJava(B.js_to_java.heard, [found.label, found.confidence]),
      onError: (err) => {
        const [kind, message] = R.describe(err);
        stream.stop();
        R.reportError(kind, 'continuous listening stopped: ' + message);
      },
    });
    state.stream = stream;
    return true;
  };

  api[B.java_to_js.pushPcm] = function (base64Float32) {
    const stream = state.stream;
    if (!stream || stream.stopped) {
      return;  // a chunk still on its way after stopStream
    }
    let samples;
    try {
      samples = float32Samples(decodeBase64(base64Float32, 'the PCM chunk'), 'the PCM chunk');
    } catch (err) {
      const [kind, message] = R.describe(err);
      R.reportError(kind, message);
      return;
    }
    stream.push(samples);
  };

  api[B.java_to_js.stopStream] = stopStream;

  function stopStream() {
    if (state.stream) {
      state.stream.stop();
    }
  }

  /** Debugging / tests: the stream's counters (null without a stream) and its idle promise. */
  api.streamStats = function () {
    return state.stream ? state.stream.stats() : null;
  };
  api.streamDetections = function () {
    return state.stream ? state.stream.log.slice() : [];
  };
  api.streamIdle = function () {
    return state.stream ? state.stream.idle() : Promise.resolve();
  };

  /** One window of the stream -> probabilities in label order, or null when it is silent. */
  function streamWindow(samples, rate) {
    const job = state.queue.then(async () => {
      const config = state.config;
      const clip = {samples: samples, rate: rate, channels: 1, source: 'window'};
      try {
        R.wav.checkClassifiable(clip, config.min_duration, config.silence_dbfs);
      } catch (e) {
        if (e instanceof PacRuntimeError && e.kind === 'SILENT_AUDIO') {
          return null;
        }
        throw e;
      }
      const times = {};
      const t0 = now();
      const probabilities = await withTimeout(infer(R.features.analysisWindow(samples, rate, config), rate, times),
                                              CLIP_TIMEOUT_MS, 'CLASSIFICATION_FAILED', 'a window timed out');
      times.total_ms = now() - t0;
      state.timings.last_window = times;
      return probabilities;
    });
    state.queue = job.catch(() => undefined);
    return job;
  }

  /** A decoded clip -> [[label, confidence], ...], most confident first (pac.classifier.ranked). */
  async function classify(clip) {
    const config = state.config;
    R.wav.checkClassifiable(clip, config.min_duration, config.silence_dbfs);
    const times = {};
    const t0 = now();
    const window = R.features.analysisWindow(clip.samples, clip.rate, config);
    times.window_ms = now() - t0;
    const probabilities = await infer(window, clip.rate, times);
    times.total_ms = now() - t0;
    state.timings.last_clip = times;
    const labels = state.labels;
    const order = labels.map((_, i) => i);
    order.sort((a, b) => probabilities[b] - probabilities[a]);  // stable: ties keep label order
    return order.map((i) => [labels[i], probabilities[i]]);
  }

  /** The analysis window (at `rate`) -> probabilities in label order; `times` gets each part's ms. */
  async function infer(window, rate, times) {
    const input = await headInput(window, rate, times);
    const t0 = now();
    try {
      return await values(tf.tidy(() => state.head.predict(input)));
    } finally {
      input.dispose();
      times.head_ms = now() - t0;
    }
  }

  /**
   * The head's input as a tensor: MobileNet's activations [1, 7, 7, 256] for a conv head; for a
   * linear head the values of its blocks, in the manifest's order, side by side [1, d].
   */
  async function headInput(window, rate, times) {
    if (state.model.kind === 'conv') {
      const t0 = now();
      const activations = mobilenetActivations(window, rate);
      times.mobilenet_ms = now() - t0;
      return activations;
    }
    const parts = [];
    for (const block of state.model.blocks) {
      const t0 = now();
      parts.push(await BLOCKS[block](window, rate));
      times[block + '_ms'] = now() - t0;
    }
    return tf.tensor2d(concatenate(parts), [1, state.model.inputShape[0]]);
  }

  /** The feature blocks of pac.blocks: window -> Float32Array of C.manifest.blocks' size. */
  const BLOCKS = {
    /**
     * The 16 kHz log-mel sequence -> one pass of the network -> an embedding [96] per 76-frame
     * window every speech_hop_frames -> their mean, then their max (192 values).
     */
    speech: async function speechBlock(window, rate) {
      const K = C.features.speech_front_end;
      const sequence = R.speech.speechSequence(window, rate, state.config);
      return values(tf.tidy(() => {
        const embeddings = state.speechNet.embedSequence(sequence, sequence.length / K.n_bands,
                                                         state.config.speech_hop_frames);
        return tf.concat([tf.mean(embeddings, 0), tf.max(embeddings, 0)]);
      }));
    },
    /** MobileNet's activations averaged over the 7 x 7 positions (256 values). */
    mobilenet: async function mobilenetBlock(window, rate) {
      return values(tf.tidy(() => tf.mean(mobilenetActivations(window, rate), [1, 2])));
    },
    /** MobileNet's activations averaged over time: 7 frequency rows x 256 channels, row by row (1,792). */
    mobilenet_rows: async function mobilenetRowsBlock(window, rate) {
      return values(tf.tidy(() => tf.mean(mobilenetActivations(window, rate), 2).reshape([-1])));
    },
  };

  /** Window -> spectrogram image -> MobileNet input -> activations [1, 7, 7, 256] (caller disposes). */
  function mobilenetActivations(window, rate) {
    const config = state.config;
    const size = config.image_size;
    const input = R.features.modelInput(R.features.spectrogramImage(window, rate, config), config);
    return tf.tidy(() => state.base.predict(tf.tensor4d(input, [1, size, size, 3])));
  }

  /** A tensor's values (Float32Array); the tensor is disposed. */
  async function values(tensor) {
    try {
      return await tensor.data();
    } finally {
      tensor.dispose();
    }
  }

  function concatenate(arrays) {
    const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of arrays) {
      out.set(a, at);
      at += a.length;
    }
    return out;
  }

  function notReadyMessage() {
    if (state.status === 'failed') {
      return 'the classifier is not ready: the model failed to load (' + state.failure + ')';
    }
    return 'the classifier is not ready yet (wait for ClassifierReady)';
  }

  // -- decoding the bridge's arguments -----------------------------------------------------------

  function wavClip(base64Wav) {
    R.wav.checkSize(base64Bytes(base64Wav), 'clip');  // refused before a byte is decoded
    return R.wav.decodeWav(decodeBase64(base64Wav, 'the WAV clip'), 'clip');
  }

  function pcmClip(base64Float32, sampleRate) {
    const rate = Number(sampleRate);
    if (!Number.isInteger(rate) || rate < 1) {
      throw new PacRuntimeError('CLASSIFICATION_FAILED',
                                'sampleRate must be a positive whole number of Hz, not ' + sampleRate);
    }
    R.wav.checkSize(base64Bytes(base64Float32), 'the PCM clip', 'PCM clip', 'CLASSIFICATION_FAILED');
    const samples = float32Samples(decodeBase64(base64Float32, 'the PCM clip'), 'the PCM clip');
    return {samples: samples, rate: rate, channels: 1, source: 'clip'};
  }

  /** Little-endian float32 bytes -> Float64Array (finite values only). */
  function float32Samples(bytes, what) {
    if (bytes.length % 4 !== 0) {
      throw new PacRuntimeError('CLASSIFICATION_FAILED',
                                what + ' has ' + bytes.length + ' bytes, not a whole number of float32 samples');
    }
    const view = new DataView(bytes.buffer);
    const samples = new Float64Array(bytes.length / 4);
    for (let i = 0; i < samples.length; i++) {
      samples[i] = view.getFloat32(4 * i, true);
      if (!Number.isFinite(samples[i])) {
        throw new PacRuntimeError('UNSUPPORTED_WAV', 'clip: contains non-finite float samples (NaN or infinity)');
      }
    }
    return samples;
  }

  /** How many bytes base64 text stands for, read from its length (nothing decoded); 0 for a non-string. */
  function base64Bytes(text) {
    if (typeof text !== 'string') return 0;
    const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
    return Math.floor(text.length / 4) * 3 + [0, 0, 1, 2][text.length % 4] - pad;
  }

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

  // -- debugging ---------------------------------------------------------------------------------

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
        const clip = wavClip(base64Wav);
        R.wav.checkClassifiable(clip, state.config.min_duration, state.config.silence_dbfs);
        resolve(toBase64(R.features.clipImage(clip.samples, clip.rate, state.config)));
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
      head: state.model ? state.model.kind : null,
      blocks: state.model ? state.model.blocks : null,
      networks: state.model ? state.model.networks : null,
      speech: state.speechNet ? state.speechNet.weights : null,
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
