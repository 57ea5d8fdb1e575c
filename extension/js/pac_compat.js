// One script on purpose (issue 15): MIT's steps in order, read side by side with pac/features/compat.py and canvas.py.
/*
 * Feature method "pac-compat": the image MIT's Personal Audio Classifier computed (its server's
 * pydub silence removal and matplotlib figure, then the browser's 200x200 drawing and 224x224
 * nearest-neighbour resize).  The browser's drawing (the config's `downscale` canvas filter) is
 * the port of compiler/pac/features/canvas.py, in the section "the browser".
 *
 * A port of compiler/pac/features/compat.py, operation by operation, in float64, with the same
 * integer steps (pydub's truncations, Agg's subpixel arithmetic), in the same sections and order;
 * each function names its Python counterpart (compat.name).  Registered with features.js, which
 * calls it for a configuration whose method is "pac-compat", as compat.py registers itself with
 * pac.features.methods.
 *
 * Where the numbers can differ from Python by an ulp: the FFT (radix-2 here, pocketfft in numpy),
 * log10, and the order of the Hanning sums (Agg's order here).  A figure pixel then moves only if a
 * value lies within ~1e-12 of a colour-index or a 1/255 boundary.
 */
(function (root) {
  'use strict';

  const R = root.PacRuntime;
  const PacRuntimeError = R.PacRuntimeError;
  const C = R.constants;
  const pairwiseSum = R.wav.pairwiseSum;
  const cached = R.features.cached;
  const fft = R.features.fft;
  const fftPlan = R.features.fftPlan;

  // -- samples as pydub sees them -----------------------------------------------------------------

  /** floor(x * 2**(bits-1)) clipped to the integer range (compat.pcm_integers). */
  function pcmIntegers(x, bits) {
    const top = Math.pow(2, bits - 1);
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = Math.min(top - 1, Math.max(-top, Math.floor(x[i] * top)));
    return out;
  }

  /** Python's round() of a float: halves to even. */
  function roundHalfEven(v) {
    const f = Math.floor(v);
    const d = v - f;
    if (d > 0.5) return f + 1;
    if (d < 0.5) return f;
    return f % 2 === 0 ? f : f + 1;
  }

  /** len(AudioSegment) in ms (compat.pydub_length_ms). */
  function lengthMs(n, rate) {
    return roundHalfEven(1000.0 * (n / rate));
  }

  /** Position in ms -> frame (compat.pydub_frame). */
  function frameAt(ms, rate, length) {
    if (ms < 0) ms = length - Math.abs(ms);
    return Math.trunc(ms * (rate / 1000.0));
  }

  /** Python's a[lo:hi] for a typed array. */
  function pySlice(a, lo, hi) {
    const n = a.length;
    if (lo < 0) lo = Math.max(0, lo + n);
    if (hi < 0) hi = Math.max(0, hi + n);
    lo = Math.min(lo, n);
    hi = Math.min(hi, n);
    return a.slice(lo, Math.max(lo, hi));
  }

  /** segment[startMs:endMs] with pydub's zero padding (compat.pydub_slice). */
  function pydubSlice(s, startMs, endMs, rate) {
    const length = lengthMs(s.length, rate);
    const start = frameAt(Math.min(startMs, length), rate, length);
    const end = frameAt(Math.min(endMs, length), rate, length);
    const piece = pySlice(s, start, end);
    const missing = (end - start) - piece.length;
    if (missing <= 0) return piece;
    const padded = new Float64Array(piece.length + missing);
    padded.set(piece);
    return padded;
  }

  /** audioop.rms: int(sqrt(sum / n)); the sums of whole numbers are exact (compat.pydub_rms). */
  function rmsOf(a, lo, hi, n) {
    if (n === 0) return 0;
    let sum = 0.0;
    for (let i = lo; i < hi; i++) sum += a[i] * a[i];
    return Math.floor(Math.sqrt(sum / n));
  }

  /** AudioSegment.dBFS of an integer RMS (compat.pydub_dbfs). */
  function dbfs(rms, maxAmplitude) {
    if (rms === 0) return -Infinity;
    return 20.0 * (Math.log(rms / maxAmplitude) / Math.log(10.0));
  }

  /** MIT's detect_leading_silence (compat.pydub_leading_silence_ms). */
  function leadingSilenceMs(s, rate, thresholdDbfs, maxAmplitude, chunkMs) {
    const length = lengthMs(s.length, rate);
    let trim = 0;
    for (;;) {
      const piece = pydubSlice(s, trim, trim + chunkMs, rate);
      if (!(dbfs(rmsOf(piece, 0, piece.length, piece.length), maxAmplitude) < thresholdDbfs && trim < length)) {
        return trim;
      }
      trim += chunkMs;
    }
  }

  /** pydub.silence.detect_silence with seek_step 1 (compat.pydub_silent_ranges). */
  function silentRanges(s, rate, thresholdDbfs, maxAmplitude, minSilenceMs) {
    const length = lengthMs(s.length, rate);
    if (length < minSilenceMs) return [];
    const limit = Math.pow(10.0, thresholdDbfs / 20.0) * maxAmplitude;
    const ratio = rate / 1000.0;
    const silent = [];
    for (let i = 0; i <= length - minSilenceMs; i++) {
      const first = Math.trunc(i * ratio);
      const last = Math.trunc((i + minSilenceMs) * ratio);
      const rms = rmsOf(s, Math.min(first, s.length), Math.min(last, s.length), last - first);
      if (rms <= limit) silent.push(i);
    }
    if (silent.length === 0) return [];
    const ranges = [];
    let begin = silent[0];
    let prev = silent[0];
    for (let k = 1; k < silent.length; k++) {
      const i = silent[k];
      if (i !== prev + 1 && i > prev + minSilenceMs) {
        ranges.push([begin, prev + minSilenceMs]);
        begin = i;
      }
      prev = i;
    }
    ranges.push([begin, prev + minSilenceMs]);
    return ranges;
  }

  /** pydub.silence.detect_nonsilent (compat.pydub_nonsilent_ranges). */
  function nonsilentRanges(s, rate, thresholdDbfs, maxAmplitude, minSilenceMs) {
    const length = lengthMs(s.length, rate);
    const silent = silentRanges(s, rate, thresholdDbfs, maxAmplitude, minSilenceMs);
    if (silent.length === 0) return [[0, length]];
    if (silent[0][0] === 0 && silent[0][1] === length) return [];
    const ranges = [];
    let prevEnd = 0;
    for (const [start, end] of silent) {
      ranges.push([prevEnd, start]);
      prevEnd = end;
    }
    if (silent[silent.length - 1][1] !== length) ranges.push([prevEnd, length]);
    if (ranges[0][0] === 0 && ranges[0][1] === 0) ranges.shift();
    return ranges;
  }

  /** MIT's server's silence removal; may return no samples (compat.strip_silence_pydub). */
  function stripSilence(s, rate, thresholdDbfs, maxAmplitude) {
    const chunk = 10;
    const head = leadingSilenceMs(s, rate, thresholdDbfs, maxAmplitude, chunk);
    const tail = leadingSilenceMs(s.slice().reverse(), rate, thresholdDbfs, maxAmplitude, chunk);
    s = pydubSlice(s, head, lengthMs(s.length, rate) - tail, rate);
    const length = lengthMs(s.length, rate);
    const pieces = nonsilentRanges(s, rate, thresholdDbfs, maxAmplitude, chunk)
      .map(([a, b]) => pydubSlice(s, Math.max(a, 0), Math.min(b, length), rate));
    if (pieces.length === 0) return s;
    const out = new Float64Array(pieces.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of pieces) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** What MIT's server analysed, scaled back to [-1, 1] (compat.compat_window). */
  function compatWindow(samples, rate, config) {
    const top = Math.pow(2, config.pcm_bits - 1);
    let s = pcmIntegers(samples, config.pcm_bits);
    if (config.trim_silence_dbfs !== null) {
      const kept = stripSilence(s, rate, config.trim_silence_dbfs, top);
      if (kept.length) s = kept;
    }
    const out = new Float64Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s[i] / top;
    return out;
  }

  // -- matplotlib's specgram ------------------------------------------------------------------------

  /**
   * numpy.hanning(m): 0.5 + 0.5 cos(pi k / (m - 1)) for k = 1-m, 3-m, ..., m-1, with specgram's
   * window scale 1 / sum(window**2) (summed pairwise like numpy).
   */
  function symmetricHann(m) {
    return cached('symmetric-hann:' + m, () => {
      const w = new Float64Array(m);
      if (m === 1) {
        w[0] = 1.0;
      } else {
        for (let i = 0; i < m; i++) w[i] = 0.5 + 0.5 * Math.cos(Math.PI * (1 - m + 2 * i) / (m - 1));
      }
      return {window: w, scale: 1.0 / pairwiseSum(w.map((v) => v * v), 0, m)};
    });
  }

  /** Power of the first `bins` DFT bins of a real frame (radix-2, or a direct DFT otherwise). */
  function framePower(frame, bins, out) {
    const n = frame.length;
    if ((n & (n - 1)) === 0) {
      // features.js's radix-2 FFT, its twiddles tabulated once per size.
      const re = Float64Array.from(frame);
      const im = new Float64Array(n);
      fft(re, im, fftPlan(n));
      for (let k = 0; k < bins; k++) out[k] = re[k] * re[k] + im[k] * im[k];
      return;
    }
    for (let k = 0; k < bins; k++) {
      let sr = 0.0;
      let si = 0.0;
      for (let t = 0; t < n; t++) {
        const angle = -2 * Math.PI * ((k * t) % n) / n;
        sr += frame[t] * Math.cos(angle);
        si += frame[t] * Math.sin(angle);
      }
      out[k] = sr * sr + si * si;
    }
  }

  /**
   * specgram(x, Fs=rate, NFFT=nfft, noverlap) in dB (compat.mpl_specgram_db): {db, rows, cols},
   * db row-major with row 0 the highest frequency.  numpy divides the complex spectrum by a real
   * scalar as a multiplication by its reciprocal; so does this.
   */
  function specgramDb(s, rate, nfft, noverlap) {
    if (s.length < nfft) {
      const padded = new Float64Array(nfft);
      padded.set(s);
      s = padded;
    }
    const step = nfft - noverlap;
    const cols = Math.floor((s.length - nfft) / step) + 1;
    const rows = nfft % 2 === 0 ? nfft / 2 + 1 : (nfft + 1) / 2;
    const {window, scale: scaleWindow} = symmetricHann(nfft);
    const scaleRate = 1.0 / rate;
    const frame = new Float64Array(nfft);
    const power = new Float64Array(rows);
    const db = new Float64Array(rows * cols);
    for (let c = 0; c < cols; c++) {
      for (let t = 0; t < nfft; t++) frame[t] = s[c * step + t] * window[t];
      framePower(frame, rows, power);
      for (let k = 0; k < rows; k++) {
        let p = power[k];
        if (k > 0 && (nfft % 2 === 1 || k < rows - 1)) p *= 2.0;
        p = p * scaleRate;
        p = p * scaleWindow;
        db[(rows - 1 - k) * cols + c] = 10.0 * Math.log10(p);
      }
    }
    return {db: db, rows: rows, cols: cols};
  }

  // -- Agg drawing the figure -------------------------------------------------------------------------

  /** Normalize + Colormap index (compat.mpl_color_indices) of one value. */
  function colorIndex(v, vmin, vmax) {
    if (vmin === vmax) return 0;
    let u = (v - vmin) / (vmax - vmin) * 256.0;
    if (u === 256.0) u = 255.0;
    return Math.min(255, Math.max(0, Math.trunc(u)));
  }

  /** matplotlib's 'auto' interpolation allows nearest along this axis (compat.mpl_uses_nearest). */
  function usesNearest(nIn, nOut) {
    return nOut > 3 * nIn || nOut === nIn || nOut === 2 * nIn;
  }

  /** Source index of output pixel p along an axis, nearest neighbour (compat.mpl_nearest_indices). */
  function nearestIndex(nIn, nOut, p) {
    const first = (nIn - 0.5 * nIn / nOut) * 256.0;
    const last = (nIn - (0.5 + nOut - 1) * nIn / nOut) * 256.0;
    const sub = nOut > 1 ? first + (last - first) * p / (nOut - 1) + 1e-8 : first + 1e-8;
    return nIn - 1 - (Math.trunc(sub) >> 8);
  }

  /** Agg's iround (compat.agg_iround). */
  function aggIround(v) {
    return v >= 0 ? Math.trunc(v + 0.5) : Math.trunc(v - 0.5);
  }

  /** agg::dda2_line_interpolator values after 0..count increments (compat.agg_dda). */
  function aggDda(first, last, count) {
    const cnt = count > 0 ? count : 1;
    const delta = last - first;
    let lft = Math.trunc(delta / cnt);
    let rem = delta - lft * cnt;
    let mod = rem;
    if (mod <= 0) {
      mod += count;
      rem += count;
      lft -= 1;
    }
    mod -= count;
    const out = new Array(count + 1);
    let y = first;
    for (let i = 0; i <= count; i++) {
      out[i] = y;
      mod += rem;
      y += lft;
      if (mod > 0) {
        mod -= cnt;
        y += 1;
      }
    }
    return out;
  }

  let hanningLut = null;

  /** Agg's normalised Hanning image_filter_lut, 512 weights (compat.agg_hanning_lut). */
  function aggHanningLut() {
    if (hanningLut !== null) return hanningLut;
    const scale = 16384;
    const sub = 256;
    const diameter = 2;
    const w = new Array(diameter * sub).fill(0);
    const pivot = diameter * sub / 2 - 1;
    const weight = (x) => 0.5 + 0.5 * Math.cos(Math.PI * x);
    for (let i = 0; i <= pivot; i++) w[pivot + i] = w[pivot - i] = aggIround(weight(i / sub) * scale);
    w[diameter * sub - 1] = aggIround(weight(Math.floor(diameter / 2)) * scale);
    let flip = 1;
    for (let phase = 0; phase < sub; phase++) {
      for (;;) {
        let total = 0;
        for (let j = 0; j < diameter; j++) total += w[j * sub + phase];
        if (total === scale) break;
        const k = scale / total;
        total = 0;
        for (let j = 0; j < diameter; j++) {
          w[j * sub + phase] = aggIround(w[j * sub + phase] * k);
          total += w[j * sub + phase];
        }
        total -= scale;
        const inc = total > 0 ? -1 : 1;
        for (let j = 0; j < diameter && total; j++) {
          flip ^= 1;
          const idx = flip ? diameter / 2 + Math.floor(j / 2) : diameter / 2 - Math.floor(j / 2);
          if (w[idx * sub + phase] < scale) {
            w[idx * sub + phase] += inc;
            total += inc;
          }
        }
      }
    }
    hanningLut = Int32Array.from(w);
    return hanningLut;
  }

  /** Agg's wrap_mode_reflect of one index (compat.agg_reflect). */
  function reflect(i, n) {
    const m = ((i % (2 * n)) + 2 * n) % (2 * n);
    return m >= n ? 2 * n - 1 - m : m;
  }

  /** Taps {index[], weight[]} of one output centre (subpixel coord) (compat.agg_hanning_taps). */
  function hanningTaps(nIn, nOut, coord) {
    const lut = aggHanningLut();
    const factor = Math.max(nIn / nOut, 1.0);
    const r = Math.trunc(factor * 256 + 0.5);
    const rInv = Math.trunc(1.0 / factor * 256 + 0.5);
    const start = coord + 128 - r;
    const first = start >> 8;
    const index = [];
    const weight = [];
    for (let phase = ((255 - (start & 255)) * rInv) >> 8, k = 0; phase < 512; phase += rInv, k++) {
      index.push(reflect(first + k, nIn));
      weight.push(lut[phase]);
    }
    return {index: index, weight: weight};
  }

  /**
   * RGB pixels at rows x cols (row 0 = top) of matplotlib's drawing of the dB grid into a
   * pixels x pixels figure (compat.mpl_canvas).  lut: float RGB table, flat 256*3.
   */
  function mplCanvas(spec, pixels, rows, cols, lut) {
    const nRows = spec.rows;
    const nCols = spec.cols;
    const db = spec.db;
    const out = new Uint8Array(rows.length * cols.length * 3);
    let vmin = Infinity;
    let vmax = -Infinity;
    for (let i = 0; i < db.length; i++) {
      if (Number.isFinite(db[i])) {
        if (db[i] < vmin) vmin = db[i];
        if (db[i] > vmax) vmax = db[i];
      }
    }
    if (vmin === Infinity) return out.fill(255);
    if (usesNearest(nCols, pixels) && usesNearest(nRows, pixels)) {
      const srcCols = cols.map((c) => nearestIndex(nCols, pixels, c));
      let o = 0;
      for (const r of rows) {
        const base = nearestIndex(nRows, pixels, r) * nCols;
        for (const sc of srcCols) {
          const v = db[base + sc];
          if (Number.isFinite(v)) {
            const k = 3 * colorIndex(v, vmin, vmax);
            out[o] = Math.trunc(lut[k] * 255.0);
            out[o + 1] = Math.trunc(lut[k + 1] * 255.0);
            out[o + 2] = Math.trunc(lut[k + 2] * 255.0);
          } else {
            out[o] = out[o + 1] = out[o + 2] = 255;
          }
          o += 3;
        }
      }
      return out;
    }
    // Colour first (alpha 0 for minus infinity), then Agg's Hanning resampling of RGBA.
    const rgba = new Float64Array(nRows * nCols * 4);
    for (let i = 0; i < db.length; i++) {
      if (Number.isFinite(db[i])) {
        const k = 3 * colorIndex(db[i], vmin, vmax);
        rgba[4 * i] = lut[k];
        rgba[4 * i + 1] = lut[k + 1];
        rgba[4 * i + 2] = lut[k + 2];
        rgba[4 * i + 3] = 1.0;
      }
    }
    const xs = aggDda(aggIround(0.5 * nCols / pixels * 256.0), aggIround((pixels - 0.5) * nCols / pixels * 256.0),
                      pixels - 1);
    const colTaps = cols.map((c) => hanningTaps(nCols, pixels, xs[c]));
    let o = 0;
    for (const r of rows) {
      const y = aggIround((nRows - (pixels - 1 - r + 0.5) * nRows / pixels) * 256.0);
      const rowTaps = hanningTaps(nRows, pixels, y);
      for (const ct of colTaps) {
        const fg = [0.0, 0.0, 0.0, 0.0];
        let total = 0;
        for (let ky = 0; ky < rowTaps.index.length; ky++) {
          const rowBase = rowTaps.index[ky] * nCols;
          for (let kx = 0; kx < ct.index.length; kx++) {
            const w = (rowTaps.weight[ky] * ct.weight[kx] + 8192) >> 14;
            const at = 4 * (rowBase + ct.index[kx]);
            fg[0] += rgba[at] * w;
            fg[1] += rgba[at + 1] * w;
            fg[2] += rgba[at + 2] * w;
            fg[3] += rgba[at + 3] * w;
            total += w;
          }
        }
        for (let ch = 0; ch < 4; ch++) fg[ch] = Math.max(fg[ch] / total, 0.0);
        const alpha = Math.min(fg[3], 1.0);
        for (let ch = 0; ch < 3; ch++) {
          const v = Math.min(fg[ch], alpha);
          fg[ch] = alpha !== 0 ? v / alpha : v;
        }
        const a = Math.trunc(alpha * 255.0);
        for (let ch = 0; ch < 3; ch++) {
          const color = Math.trunc(fg[ch] * 255.0);
          // Agg's plain RGBA blend over opaque white (compat.mpl_canvas)
          out[o + ch] = a === 0 ? 255 : a === 255 ? color
            : Math.floor(((color * 256 - 65025) * a + 65025 * 256) / (65280 + a));
        }
        o += 3;
      }
    }
    return out;
  }

  // -- the browser ---------------------------------------------------------------------------------

  // The canvas filters (pac/features/canvas.py, names canvas.*); images are flat RGB Uint8Arrays.

  /** Centre pixel of each block: bilinear without mipmaps at an odd ratio (canvas.centre_positions). */
  function browserDrawPositions(pixels, size) {
    const k = Math.floor(pixels / size);
    const out = [];
    for (let o = 0; o < size; o++) out.push(o * k + Math.floor((k - 1) / 2));
    return out;
  }

  /** floor(log2(pixels // size)), 0 when not shrinking (canvas.mip_level). */
  function mipLevel(pixels, size) {
    let k = Math.floor(pixels / size);
    let level = 0;
    while (k >= 2) {
      k = Math.floor(k / 2);
      level += 1;
    }
    return level;
  }

  /** One mipmap level down: truncated 2x2 box, 1-2-1 over three pixels on an odd side (canvas.halve). */
  function halveImage(image, rows, cols) {
    const taps = (n) => (n % 2 ? [[0, 1], [1, 2], [2, 1]] : [[0, 1], [1, 1]]);
    const rowTaps = taps(rows);
    const colTaps = taps(cols);
    const total = (rows % 2 ? 4 : 2) * (cols % 2 ? 4 : 2);
    const outRows = Math.floor(rows / 2);
    const outCols = Math.floor(cols / 2);
    const out = new Uint8Array(outRows * outCols * 3);
    for (let r = 0; r < outRows; r++) {
      for (let c = 0; c < outCols; c++) {
        for (let ch = 0; ch < 3; ch++) {
          let sum = 0;
          for (const [dr, wr] of rowTaps) {
            for (const [dc, wc] of colTaps) {
              sum += wr * wc * image[((2 * r + dr) * cols + 2 * c + dc) * 3 + ch];
            }
          }
          out[(r * outCols + c) * 3 + ch] = Math.floor(sum / total);
        }
      }
    }
    return out;
  }

  /** Skia's legacy bilinear taps along one axis: [first, second, 4-bit weight] (canvas.bilinear_taps). */
  function bilinearTaps(nIn, nOut) {
    const first = [];
    const second = [];
    const weight = [];
    for (let o = 0; o < nOut; o++) {
      // floor(((o + 0.5) * nIn / nOut - 0.5) * 65536), exact in doubles for these sizes
      const fx = Math.max(Math.floor(((2 * o + 1) * nIn - nOut) * 65536 / (2 * nOut)), 0);
      const i = Math.min(Math.floor(fx / 65536), nIn - 1);
      first.push(i);
      second.push(Math.min(i + 1, nIn - 1));
      weight.push(Math.floor(fx / 4096) % 16);
    }
    return [first, second, weight];
  }

  /** A square image drawn into size x size by Skia's legacy bilinear filter (canvas.bilinear). */
  function bilinearImage(image, n, size) {
    const [i0, i1, w] = bilinearTaps(n, size);
    const out = new Uint8Array(size * size * 3);
    for (let r = 0; r < size; r++) {
      const y = w[r];
      for (let c = 0; c < size; c++) {
        const x = w[c];
        const a00 = (i0[r] * n + i0[c]) * 3;
        const a01 = (i0[r] * n + i1[c]) * 3;
        const a10 = (i1[r] * n + i0[c]) * 3;
        const a11 = (i1[r] * n + i1[c]) * 3;
        for (let ch = 0; ch < 3; ch++) {
          const total = image[a00 + ch] * ((16 - y) * (16 - x)) + image[a01 + ch] * ((16 - y) * x) +
            image[a10 + ch] * (y * (16 - x)) + image[a11 + ch] * (y * x);
          out[(r * size + c) * 3 + ch] = total >> 8;
        }
      }
    }
    return out;
  }

  /** Mean of each k x k block, rounded half up (canvas.area). */
  function areaImage(image, n, size) {
    const k = Math.floor(n / size);
    const out = new Uint8Array(size * size * 3);
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        for (let ch = 0; ch < 3; ch++) {
          let sum = 0;
          for (let dr = 0; dr < k; dr++) {
            for (let dc = 0; dc < k; dc++) sum += image[((r * k + dr) * n + c * k + dc) * 3 + ch];
          }
          out[(r * size + c) * 3 + ch] = Math.floor((2 * sum + k * k) / (2 * k * k));
        }
      }
    }
    return out;
  }

  /** The square figure (n x n) drawn into size x size by canvas filter `downscale` (canvas.draw). */
  function drawFigure(figure, n, size, downscale) {
    if (downscale === 'area') return areaImage(figure, n, size);
    if (downscale === 'centre') {
      const at = browserDrawPositions(n, size);
      const out = new Uint8Array(size * size * 3);
      for (let r = 0; r < size; r++) {
        for (let c = 0; c < size; c++) {
          for (let ch = 0; ch < 3; ch++) out[(r * size + c) * 3 + ch] = figure[(at[r] * n + at[c]) * 3 + ch];
        }
      }
      return out;
    }
    if (downscale !== 'mipmap-bilinear') {
      throw new PacRuntimeError('MODEL_LOAD_FAILED', 'unknown downscale ' + downscale);
    }
    let level = figure;
    let side = n;
    for (let i = mipLevel(n, size); i > 0; i--) {
      level = halveImage(level, side, side);
      side = Math.floor(side / 2);
    }
    return bilinearImage(level, side, size);
  }

  /** tf.image nearest-neighbour resize indices (compat.nearest_resize_indices). */
  function nearestResizeIndices(nIn, nOut) {
    const out = [];
    for (let o = 0; o < nOut; o++) out.push(Math.min(Math.floor((o * nIn) / nOut), nIn - 1));
    return out;
  }

  /** matplotlib's float RGB table of a colour map, flat 256*3 (compat.mpl_colormap_table). */
  function colormapTable(name) {
    const tables = C.features.compat_colormaps;
    if (!tables || !Object.prototype.hasOwnProperty.call(tables, name)) {
      throw new PacRuntimeError('MODEL_LOAD_FAILED', 'unknown colour map ' + name);
    }
    return cached('compat-lut:' + name, () => Float64Array.from([].concat.apply([], tables[name])));
  }

  /** MIT's server figure drawn by the browser at image_size (compat.compat_image). */
  function compatImage(window, rate, config) {
    const s = pcmIntegers(window, config.pcm_bits);
    const spec = specgramDb(s, rate, config.mpl_nfft, config.mpl_noverlap);
    const lut = colormapTable(config.colormap);
    const pixels = config.mpl_pixels;
    let drawn;
    if (config.downscale === 'centre') {
      const positions = browserDrawPositions(pixels, config.browser_size);
      drawn = mplCanvas(spec, pixels, positions, positions, lut);
    } else {
      const every = [];
      for (let i = 0; i < pixels; i++) every.push(i);
      drawn = drawFigure(mplCanvas(spec, pixels, every, every, lut), pixels, config.browser_size, config.downscale);
    }
    const size = config.image_size;
    const index = nearestResizeIndices(config.browser_size, size);
    const out = new Uint8Array(size * size * 3);
    const width = config.browser_size;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const from = 3 * (index[r] * width + index[c]);
        const to = 3 * (r * size + c);
        out[to] = drawn[from];
        out[to + 1] = drawn[from + 1];
        out[to + 2] = drawn[from + 2];
      }
    }
    return out;
  }

  R.features.registerMethod('pac-compat', {analysisWindow: compatWindow, spectrogramImage: compatImage});
  R.pacCompat = {
    compatWindow: compatWindow,
    compatImage: compatImage,
    // exposed for tests
    stripSilence: stripSilence,
    specgramDb: specgramDb,
    mplCanvas: mplCanvas,
    aggHanningLut: aggHanningLut,
    aggDda: aggDda,
    drawFigure: drawFigure,
  };
})(window);
