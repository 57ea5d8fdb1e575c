// Listening continuously in the test view, with the extension's windowing (extension/js/listen.js and
// bridge.json's "listening": 1 s windows ending every 250 ms; at most one window being classified and
// one waiting, the newest: never behind real time; a silent window counts as background; a label is
// "heard" when it is not the background label, its probability is at least the threshold and the
// minimum interval since the last detection has passed).  The studio does not serve the extension's
// scripts, so each window is classified by the studio's own route (POST api/models/<m>/classify) and
// its stored test entry is deleted again at once: live windows never become test results.
import {api, enc, modelUrl} from './core.js';
import {encodeWav} from './wav.js';
import {Microphone} from './recorder.js';

/** The extension's listening rule (bridge.json "listening"), the numbers the page uses. */
export const LISTENING = {windowSeconds: 1.0, hopMs: 250, threshold: 0.8, minimumIntervalMs: 1000,
  background: '_background_noise_'};
/** The hop when the studio serves other computers (a classroom): half the windows, so 30 listening
 * students do not take the computer that trains everyone's models. */
export const SHARED_HOP_MS = 500;
/** A window whose loudest sample is below this is silent (the default feature profile's silence_dbfs). */
const SILENCE_DBFS = -70;

/**
 * Start listening with `model` (its labels in output order), a window ending every `hopMs`.
 * onWindow({probabilities (label order) |
 * null for silence, endSeconds}), onHeard({label, confidence, time}), onLevel, onError.  Returns
 * {stop(), stats()} once the microphone is open.
 */
export async function startListening(model, {hopMs = LISTENING.hopMs, onWindow, onHeard = () => {}, onLevel, onError}) {
  const mic = await Microphone.open({onLevel});
  const rate = mic.rate;
  const window = Math.floor(LISTENING.windowSeconds * rate + 0.5);
  const hop = Math.max(1, Math.floor(hopMs * rate / 1000 + 0.5));
  const minimumInterval = Math.floor(LISTENING.minimumIntervalMs * rate / 1000 + 0.5);
  const capacity = window + Math.ceil(2 * rate);
  const ring = new Float32Array(capacity);
  const labels = model.labels.slice();
  const counts = {due: 0, classified: 0, silent: 0, dropped: 0, detections: 0};
  const silence = 10 ** (SILENCE_DBFS / 20);
  let received = 0;
  let nextEnd = window;
  let waiting = null;
  let running = false;
  let stopped = false;
  let lastEnd = null;

  const windowEnding = (end) => {
    const samples = new Float32Array(window);
    let at = (end - window) % capacity;
    for (let i = 0; i < window; i++) {
      samples[i] = ring[at];
      at = at + 1 === capacity ? 0 : at + 1;
    }
    return samples;
  };

  async function classify(samples) {
    let peak = 0;
    for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]));
    if (peak < silence) return null;
    let entry;
    try {
      entry = await api('POST', `${modelUrl(model.id)}/classify`, encodeWav(samples, rate),
        {'X-Clip-Source': 'recorded', 'X-Clip-Name': enc('live')});
    } catch (error) {
      if (error.status === 400 && /silent/.test(error.message)) return null;
      throw error;
    }
    api('DELETE', `${modelUrl(model.id)}/tests/${enc(entry.id)}`).catch(() => {});
    const p = Object.fromEntries(entry.result);
    return labels.map((label) => p[label] || 0);
  }

  function decide(end, probabilities) {
    if (!probabilities) return null;
    let top = 0;
    for (let i = 1; i < probabilities.length; i++) if (probabilities[i] > probabilities[top]) top = i;
    const label = labels[top];
    if (label === LISTENING.background || !(probabilities[top] >= LISTENING.threshold)) return null;
    if (lastEnd !== null && end - lastEnd < minimumInterval) return null;
    lastEnd = end;
    return {label, confidence: probabilities[top], time: end / rate};
  }

  function pump() {
    if (running || stopped || waiting === null) return;
    const end = waiting;
    waiting = null;
    if (end - window < received - capacity) { counts.dropped++; pump(); return; }
    running = true;
    classify(windowEnding(end)).then((probabilities) => {
      if (stopped) return;
      counts.classified++;
      if (!probabilities) counts.silent++;
      onWindow({probabilities, endSeconds: end / rate, labels});
      const heard = labels.includes(LISTENING.background) ? decide(end, probabilities) : null;
      if (heard) { counts.detections++; onHeard(heard); }
    }, (error) => { if (!stopped) onError(error); }).finally(() => { running = false; pump(); });
  }

  const unlisten = mic.listen((block) => {
    if (stopped) return;
    let at = received % capacity;
    for (let i = 0; i < block.length; i++) {
      ring[at] = block[i];
      at = at + 1 === capacity ? 0 : at + 1;
    }
    received += block.length;
    while (nextEnd <= received) {
      counts.due++;
      if (waiting !== null) counts.dropped++;  // replaced by a newer window before its turn
      waiting = nextEnd;
      nextEnd += hop;
    }
    pump();
  });

  return {
    stop() {
      stopped = true;
      unlisten();
      mic.close();
    },
    stats: () => ({...counts, seconds: received / rate}),
  };
}
