// Microphone recording: getUserMedia -> Web Audio -> mono Float32 samples, with the sound level as it comes.

/** A clip is "quiet" (the page asks "no sound heard, keep it?") when its loudest sample is below this. */
export const QUIET_PEAK_DBFS = -40;

/** A readable explanation for a failed getUserMedia. */
export function microphoneProblem(error) {
  const name = error && error.name;
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return 'This browser only allows the microphone on pages opened as http://localhost (or https). ' +
      'Open the studio at the address pac studio printed on this computer, or upload WAV files instead.';
  }
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
    return 'The browser did not allow the microphone. Allow microphone access for this page ' +
      '(click the icon at the left of the address bar) and record again, or upload WAV files instead.';
  }
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') {
    return 'No microphone was found. Plug one in (or choose one in the system settings) and try again, ' +
      'or upload WAV files instead.';
  }
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
    return 'The microphone is busy or could not be started (another program may be using it).';
  }
  return 'The microphone could not be used' + (error && error.message ? ': ' + error.message : '.');
}

export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) { reject(new DOMException('cancelled', 'AbortError')); return; }
    const timer = setTimeout(resolve, ms);
    if (signal) signal.addEventListener('abort', () => { clearTimeout(timer); reject(new DOMException('cancelled', 'AbortError')); }, {once: true});
  });
}

const dbfs = (v) => (v > 0 ? 20 * Math.log10(v) : -Infinity);

/** Peak and RMS of samples, linear (0..1) and in dBFS, and whether the clip counts as quiet. */
export function measure(samples) {
  let peak = 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = Math.abs(samples[i]);
    if (v > peak) peak = v;
    sum += v * v;
  }
  const rms = samples.length ? Math.sqrt(sum / samples.length) : 0;
  return {peak, rms, peakDbfs: dbfs(peak), rmsDbfs: dbfs(rms), quiet: dbfs(peak) < QUIET_PEAK_DBFS};
}

/** The meter's position (0..1) for a peak: -60 dBFS and below is empty, 0 dBFS full. */
export const meterFraction = (peak) => Math.max(0, Math.min(1, (dbfs(peak) + 60) / 60));

/**
 * An open microphone.  `Microphone.open({onLevel})` asks for it; onLevel({peak, rms}) is called about
 * 20 times a second for as long as it is open (count-ins and pauses too).  capture(seconds) records
 * the next `seconds`; listen(fn) hands every block to fn; close() lets the microphone go.
 */
export class Microphone {
  static async open(options = {}) {
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error(microphoneProblem(null));
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: {channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false},
      });
    } catch (error) {
      throw new Error(microphoneProblem(error));
    }
    const mic = new Microphone(stream, options);
    try {
      await mic.start();
    } catch (error) {
      mic.close();
      throw error;
    }
    return mic;
  }

  constructor(stream, {onLevel = () => {}} = {}) {
    this.stream = stream;
    this.onLevel = onLevel;
    this.listeners = new Set();
    this.level = {peak: 0, sum: 0, n: 0};
    this.lastBlock = performance.now();
  }

  async start() {
    const AudioContextClass = window.AudioContext || window.webkitAudioContext;
    const context = this.context = new AudioContextClass();
    if (context.state === 'suspended') await context.resume();
    this.rate = context.sampleRate;
    const source = context.createMediaStreamSource(this.stream);
    const take = (block) => this.take(block);
    if (context.audioWorklet) {
      await context.audioWorklet.addModule('static/recorder-worklet.js');
      this.node = new AudioWorkletNode(context, 'pac-capture', {numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1});
      this.node.port.onmessage = (event) => take(event.data);
    } else {
      this.node = context.createScriptProcessor(4096, 1, 1);
      this.node.onaudioprocess = (event) => take(new Float32Array(event.inputBuffer.getChannelData(0)));
    }
    // Keep the graph pulled (a silent gain to the speakers), so processing runs everywhere.
    const mute = context.createGain();
    mute.gain.value = 0;
    source.connect(this.node);
    this.node.connect(mute);
    mute.connect(context.destination);
  }

  take(block) {
    this.lastBlock = performance.now();
    const level = this.level;
    for (let i = 0; i < block.length; i++) {
      const v = Math.abs(block[i]);
      if (v > level.peak) level.peak = v;
      level.sum += v * v;
    }
    level.n += block.length;
    if (level.n >= this.rate / 20) {
      this.onLevel({peak: level.peak, rms: Math.sqrt(level.sum / level.n)});
      this.level = {peak: 0, sum: 0, n: 0};
    }
    for (const fn of this.listeners) fn(block);
  }

  /** Call fn(block) with every block of samples until the returned function is called. */
  listen(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Wait `seconds` with the microphone open (a count-in: the level meter keeps moving). */
  async wait(seconds, {signal, onTick = () => {}} = {}) {
    for (let left = seconds; left > 0; left -= 0.25) {
      onTick(left);
      await sleep(Math.min(250, left * 1000), signal);
    }
  }

  /** The next `seconds` of sound: Float32Array.  onProgress(fraction) as it fills; with `keepPartial`, a
   * cancel (signal) resolves with what was captured until then instead of rejecting. */
  async capture(seconds, {signal, onProgress = () => {}, keepPartial = false} = {}) {
    const wanted = Math.round(seconds * this.rate);
    const samples = new Float32Array(wanted);
    let filled = 0;
    const stop = this.listen((block) => {
      const part = block.subarray(0, Math.min(block.length, wanted - filled));
      samples.set(part, filled);
      filled += part.length;
    });
    try {
      const started = performance.now();
      while (filled < wanted) {
        onProgress(filled / wanted);
        try {
          await sleep(50, signal);
        } catch (error) {
          if (keepPartial && error.name === 'AbortError') return samples.slice(0, filled);
          throw error;
        }
        if (performance.now() - started > seconds * 1000 + 5000) {
          throw new Error('The microphone delivered no sound data. Check that it is connected and not muted.');
        }
      }
      onProgress(1);
      return samples;
    } finally {
      stop();
    }
  }

  close() {
    this.listeners.clear();
    try { if (this.node) this.node.disconnect(); } catch (e) { /* already gone */ }
    this.stream.getTracks().forEach((track) => track.stop());
    if (this.context) this.context.close().catch(() => {});
  }
}

/**
 * Record `seconds` of mono audio (one clip; the microphone is opened and closed around it).
 * options: countIn seconds, onStatus({phase: 'count-in'|'recording', remaining, fraction}), onLevel, signal.
 * Resolves {samples: Float32Array, rate}.  Rejects with Error(message) a person can read.
 */
export async function recordClip(seconds, options = {}) {
  const {countIn = 0, onStatus = () => {}, onLevel, signal} = options;
  const mic = await Microphone.open({onLevel});
  try {
    await mic.wait(countIn, {signal, onTick: (remaining) => onStatus({phase: 'count-in', remaining, fraction: 0})});
    const samples = await mic.capture(seconds, {signal, onProgress: (fraction) =>
      onStatus({phase: 'recording', remaining: Math.max(0, seconds * (1 - fraction)), fraction})});
    return {samples, rate: mic.rate};
  } finally {
    mic.close();
  }
}
