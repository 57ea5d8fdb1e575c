/*
 * Continuous listening: a stream of PCM chunks -> overlapping windows -> classifications ->
 * detections ("heard").  Pure: no TensorFlow.js, no bridge; classifier.js wires it to the model and
 * the bridge, the studio's live test can wire it to its own.  The rule is bridge.json's
 * "listening" (page constants C.listening) and pac.listen's in Python:
 *
 *   settings(rate, {threshold, minimumIntervalMs, hopMs})  -> {rate, window, hop, minimumInterval,
 *       threshold, background} in samples (window_seconds and hop_ms rounded half up)
 *   new Decider(labels, settings)                           .step(endSample, probabilities | null)
 *       -> null or {label, confidence, endSample, time}: the window's most probable label (ties:
 *       the first in label order) when it is not the background label, its probability is at least
 *       the threshold and at least minimumInterval samples have passed since the last detection's
 *       window end.  null probabilities = a silent window (background).
 *   new Stream({settings, labels, classify, onHeard, onError, capacitySeconds, onWindow, decide})
 *       .push(Float32Array | Float64Array)  appends to a ring buffer (window + capacitySeconds) and
 *           schedules the windows that end in it: the k-th window ends at window + k * hop samples
 *       onWindow(endSample, probabilities | null) is told every classified window (before its
 *           decision); decide: false makes no decisions (no Decider, so no background label needed:
 *           the studio's live test decides itself, with a threshold the teacher can change)
 *       .stop()   forgets everything still to do; later pushes are ignored
 *       .idle()   a promise resolved when no window is being classified or waiting
 *       .stats()  {received, due, classified, silent, dropped, detections, busyMs, lastWindowMs}
 *       .log      the last 1000 detections ({label, confidence, endSample, time}), oldest first
 *
 * Never behind real time: at most one window is being classified and at most one waits (the
 * newest); a window replaced while waiting, or whose samples the ring has already overwritten, is
 * dropped and counted (stats().dropped), never queued.  classify(samples Float64Array, rate) must
 * resolve to the probabilities in label order, or to null for a silent window.
 */
