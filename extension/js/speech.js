/*
 * The speech block's front end: analysis-window samples at any rate -> the speech embedding
 * network's input windows (76 frames x 32 log-mel bands at 16 kHz, scaled x / 10 + 2).
 *
 * A port of compiler/pac/features/speech.py, operation by operation, in float64 (JS numbers), with
 * the same integer rules; its constants come from the page constants (features.speech_front_end =
 * pac.features.speech.FRONT_END).  Arrays are flat and row-major:
 *
 *   resample(x, rate, target, zeros, rolloff)  -> Float64Array of samples at target
 *   logMel(x16)                                -> Float64Array, frames x 32 dB values
 *   networkInput(db)                           -> Float32Array, same layout, db / 10 + 2
 *   embeddingWindows(frames, hopFrames)        -> Float32Array, windows x 76 x 32
 *   speechFrames(window, rate, config)         -> Float32Array, windows x 76 x 32
 *
 * (the number of rows is the length divided by 32, or by 76 x 32).  Where the numbers can differ
 * from numpy by an ulp: the FFT (radix-2 here, pocketfft there), the order of the resampling and
 * mel sums (index order here, BLAS there), and libm's sin/cos/exp/log10.
 */
(function (root) {
  'use strict';

  const R = root.PacRuntime;
  const PacRuntimeError = R.PacRuntimeError;
  const realPowerSpectrum = R.features.realPowerSpectrum;  // |rfft(x, n)|^2, features.js's

  /** speech.FRONT_END from the page constants (a page without them cannot run the speech block). */
  function frontEnd() {
    const K = R.constants && R.constants.features && R.constants.features.speech_front_end;
    if (!K) {
      throw new PacRuntimeError('CLASSIFICATION_FAILED', 'this page has no speech front-end constants');
    }
    return K;
  }

  // Tables computed once (resampling kernels by rate pair, the mel bank) in features.js's table cache;
  // its periodic Hann window (functional.hann) too.
  const cached = R.features.cached;
  const hann = R.features.hann;

  function gcd(a, b) {
    while (b) {
      const t = a % b;
      a = b;
      b = t;
    }
    return a;
  }

  // -- resampling --------------------------------------------------------------------------------

  /** I0(x) by its power series, terms added in order (speech.bessel_i0). */
  function besselI0(x, terms) {
    const halfSquared = (x / 2.0) * (x / 2.0);
    let term = 1.0;
    let total = 1.0;
    for (let k = 1; k < terms; k++) {
      term = term * halfSquared / (k * k);
      total = total + term;
    }
    return total;
  }

  /** round_half_up(n * target / rate) in integers (speech.resampled_length). */
  function resampledLength(n, rate, target) {
    const a = 2 * n * target + rate;
    const b = 2 * rate;
    return (a - a % b) / b;
  }

  /**
   * Kaiser-windowed sinc taps for every phase (speech.resampling_kernel): {q, p, reach, taps,
   * table} with table[r * taps + i] the weight of input sample floor(t_n) + i - (reach - 1) for the
   * outputs n with n mod q = r.
   */
  function resamplingKernel(rate, target, zeros, rolloff) {
    return cached(['kernel', rate, target, zeros, rolloff].join(':'), () => {
      const K = frontEnd();
      const g = gcd(rate, target);
      const q = target / g;
      const p = rate / g;
      const low = Math.min(rate, target);
      const half = zeros * rate / low;
      const reach = Math.ceil(half);
      const taps = 2 * reach;
      const c = rolloff * low / rate;
      const beta = K.kaiser_beta;
      const i0Beta = besselI0(beta, K.i0_terms);
      const table = new Float64Array(q * taps);
      for (let r = 0; r < q; r++) {
        const frac = ((r * rate) % target) / target;
        for (let i = 0; i < taps; i++) {
          const d = frac - (i - (reach - 1));
          if (!(Math.abs(d) < half)) continue;  // stays 0
          const z = Math.PI * (c * d);
          const sinc = z === 0.0 ? 1.0 : Math.sin(z) / z;
          const u = d / half;
          const window = besselI0(beta * Math.sqrt(1.0 - u * u), K.i0_terms) / i0Beta;
          table[r * taps + i] = c * sinc * window;
        }
      }
      return {q: q, p: p, reach: reach, taps: taps, table: table};
    });
  }

  /**
   * Band-limited resampling (speech.resample): output n = sum_j x[j] h(n rate / target - j), zeros
   * outside x, length round_half_up(x.length * target / rate); a Float64Array copy if rate === target.
   */
  function resample(x, rate, target, zeros, rolloff) {
    if (rate === target) return Float64Array.from(x);
    const n = x.length;
    const nOut = resampledLength(n, rate, target);
    const out = new Float64Array(nOut);
    if (nOut === 0) return out;
    const kernel = resamplingKernel(rate, target, zeros, rolloff);
    const q = kernel.q;
    const taps = kernel.taps;
    const table = kernel.table;
    const lead = kernel.reach - 1;
    for (let o = 0; o < nOut; o++) {
      const num = o * rate;
      const r = o % q;
      const first = (num - num % target) / target - lead;  // input index of tap 0
      const row = r * taps;
      let sum = 0.0;
      if (first >= 0 && first + taps <= n) {
        for (let i = 0; i < taps; i++) sum += x[first + i] * table[row + i];
      } else {
        const lo = Math.max(0, -first);
        const hi = Math.min(taps, n - first);
        for (let i = lo; i < hi; i++) sum += x[first + i] * table[row + i];
      }
      out[o] = sum;
    }
    return out;
  }

  // -- log-mel ------------------------------------------------------------------------------------

  function hzToMelSlaney(f) {
    const logstep = Math.log(6.4) / 27.0;
    return f >= 1000.0 ? 15.0 + Math.log(f / 1000.0) / logstep : f / (200.0 / 3.0);
  }

  function melToHzSlaney(m) {
    const logstep = Math.log(6.4) / 27.0;
    return m >= 15.0 ? 1000.0 * Math.exp(logstep * (m - 15.0)) : (200.0 / 3.0) * m;
  }

  /**
   * The Slaney-normalised mel filterbank (speech.mel_filterbank) as sparse bands: for each band
   * the first FFT bin and the weights of its non-zero run.
   */
  function melFilterbank() {
    return cached('speech-mel', () => {
      const K = frontEnd();
      const nBands = K.n_bands;
      const lo = hzToMelSlaney(K.f_min);
      const hi = hzToMelSlaney(K.f_max);
      const edges = new Float64Array(nBands + 2);
      for (let j = 0; j < nBands + 2; j++) edges[j] = melToHzSlaney(lo + j * (hi - lo) / (nBands + 1));
      return R.features.triangleBands(edges, K.sample_rate, K.n_fft, true);
    });
  }

  /**
   * 16 kHz samples in [-1, 1] -> floored log-mel dB, frames x 32 row-major (speech.log_mel, i.e.
   * melspectrogram.onnx).  Fewer than n_fft samples are zero-padded at the end to one frame.
   */
  function logMel(x16) {
    const K = frontEnd();
    const nFft = K.n_fft;
    const hop = K.hop;
    const frameLength = K.frame_length;
    const offset = Math.floor((nFft - frameLength) / 2);
    const nBands = K.n_bands;
    const scale = K.int16_scale;
    const length = Math.max(x16.length, nFft);
    const nFrames = Math.floor((length - nFft) / hop) + 1;
    const window = hann(frameLength);
    const bank = melFilterbank();
    const buffer = new Float64Array(nFft);  // samples beyond frameLength stay 0
    const power = new Float64Array(nFft / 2 + 1);
    const work = {re: new Float64Array(nFft / 2), im: new Float64Array(nFft / 2)};
    const out = new Float64Array(nFrames * nBands);
    let top = -Infinity;
    for (let f = 0; f < nFrames; f++) {
      const start = f * hop + offset;
      for (let t = 0; t < frameLength; t++) {
        const i = start + t;
        buffer[t] = (i < x16.length ? x16[i] * scale : 0.0) * window[t];
      }
      realPowerSpectrum(buffer, nFft, power, work);
      for (let b = 0; b < nBands; b++) {
        const first = bank[b].first;
        const weights = bank[b].weights;
        let sum = 0.0;
        for (let k = 0; k < weights.length; k++) sum += power[first + k] * weights[k];
        const db = 10.0 * Math.log10(Math.max(sum, K.amin));
        out[f * nBands + b] = db;
        if (db > top) top = db;
      }
    }
    const floor = top - K.top_db;
    for (let i = 0; i < out.length; i++) if (out[i] < floor) out[i] = floor;
    return out;
  }

  /** dB -> db / 10 + 2 in float64, stored as float32 (speech.network_input). */
  function networkInput(db) {
    const K = frontEnd();
    const out = new Float32Array(db.length);
    for (let i = 0; i < db.length; i++) out[i] = db[i] / K.network_divisor + K.network_offset;
    return out;
  }

  // -- windows ------------------------------------------------------------------------------------

  /** Zero-centre samples shorter than one window in window_samples zeros (speech.pad_to_window). */
  function padToWindow(x16) {
    const K = frontEnd();
    const need = K.n_fft + (K.window_frames - 1) * K.hop;
    if (x16.length >= need) return x16;
    const out = new Float64Array(need);
    out.set(x16, Math.floor((need - x16.length) / 2));
    return out;
  }

  /** 0, hop, 2 hop ... while a window fits; the tail after the last one is not embedded (speech.window_starts). */
  function windowStarts(nFrames, hopFrames) {
    const K = frontEnd();
    if (nFrames < K.window_frames) {
      throw new PacRuntimeError('CLASSIFICATION_FAILED',
                                nFrames + ' frames are fewer than one window of ' + K.window_frames);
    }
    if (!(Number.isInteger(hopFrames) && hopFrames >= 1 && hopFrames % K.network_stride === 0)) {
      throw new PacRuntimeError('CLASSIFICATION_FAILED',
                                'hop_frames must be a positive multiple of ' + K.network_stride);
    }
    const last = nFrames - K.window_frames;
    const starts = [];
    for (let s = 0; s <= last; s += hopFrames) starts.push(s);
    return starts;
  }

  /** frames (nFrames x 32) -> windows x 76 x 32 (speech.embedding_windows). */
  function embeddingWindows(frames, hopFrames) {
    const K = frontEnd();
    const width = K.n_bands;
    const size = K.window_frames * width;
    const starts = windowStarts(frames.length / width, hopFrames);
    const out = new Float32Array(starts.length * size);
    for (let w = 0; w < starts.length; w++) {
      out.set(frames.subarray(starts[w] * width, starts[w] * width + size), w * size);
    }
    return out;
  }

  /**
   * Analysis window at rate -> the network's input sequence (speech.speech_sequence): a
   * Float32Array of nFrames x 32 (nFrames >= 76), which the network embeds in one pass
   * (speechNet embedSequence).
   */
  function speechSequence(window, rate, config) {
    const K = frontEnd();
    const x16 = resample(window, rate, K.sample_rate, config.speech_resample_zeros, config.speech_resample_rolloff);
    return networkInput(logMel(padToWindow(x16)));
  }

  /** Analysis window at rate -> network input windows cut out one by one (speech.speech_frames). */
  function speechFrames(window, rate, config) {
    return embeddingWindows(speechSequence(window, rate, config), config.speech_hop_frames);
  }

  R.speech = {
    resample: resample,
    logMel: logMel,
    networkInput: networkInput,
    embeddingWindows: embeddingWindows,
    speechSequence: speechSequence,
    speechFrames: speechFrames,
    // exposed for tests
    padToWindow: padToWindow,
    windowStarts: windowStarts,
    resampledLength: resampledLength,
    besselI0: besselI0,
    melFilterbank: melFilterbank,
  };
})(window);
