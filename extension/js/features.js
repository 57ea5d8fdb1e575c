// One script on purpose (issue 15): it mirrors pac.features' functional.py and pipeline.py section by section.
/*
 * Clip -> spectrogram image -> MobileNet input, for ANY feature configuration.
 *
 * A port of compiler/pac/features/functional.py and pipeline.py, operation by operation, in
 * float64 (JS numbers), with the same explicit roundings (floor(x + 0.5)).  Nothing here is a
 * constant of a particular profile: every parameter comes from the configuration object (the
 * `features` of the model's pac.json, checked and completed by validateConfig against the schema
 * pac.runtime renders from pac.features.config).
 *
 * Where the numbers can differ from numpy by an ulp: the FFT (a radix-2 FFT here, pocketfft in
 * numpy), the mel and resize matrix products (summed in index order here, by BLAS there), and
 * libm's cos/log10/pow.  The 8-bit image is therefore identical except, very rarely, a pixel
 * whose value lies within ~1e-12 of a rounding boundary.
 */
(function (root) {
  'use strict';

  const R = root.PacRuntime;
  const PacRuntimeError = R.PacRuntimeError;
  const C = R.constants;

  const POWER_FLOOR = C.features.power_floor;
  const CHUNK_SECONDS = C.features.chunk_seconds;
  // pac.features.config.PCM_BITS (not in the page constants; the conformance cases pin it).
  const PCM_BITS = [8, 16];
  const pairwiseSum = R.wav.pairwiseSum;
  // The other feature methods' (FeatureConfig.method) pipelines, registered by their own files
  // (pac_compat.js) through registerMethod(name, {analysisWindow, spectrogramImage}); "pac" is
  // this file's.  Python's registry is pac.features.methods (compat.py registers "pac-compat").
  const METHOD_IMPLEMENTATIONS = {};

  function registerMethod(name, implementation) {
    METHOD_IMPLEMENTATIONS[name] = implementation;
  }

  function otherMethod(config) {
    return Object.prototype.hasOwnProperty.call(METHOD_IMPLEMENTATIONS, config.method)
      ? METHOD_IMPLEMENTATIONS[config.method] : null;
  }

  function roundHalfUp(x) {
    return Math.floor(x + 0.5);
  }

  function nextPow2(n) {
    let p = 1;
    while (p < n) p *= 2;
    return p;
  }

  // -- configuration ---------------------------------------------------------------------------

  /** Python's ``f"{x:g}"``: 6 significant digits, exponent form below 1e-4 or from 1e6. */
  function formatG(x) {
    if (x === 0) return '0';
    const exponent = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(6)))));
    if (exponent < -4 || exponent >= 6) {
      const [mantissa, power] = x.toExponential(5).split('e');
      const digits = mantissa.replace(/\.?0+$/, '');
      const sign = power[0] === '-' ? '-' : '+';
      const magnitude = power.replace(/^[+-]/, '');
      return digits + 'e' + sign + (magnitude.length < 2 ? '0' + magnitude : magnitude);
    }
    return x.toPrecision(6).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
  }

  /** A JSON string as Python's repr shows it (quotes and control characters escaped). */
  function pythonString(s) {
    const quote = s.indexOf("'") >= 0 && s.indexOf('"') < 0 ? '"' : "'";
    const escapes = {'\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t'};
    let out = quote;
    for (const ch of s) {
      const code = ch.codePointAt(0);
      if (ch === quote) out += '\\' + ch;
      else if (escapes[ch]) out += escapes[ch];
      else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
      else out += ch;
    }
    return out + quote;
  }

  /** A JSON number as Python shows it after json.loads: integers as ints, others as repr(float). */
  function pythonNumber(x) {
    if (Number.isInteger(x) && Math.abs(x) < 1e16) return String(x);
    if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
    const [mantissa, power] = x.toExponential().split('e');
    const exponent = Number(power);
    if (exponent < -4 || exponent >= 16) {
      return mantissa + 'e' + (exponent < 0 ? '-' : '+') + String(Math.abs(exponent)).padStart(2, '0');
    }
    const text = String(x);
    return text.indexOf('.') >= 0 ? text : text + '.0';
  }

  /** A JSON value as Python's repr shows it (null None, true True, 'text', [1, 2], {'a': 1}). */
  function pythonRepr(value) {
    if (value === null) return 'None';
    if (typeof value === 'boolean') return value ? 'True' : 'False';
    if (typeof value === 'number') return pythonNumber(value);
    if (typeof value === 'string') return pythonString(value);
    if (Array.isArray(value)) return '[' + value.map(pythonRepr).join(', ') + ']';
    return '{' + Object.keys(value).map((k) => pythonString(k) + ': ' + pythonRepr(value[k])).join(', ') + '}';
  }

  /** A wrong-typed field value as pac.features.config._shown shows it (at most 60 characters). */
  function shownValue(value) {
    const text = pythonRepr(value);
    return text.length <= 60 ? text : text.slice(0, 57) + '...';
  }

  /** A value as pac.features.config._number shows it (whole-number fields as integers). */
  function shownNumber(value, kind) {
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    if (kind.replace('?', '') === 'int') return String(value);
    const g = formatG(value);
    return Number(g) === value ? g : String(value);
  }

  /** Fields outside pac.limits.CONFIG_BOUNDS, in Python's order and words. */
  function boundProblems(config, schema) {
    const problems = [];
    for (const name of schema.bound_order) {
      const [low, high, lowText, highText] = schema.bounds[name];
      const value = config[name];
      if (value === null) {
        if (!schema.kinds[name].endsWith('?')) problems.push(name + ' must be a number, not null');
      } else if (!(value >= low && value <= high)) {
        problems.push(name + ' must be from ' + lowText + ' to ' + highText + ', not ' +
                      shownNumber(value, schema.kinds[name]));
      }
    }
    return problems;
  }

  /** Add "<key> must be one of ..." to problems unless value is one of choices. */
  function oneOf(problems, key, value, choices) {
    if (choices.indexOf(value) < 0) {
      problems.push(key + ' must be one of ' + choices.join(', '));
    }
  }

  /** pac.features.config._compat_problems: the method and the pac-compat fields, in its order. */
  function compatProblems(config, schema) {
    const problems = [];
    oneOf(problems, 'method', config.method, schema.choices.method);
    if (config.mpl_nfft < 2 || !(config.mpl_noverlap >= 0 && config.mpl_noverlap < config.mpl_nfft)) {
      problems.push('need mpl_nfft >= 2 and 0 <= mpl_noverlap < mpl_nfft');
    }
    oneOf(problems, 'pcm_bits', config.pcm_bits, PCM_BITS);
    if (config.mpl_pixels < 1 || config.mpl_pixels % 3 === 0) {
      problems.push('mpl_pixels must be positive and not a multiple of 3');
    }
    if (config.browser_size < 1 || config.mpl_pixels % config.browser_size !== 0 ||
        Math.floor(config.mpl_pixels / config.browser_size) % 2 === 0) {
      problems.push('mpl_pixels must be an odd multiple of browser_size');
    }
    oneOf(problems, 'downscale', config.downscale, schema.choices.downscale);
    return problems;
  }

  /**
   * Check a `features` object like FeatureConfig.from_dict + __post_init__, with Python's words
   * in Python's order: unknown keys and wrong types are refused, missing keys take the defaults,
   * then the bounds, the schema version, the choices, the relations, the pac-compat fields and the
   * speech hop.  Returns a new, complete object.
   */
  function validateConfig(data, source) {
    const schema = C.features.schema;
    const bad = (text) => new PacRuntimeError('MODEL_LOAD_FAILED', source + ': ' + text);
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw bad('expected a JSON object');
    }
    const unknown = Object.keys(data).filter((k) => !(k in schema.kinds)).sort();
    if (unknown.length) {
      throw bad('unknown field(s) ' + unknown.join(', '));
    }
    const config = Object.assign({}, schema.defaults);
    for (const key of Object.keys(data)) {
      let kind = schema.kinds[key];
      const value = data[key];
      if (value === null && kind.endsWith('?')) {
        config[key] = null;
        continue;
      }
      kind = kind.replace('?', '');
      // JSON.parse reads 1e400 as Infinity, Python's json as inf: a float then, refused by the bounds.
      const number = typeof value === 'number' && !Number.isNaN(value);
      if ((kind === 'str' && typeof value === 'string') || (kind === 'float' && number) ||
          (kind === 'int' && number && Number.isInteger(value))) {
        config[key] = value;
      } else {
        throw bad('field ' + key + ' must be ' + schema.kind_names[kind] + ', not ' + shownValue(value));
      }
    }
    // Bounds first (pac.limits.CONFIG_BOUNDS): the relations below assume numbers within them.
    const problems = boundProblems(config, schema);
    if (problems.length) {
      throw bad('invalid feature configuration: ' + problems.join('; '));
    }
    if (config.schema_version !== schema.schema_version) {
      problems.push('schema_version ' + config.schema_version + ' is not ' + schema.schema_version);
    }
    for (const key of ['freq_scale', 'window_select', 'colormap']) {
      oneOf(problems, key, config[key], schema.choices[key]);
    }
    if (config.window_seconds !== null && config.window_seconds <= config.frame_seconds) {
      problems.push('window_seconds must be longer than frame_seconds');
    }
    if (config.window_seconds !== null && config.max_window_seconds < config.window_seconds) {
      problems.push('max_window_seconds must be at least window_seconds');
    }
    if (!(config.f_min >= 0 && config.f_min < config.f_max)) {
      problems.push('need 0 <= f_min < f_max');
    }
    if (config.f_limit !== null && !(config.f_min < config.f_limit)) {
      problems.push('need f_min < f_limit');
    }
    if (config.f_limit !== null && config.method !== 'pac') {
      problems.push('f_limit is for method pac only');
    }
    problems.push(...compatProblems(config, schema));
    if (config.speech_hop_frames % 8 !== 0) {
      problems.push("speech_hop_frames must be a positive multiple of 8 (the speech network's stride)");
    }
    if (problems.length) {
      throw bad('invalid feature configuration: ' + problems.join('; '));
    }
    // A configuration without the field is the "pac" pipeline.
    const method = config.method === undefined ? 'pac' : config.method;
    if (method !== 'pac' && !Object.prototype.hasOwnProperty.call(METHOD_IMPLEMENTATIONS, method)) {
      throw bad('feature method ' + JSON.stringify(method) + ' is not implemented by this page (it runs ' +
                ['pac'].concat(Object.keys(METHOD_IMPLEMENTATIONS)).join(', ') + ')');
    }
    return config;
  }

  // -- analysis window -------------------------------------------------------------------------

  /** Mean square of each 10 ms chunk, summed pairwise like numpy (functional.chunk_mean_squares). */
  function chunkMeanSquares(x, rate) {
    const n = x.length;
    const chunk = Math.max(1, roundHalfUp(CHUNK_SECONDS * rate));
    const nChunks = Math.ceil(n / chunk);
    const squares = new Float64Array(chunk);
    const out = new Float64Array(nChunks);
    for (let c = 0; c < nChunks; c++) {
      const lo = c * chunk;
      const hi = Math.min(lo + chunk, n);
      squares.fill(0);
      for (let i = lo; i < hi; i++) squares[i - lo] = x[i] * x[i];
      out[c] = (0.0 + pairwiseSum(squares, 0, chunk)) / (hi - lo);
    }
    return out;
  }

  /** Drop every 10 ms chunk whose RMS is below thresholdDbfs (functional.trim_silence). */
  function trimSilence(x, rate, thresholdDbfs) {
    const n = x.length;
    const chunk = Math.max(1, roundHalfUp(CHUNK_SECONDS * rate));
    const limit = Math.pow(10.0, thresholdDbfs / 10.0);
    const meanSquares = chunkMeanSquares(x, rate);
    const keep = [];
    let kept = 0;
    for (let c = 0; c < meanSquares.length; c++) {
      if (meanSquares[c] >= limit) {
        keep.push(c);
        kept += Math.min((c + 1) * chunk, n) - c * chunk;
      }
    }
    if (keep.length === 0) {
      return Float64Array.from(x);
    }
    const out = new Float64Array(kept);
    let at = 0;
    for (const c of keep) {
      const piece = x.subarray(c * chunk, Math.min((c + 1) * chunk, n));
      out.set(piece, at);
      at += piece.length;
    }
    return out;
  }

  /** [first, stop): first to last 10 ms chunk within belowPeakDb of the loudest (functional.active_span). */
  function activeSpan(x, rate, belowPeakDb) {
    const chunk = Math.max(1, roundHalfUp(CHUNK_SECONDS * rate));
    const meanSquares = chunkMeanSquares(x, rate);
    let peak = -Infinity;
    for (const m of meanSquares) if (m > peak) peak = m;
    const limit = peak * Math.pow(10.0, -belowPeakDb / 10.0);
    let first = -1;
    let last = -1;
    for (let c = 0; c < meanSquares.length; c++) {
      if (meanSquares[c] >= limit) {
        if (first < 0) first = c;
        last = c;
      }
    }
    return [first * chunk, Math.min(x.length, (last + 1) * chunk)];
  }

  /** [start, length] of the window showing the sound (functional.active_window). */
  function activeWindow(x, rate, minLength, maxLength, belowPeakDb) {
    const [first, stop] = activeSpan(x, rate, belowPeakDb);
    const span = stop - first;
    if (span <= minLength) {
      let start = Math.floor((first + stop) / 2) - Math.floor(minLength / 2);
      if (x.length > minLength) start = Math.min(Math.max(start, 0), x.length - minLength);
      return [start, minLength];
    }
    if (span <= maxLength) return [first, span];
    return [first + windowStart(x.subarray(first, stop), rate, maxLength, 'energy'), maxLength];
  }

  /** First sample of the analysis window; negative = zeros before the clip (functional.window_start). */
  function windowStart(x, rate, length, select) {
    const n = x.length;
    if (n <= length) {
      return -Math.floor((length - n) / 2);
    }
    if (select === 'start') {
      return 0;
    }
    if (select === 'center') {
      return Math.floor((n - length) / 2);
    }
    const step = Math.max(1, roundHalfUp(CHUNK_SECONDS * rate));
    const cumulative = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) cumulative[i + 1] = cumulative[i] + x[i] * x[i];
    const last = n - length;
    let best = 0;
    let bestEnergy = -Infinity;
    const consider = (s) => {
      const energy = cumulative[s + length] - cumulative[s];
      if (energy > bestEnergy) {  // the first start wins ties, as numpy's argmax
        bestEnergy = energy;
        best = s;
      }
    };
    let s = 0;
    for (; s <= last; s += step) consider(s);
    if (s - step !== last) consider(last);
    return best;
  }

  /** x[start:start+length] with zeros outside x (functional.cut). */
  function cut(x, start, length) {
    const out = new Float64Array(length);
    const lo = Math.max(start, 0);
    const hi = Math.min(start + length, x.length);
    if (hi > lo) out.set(x.subarray(lo, hi), lo - start);
    return out;
  }

  /** The samples that become the image, at the clip's own rate (pipeline.analysis_window). */
  function analysisWindow(samples, rate, config) {
    const other = otherMethod(config);
    if (other) return other.analysisWindow(samples, rate, config);
    let x = samples;
    if (config.trim_silence_dbfs !== null) {
      x = trimSilence(x, rate, config.trim_silence_dbfs);
    }
    if (config.window_seconds === null) {
      return x;
    }
    let length = roundHalfUp(config.window_seconds * rate);
    let start;
    if (config.window_select === 'active') {
      [start, length] = activeWindow(x, rate, length, roundHalfUp(config.max_window_seconds * rate),
                                     config.active_db);
    } else {
      start = windowStart(x, rate, length, config.window_select);
    }
    return cut(x, start, length);
  }

  // -- spectrum ---------------------------------------------------------------------------------

  const cache = new Map();

  function cached(key, make) {
    if (!cache.has(key)) {
      if (cache.size > 64) cache.clear();
      cache.set(key, make());
    }
    return cache.get(key);
  }

  /** Periodic Hann window 0.5 - 0.5 cos(2 pi k / n) (functional.hann). */
  function hann(n) {
    return cached('hann:' + n, () => {
      const w = new Float64Array(n);
      for (let k = 0; k < n; k++) w[k] = 0.5 - 0.5 * Math.cos(2.0 * Math.PI * k / n);
      return w;
    });
  }

  /** Radix-2 complex FFT plan of size n: bit reversal and twiddles exp(-2 pi i k / n). */
  function fftPlan(n) {
    return cached('fft:' + n, () => {
      const bits = Math.round(Math.log2(n));
      const reverse = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        let r = 0;
        for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
        reverse[i] = r;
      }
      const half = Math.max(1, n / 2);
      const cos = new Float64Array(half);
      const sin = new Float64Array(half);
      for (let k = 0; k < half; k++) {
        cos[k] = Math.cos(2.0 * Math.PI * k / n);
        sin[k] = Math.sin(2.0 * Math.PI * k / n);
      }
      return {n: n, reverse: reverse, cos: cos, sin: sin};
    });
  }

  /** In-place forward complex FFT (radix-2, decimation in time) of re + i im. */
  function fft(re, im, plan) {
    const n = plan.n;
    const reverse = plan.reverse;
    const cosTable = plan.cos;
    const sinTable = plan.sin;
    for (let i = 0; i < n; i++) {
      const j = reverse[i];
      if (j > i) {
        let t = re[i]; re[i] = re[j]; re[j] = t;
        t = im[i]; im[i] = im[j]; im[j] = t;
      }
    }
    for (let size = 2; size <= n; size *= 2) {
      const half = size / 2;
      const step = n / size;
      for (let j = 0; j < half; j++) {
        const c = cosTable[j * step];
        const s = sinTable[j * step];
        for (let a = j; a < n; a += size) {
          const b = a + half;
          // (re[b] + i im[b]) * (c - i s)
          const tr = re[b] * c + im[b] * s;
          const ti = im[b] * c - re[b] * s;
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] += tr;
          im[a] += ti;
        }
      }
    }
  }

  /**
   * |rfft(x, n)|^2 for bins 0..n/2 into out, x real of length n (zero-padded by the caller).
   * Computed with one complex FFT of size n/2 on (even + i odd) samples.
   */
  function realPowerSpectrum(x, n, out, work) {
    if (n < 4) {
      for (let k = 0; k <= n / 2; k++) {
        let sr = 0;
        let si = 0;
        for (let t = 0; t < n; t++) {
          sr += x[t] * Math.cos(2.0 * Math.PI * k * t / n);
          si -= x[t] * Math.sin(2.0 * Math.PI * k * t / n);
        }
        out[k] = sr * sr + si * si;
      }
      return;
    }
    const m = n / 2;
    const re = work.re;
    const im = work.im;
    for (let j = 0; j < m; j++) {
      re[j] = x[2 * j];
      im[j] = x[2 * j + 1];
    }
    fft(re, im, fftPlan(m));
    const twiddle = fftPlan(n);  // exp(-2 pi i k / n) for k < n/2
    // k = 0 and k = n/2: X = E +- O with E = Re Z0, O = Im Z0.
    out[0] = (re[0] + im[0]) * (re[0] + im[0]);
    out[m] = (re[0] - im[0]) * (re[0] - im[0]);
    for (let k = 1; k < m; k++) {
      const zr = re[k];
      const zi = im[k];
      const cr = re[m - k];
      const ci = -im[m - k];  // conj(Z[m-k])
      const er = 0.5 * (zr + cr);
      const ei = 0.5 * (zi + ci);
      // O = (Z - conj(Z[m-k])) / 2i
      const or = 0.5 * (zi - ci);
      const oi = -0.5 * (zr - cr);
      const c = twiddle.cos[k];
      const s = twiddle.sin[k];
      // X = E + (c - i s) O
      const xr = er + or * c + oi * s;
      const xi = ei + oi * c - or * s;
      out[k] = xr * xr + xi * xi;
    }
  }

  /** Frame starts spread evenly over the signal (functional.frame_starts). */
  function frameStarts(nSamples, frameLength, nFrames) {
    const span = Math.max(0, nSamples - frameLength);
    const starts = new Int32Array(nFrames);
    for (let i = 0; i < nFrames; i++) starts[i] = Math.floor(i * span / (nFrames - 1) + 0.5);
    return starts;
  }

  /**
   * Hann-windowed power spectra |rfft(frame * hann, nFft)|^2 (functional.power_spectrogram):
   * row-major Float64Array of nFrames rows of nFft/2+1 bins.
   */
  function powerSpectrogram(x, frameLength, nFrames, nFft) {
    if (x.length < frameLength) {
      x = cut(x, 0, frameLength);
    }
    const starts = frameStarts(x.length, frameLength, nFrames);
    const window = hann(frameLength);
    const nBins = nFft / 2 + 1;
    const buffer = new Float64Array(nFft);
    const work = {re: new Float64Array(nFft / 2), im: new Float64Array(nFft / 2)};
    const out = new Float64Array(nFrames * nBins);
    for (let f = 0; f < nFrames; f++) {
      const s = starts[f];
      for (let t = 0; t < frameLength; t++) buffer[t] = x[s + t] * window[t];
      realPowerSpectrum(buffer, nFft, out.subarray(f * nBins, (f + 1) * nBins), work);
    }
    return out;
  }

  function hzToMel(f) {
    return 2595.0 * Math.log10(1.0 + f / 700.0);
  }

  function melToHz(m) {
    return 700.0 * (Math.pow(10.0, m / 2595.0) - 1.0);
  }

  /**
   * HTK-mel triangles (functional.mel_filterbank) as sparse rows: for each band the first bin
   * and the weights of its non-zero run.  Bins above fLimit (when not null) weigh 0.
   */
  function melFilterbank(rate, nFft, nBands, fMin, fMax, fLimit) {
    const limit = topHz(fLimit);
    return cached(['mel', rate, nFft, nBands, fMin, fMax, limit].join(':'), () => {
      const melLo = hzToMel(fMin);
      const melHi = hzToMel(fMax);
      const edges = new Float64Array(nBands + 2);
      for (let j = 0; j < nBands + 2; j++) edges[j] = melToHz(melLo + j * (melHi - melLo) / (nBands + 1));
      return triangleBands(edges, rate, nFft, false, limit);
    });
  }

  /**
   * Triangular filters between consecutive band edges (Hz) over the FFT bins 0..nFft/2 at `rate`,
   * as sparse rows {first, weights} (the non-zero run of each band).  `slaney` scales each band by
   * 2 / (upper - lower), librosa's norm="slaney" (speech.js's front end).  Bins above `limit` Hz
   * (when given and not null) weigh 0.
   */
  function triangleBands(edges, rate, nFft, slaney, limit) {
    const top = topHz(limit);
    const nBins = nFft / 2 + 1;
    const bands = [];
    for (let b = 0; b < edges.length - 2; b++) {
      const lower = edges[b];
      const center = edges[b + 1];
      const upper = edges[b + 2];
      const weights = new Float64Array(nBins);
      let first = -1;
      let last = -1;
      for (let k = 0; k < nBins; k++) {
        const bin = k * rate / nFft;
        if (bin > top) break;
        const rising = (bin - lower) / (center - lower);
        const falling = (upper - bin) / (upper - center);
        // numpy's minimum/maximum propagate NaN; Math.min/max do too.
        let w = Math.max(0.0, Math.min(rising, falling));
        if (slaney) w *= 2.0 / (upper - lower);
        weights[k] = w;
        if (w !== 0) {
          if (first < 0) first = k;
          last = k;
        }
      }
      bands.push(first < 0 ? {first: 0, weights: new Float64Array(0)}
                           : {first: first, weights: weights.slice(first, last + 1)});
    }
    return bands;
  }

  /** An f_limit as the highest frequency (Hz) that counts: null or missing is no limit (Infinity). */
  function topHz(fLimit) {
    return fLimit === undefined || fLimit === null ? Infinity : fLimit;
  }

  /**
   * [first, stop) FFT bins with f_min <= k rate / nFft <= min(f_max, rate / 2, f_limit)
   * (functional.linear_bin_range; fLimit null: no limit).
   */
  function linearBinRange(rate, nFft, fMin, fMax, fLimit) {
    const top = Math.min(fMax, rate / 2.0, topHz(fLimit));
    let first = -1;
    let last = -1;
    for (let k = 0; k <= nFft / 2; k++) {
      const f = k * rate / nFft;
      if (f >= fMin && f <= top) {
        if (first < 0) first = k;
        last = k;
      }
    }
    if (first < 0) {
      throw new PacRuntimeError('CLASSIFICATION_FAILED',
                                'no FFT bin lies between f_min and f_max at ' + rate + ' Hz');
    }
    return [first, last + 1];
  }

  /** Power -> dB -> 0..1 in place (functional.unit_decibels). */
  function unitDecibels(values, dbRange) {
    const n = values.length;
    let top = -Infinity;
    let bottom = Infinity;
    for (let i = 0; i < n; i++) {
      const db = 10.0 * Math.log10(Math.max(values[i], POWER_FLOOR));
      values[i] = db;
      if (db > top) top = db;
      if (db < bottom) bottom = db;
    }
    const floorDb = 10.0 * Math.log10(POWER_FLOOR);
    if (top <= floorDb) {
      values.fill(0);
      return values;
    }
    if (dbRange === null) {
      if (top === bottom) {
        values.fill(0);
        return values;
      }
      for (let i = 0; i < n; i++) values[i] = (values[i] - bottom) / (top - bottom);
      return values;
    }
    for (let i = 0; i < n; i++) values[i] = (Math.max(values[i] - top, -dbRange) + dbRange) / dbRange;
    return values;
  }

  /** Half-pixel-centred linear interpolation along one axis (functional.linear_resize_matrix), sparse. */
  function resizeTaps(nIn, nOut) {
    return cached('taps:' + nIn + ':' + nOut, () => {
      const taps = [];
      for (let o = 0; o < nOut; o++) {
        const s = Math.min(Math.max((o + 0.5) * nIn / nOut - 0.5, 0.0), nIn - 1);
        const i0 = Math.floor(s);
        const i1 = Math.min(i0 + 1, nIn - 1);
        const frac = s - i0;
        if (i0 === i1) {
          taps.push({i0: i0, w0: (1.0 - frac) + frac, i1: i1, w1: 0.0, same: true});
        } else {
          taps.push({i0: i0, w0: 1.0 - frac, i1: i1, w1: frac, same: false});
        }
      }
      return taps;
    });
  }

  /** (rows @ image) @ cols.T for a row-major image of h x w (functional.resize_bilinear). */
  function resizeBilinear(image, h, w, height, width) {
    const rowTaps = resizeTaps(h, height);
    const colTaps = resizeTaps(w, width);
    const mid = new Float64Array(height * w);
    for (let o = 0; o < height; o++) {
      const t = rowTaps[o];
      const a = t.i0 * w;
      const b = t.i1 * w;
      for (let c = 0; c < w; c++) {
        mid[o * w + c] = t.same ? t.w0 * image[a + c] : t.w0 * image[a + c] + t.w1 * image[b + c];
      }
    }
    const out = new Float64Array(height * width);
    for (let r = 0; r < height; r++) {
      const base = r * w;
      for (let p = 0; p < width; p++) {
        const t = colTaps[p];
        out[r * width + p] = t.same ? t.w0 * mid[base + t.i0]
                                    : t.w0 * mid[base + t.i0] + t.w1 * mid[base + t.i1];
      }
    }
    return out;
  }

  /** power @ bank.T, flipped so that row 0 is the highest band: (nBands, nFrames) row-major. */
  function melBands(power, nFrames, nBins, bank) {
    const nBands = bank.length;
    const grid = new Float64Array(nBands * nFrames);
    for (let f = 0; f < nFrames; f++) {
      const offset = f * nBins;
      for (let b = 0; b < nBands; b++) {
        const first = offset + bank[b].first;
        const weights = bank[b].weights;
        let sum = 0.0;
        for (let k = 0; k < weights.length; k++) sum += power[first + k] * weights[k];
        grid[(nBands - 1 - b) * nFrames + f] = sum;
      }
    }
    return grid;
  }

  /** power[:, first:stop], transposed and flipped: (stop - first, nFrames) row-major. */
  function linearBands(power, nFrames, nBins, first, stop) {
    const nRows = stop - first;
    const grid = new Float64Array(nRows * nFrames);
    for (let f = 0; f < nFrames; f++) {
      for (let k = first; k < stop; k++) grid[(nRows - 1 - (k - first)) * nFrames + f] = power[f * nBins + k];
    }
    return grid;
  }

  /** 0..1 -> levels floor(v * 255 + 0.5) clipped to 0..255 -> RGB through the LUT (or grey). */
  function quantizeColorize(unit, lut) {
    const n = unit.length;
    const rgb = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      const level = Math.min(255, Math.max(0, Math.floor(unit[i] * 255.0 + 0.5)));
      if (lut === null) {
        rgb[3 * i] = level;
        rgb[3 * i + 1] = level;
        rgb[3 * i + 2] = level;
      } else {
        rgb[3 * i] = lut[3 * level];
        rgb[3 * i + 1] = lut[3 * level + 1];
        rgb[3 * i + 2] = lut[3 * level + 2];
      }
    }
    return rgb;
  }

  /** Samples -> uint8 RGB image, row-major (size, size, 3) (pipeline.spectrogram_image). */
  function spectrogramImage(window, rate, config) {
    const other = otherMethod(config);
    if (other) return other.spectrogramImage(window, rate, config);
    const frameLength = roundHalfUp(config.frame_seconds * rate);
    const nFft = nextPow2(Math.max(frameLength, roundHalfUp(config.fft_seconds * rate)));
    const nFrames = config.n_frames;
    const nBins = nFft / 2 + 1;
    const power = powerSpectrogram(window, frameLength, nFrames, nFft);
    let grid;
    let nRows;
    if (config.freq_scale === 'mel') {
      const bank = melFilterbank(rate, nFft, config.n_bands, config.f_min, config.f_max, config.f_limit);
      grid = melBands(power, nFrames, nBins, bank);
      nRows = bank.length;
    } else {
      const [first, stop] = linearBinRange(rate, nFft, config.f_min, config.f_max, config.f_limit);
      grid = linearBands(power, nFrames, nBins, first, stop);
      nRows = stop - first;
    }
    unitDecibels(grid, config.db_range);
    const size = config.image_size;
    return quantizeColorize(resizeBilinear(grid, nRows, nFrames, size, size), colormapLut(config.colormap));
  }

  /**
   * The 256x3 table of a colour map as a flat Uint8Array, or null for grey (the page constants
   * hold pac.features.pipeline.colormap_lut of every known map; null there means grey).
   */
  function colormapLut(name) {
    const tables = C.features.colormaps;
    if (!Object.prototype.hasOwnProperty.call(tables, name)) {
      throw new PacRuntimeError('MODEL_LOAD_FAILED', 'unknown colour map ' + name);
    }
    if (tables[name] === null) {
      return null;
    }
    return cached('lut:' + name, () => Uint8Array.from([].concat.apply([], tables[name])));
  }

  /** analysisWindow then spectrogramImage (pipeline.clip_image). */
  function clipImage(samples, rate, config) {
    return spectrogramImage(analysisWindow(samples, rate, config), rate, config);
  }

  /** uint8 RGB -> float32 MobileNet input, pixel * scale + offset computed in float64. */
  function modelInput(rgb, config) {
    const out = new Float32Array(rgb.length);
    for (let i = 0; i < rgb.length; i++) out[i] = rgb[i] * config.input_scale + config.input_offset;
    return out;
  }

  R.features = {
    validateConfig: validateConfig,
    analysisWindow: analysisWindow,
    spectrogramImage: spectrogramImage,
    clipImage: clipImage,
    modelInput: modelInput,
    colormapLut: colormapLut,
    registerMethod: registerMethod,
    // shared with pac_compat.js and speech.js
    cached: cached,
    hann: hann,
    triangleBands: triangleBands,
    fft: fft,
    fftPlan: fftPlan,
    realPowerSpectrum: realPowerSpectrum,
    // exposed for tests
    trimSilence: trimSilence,
    windowStart: windowStart,
    activeWindow: activeWindow,
    powerSpectrogram: powerSpectrogram,
    melFilterbank: melFilterbank,
    linearBinRange: linearBinRange,
    resizeBilinear: resizeBilinear,
  };
})(window);