(function (root) {
  'use strict';

  const R = root.PacRuntime = root.PacRuntime || {};

  function rules() {
    const L = R.constants && R.constants.listening;
    if (!L) {
      throw new Error('pac: this page has no listening constants');
    }
    return L;
  }

  /** The listening settings in samples at `rate` (options default to bridge.json's). */
  function settings(rate, options) {
    const L = rules();
    const o = options || {};
    const pick = (value, fallback) => (value === undefined || value === null) ? fallback : Number(value);
    const threshold = pick(o.threshold, L.default_threshold);
    const minimumIntervalMs = pick(o.minimumIntervalMs, L.default_minimum_interval_ms);
    const hopMs = pick(o.hopMs, L.hop_ms);
    const r = Number(rate);
    if (!Number.isInteger(r) || r < 1) {
      throw new RangeError('sampleRate must be a positive whole number of Hz, not ' + rate);
    }
    if (!(threshold > 0 && threshold <= 1)) {
      throw new RangeError('the threshold must be above 0 and at most 1, not ' + threshold);
    }
    if (!(minimumIntervalMs >= 0 && minimumIntervalMs <= L.minimum_interval_ms_max)) {
      throw new RangeError('the minimum interval must be 0 to ' + L.minimum_interval_ms_max + ' ms, not ' +
                           minimumIntervalMs);
    }
    if (!(hopMs >= 10 && hopMs <= 1000 * L.window_seconds)) {
      throw new RangeError('the hop must be 10 to ' + 1000 * L.window_seconds + ' ms, not ' + hopMs);
    }
    return {
      rate: r,
      window: Math.floor(L.window_seconds * r + 0.5),
      hop: Math.max(1, Math.floor(hopMs * r / 1000 + 0.5)),
      minimumInterval: Math.floor(minimumIntervalMs * r / 1000 + 0.5),
      threshold: threshold,
      background: L.background_label,
    };
  }

  /** The decision rule, window by window (pac.listen.Decider). */
  class Decider {
    constructor(labels, s) {
      if (labels.indexOf(s.background) < 0) {
        throw new RangeError('continuous listening needs a model with a ' + s.background + ' label');
      }
      this.labels = labels.slice();
      this.s = s;
      this.lastEnd = null;
    }

    step(endSample, probabilities) {
      if (probabilities === null || probabilities === undefined) {
        return null;
      }
      let top = 0;
      for (let i = 1; i < probabilities.length; i++) {
        if (probabilities[i] > probabilities[top]) top = i;
      }
      const label = this.labels[top];
      const p = Number(probabilities[top]);
      if (label === this.s.background || !(p >= this.s.threshold)) {
        return null;
      }
      if (this.lastEnd !== null && endSample - this.lastEnd < this.s.minimumInterval) {
        return null;
      }
      this.lastEnd = endSample;
      return {label: label, confidence: p, endSample: endSample, time: endSample / this.s.rate};
    }
  }

  const LOG_MAX = 1000;

  function now() {
    return (root.performance && performance.now) ? performance.now() : Date.now();
  }

  /** A ring buffer fed by push(), windows classified one at a time, decisions by a Decider. */
  class Stream {
    constructor(options) {
      const s = this.s = options.settings;
      this.decider = options.decide === false ? null : new Decider(options.labels, s);
      this.classify = options.classify;
      this.onWindow = options.onWindow || function () {};
      this.onHeard = options.onHeard || function () {};
      this.onError = options.onError || function () {};
      const slack = options.capacitySeconds === undefined ? 2 : options.capacitySeconds;
      this.capacity = s.window + Math.max(s.hop, Math.ceil(slack * s.rate));
      this.ring = new Float64Array(this.capacity);
      this.received = 0;          // samples pushed so far (the stream's clock)
      this.nextEnd = s.window;    // end sample of the next window to schedule
      this.waiting = null;        // end sample of the window waiting for the classifier
      this.running = false;
      this.stopped = false;
      this.idlers = [];
      this.log = [];              // the last LOG_MAX detections, oldest first (tests, the studio)
      this.counts = {due: 0, classified: 0, silent: 0, dropped: 0, detections: 0, busyMs: 0, lastWindowMs: 0};
    }

    push(chunk) {
      if (this.stopped) {
        return;
      }
      const n = chunk.length;
      const cap = this.capacity;
      // Only the last `cap` samples of a huge chunk can matter.
      const from = Math.max(0, n - cap);
      let at = (this.received + from) % cap;
      for (let i = from; i < n; i++) {
        this.ring[at] = chunk[i];
        at = at + 1 === cap ? 0 : at + 1;
      }
      this.received += n;
      while (this.nextEnd <= this.received) {
        this.counts.due++;
        if (this.waiting !== null) {
          this.counts.dropped++;  // replaced by a newer window before its turn
        }
        this.waiting = this.nextEnd;
        this.nextEnd += this.s.hop;
      }
      this.pump();
    }

    /** Start the waiting window if the classifier is free. */
    pump() {
      if (this.running || this.stopped || this.waiting === null) {
        if (!this.running) this.settle();
        return;
      }
      const end = this.waiting;
      this.waiting = null;
      if (end - this.s.window < this.received - this.capacity) {
        this.counts.dropped++;  // its first samples are overwritten already
        this.pump();
        return;
      }
      const samples = new Float64Array(this.s.window);
      const cap = this.capacity;
      let at = (end - this.s.window) % cap;
      for (let i = 0; i < samples.length; i++) {
        samples[i] = this.ring[at];
        at = at + 1 === cap ? 0 : at + 1;
      }
      this.running = true;
      const t0 = now();
      Promise.resolve().then(() => this.classify(samples, this.s.rate)).then((probabilities) => {
        this.finish(t0);
        if (this.stopped) return;
        this.counts.classified++;
        if (probabilities === null || probabilities === undefined) this.counts.silent++;
        this.onWindow(end, probabilities === undefined ? null : probabilities);
        const found = this.decider ? this.decider.step(end, probabilities) : null;
        if (found) {
          this.counts.detections++;
          this.log.push(found);
          if (this.log.length > LOG_MAX) this.log.shift();
          this.onHeard(found);
        }
      }, (err) => {
        this.finish(t0);
        if (!this.stopped) this.onError(err);
      }).then(() => this.pump());
    }

    finish(t0) {
      const ms = now() - t0;
      this.running = false;
      this.counts.busyMs += ms;
      this.counts.lastWindowMs = ms;
    }

    settle() {
      if (!this.running && (this.waiting === null || this.stopped)) {
        this.idlers.splice(0).forEach((resolve) => resolve());
      }
    }

    idle() {
      return new Promise((resolve) => {
        this.idlers.push(resolve);
        this.settle();
      });
    }

    stop() {
      this.stopped = true;
      this.waiting = null;
      this.settle();
    }

    stats() {
      const c = this.counts;
      return {received: this.received, rate: this.s.rate, due: c.due, classified: c.classified, silent: c.silent,
              dropped: c.dropped, detections: c.detections, busyMs: c.busyMs, lastWindowMs: c.lastWindowMs,
              stopped: this.stopped};
    }
  }

  R.listen = {settings: settings, Decider: Decider, Stream: Stream};
})(window);
