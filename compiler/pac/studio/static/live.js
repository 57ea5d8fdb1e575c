// Listening continuously in the test view with the extension's own code: its windowing and decision
// rule are extension/js/listen.js (served by the studio as runtime/listen.js, window.PacRuntime.listen)
// with bridge.json's "listening" numbers (api/project's `listening`).  Each window is classified by the
// studio (POST api/models/<m>/classify?keep=0: the probabilities only, nothing stored).  The decisions
// are made here, again with listen.js's Decider, over the windows heard so far: a Threshold or
// MinimumInterval typed while (or after) listening shows at once when Heard would have fired.
import {api, modelUrl, state} from './core.js';
import {encodeWav} from './wav.js';
import {Microphone} from './recorder.js';

/** The hop when the studio serves other computers (a classroom): half the windows, so 30 listening
 * students do not take the computer that trains everyone's models. */
export const SHARED_HOP_MS = 500;
/** Windows kept for replaying the decisions with other settings (2 minutes at a 250 ms hop). */
const HISTORY_WINDOWS = 480;

/** bridge.json's "listening" rules, as the studio sends them. */
export const rules = () => state.project.listening;

/** listen.js (window.PacRuntime.listen), its constants set to the studio's listening rules. */
export function runtime() {
  const R = window.PacRuntime;
  if (!R || !R.listen) throw new Error('The page could not load runtime/listen.js: reload the page.');
  R.constants = {...(R.constants || {}), listening: rules()};
  return R.listen;
}

/**
 * When Heard would fire over `windows` ([{end, probabilities}] in sample order, probabilities null for
 * silence) at `rate` with {threshold, minimumIntervalMs, hopMs}: listen.js's settings (a RangeError
 * names a bad value) and Decider.  [] for a model without the background label.
 */
export function detections(labels, windows, rate, options) {
  const L = runtime();
  const settings = L.settings(rate, options);
  if (!labels.includes(settings.background)) return [];
  const decider = new L.Decider(labels, settings);
  return windows.map((w) => decider.step(w.end, w.probabilities)).filter(Boolean);
}

/**
 * Start listening with `model` (its labels in output order), a window ending every `hopMs`.
 * onWindow({probabilities (label order) | null for silence, end, endSeconds, labels}) for every
 * classified window; onLevel, onError.  Returns {rate, windows, stop(), stats()} once the microphone is
 * open; `windows` keeps the last windows ({end, probabilities}) for detections().
 */
export async function startListening(model, {hopMs, onWindow, onLevel, onError}) {
  const L = runtime();
  const mic = await Microphone.open({onLevel});
  const rate = mic.rate;
  const labels = model.labels.slice();
  const windows = [];
  let stream;
  try {
    stream = new L.Stream({
      settings: L.settings(rate, {hopMs}),
      labels,
      decide: false,
      classify: async (samples) => {
        const answer = await api('POST', `${modelUrl(model.id)}/classify?keep=0`, encodeWav(samples, rate),
          {'X-Clip-Source': 'recorded'});
        if (!answer.probabilities) return null;
        const p = Object.fromEntries(answer.labels.map((label, i) => [label, answer.probabilities[i]]));
        return labels.map((label) => p[label] || 0);
      },
      onWindow: (end, probabilities) => {
        windows.push({end, probabilities});
        if (windows.length > HISTORY_WINDOWS) windows.shift();
        onWindow({probabilities, end, endSeconds: end / rate, labels});
      },
      onError: (error) => { stream.stop(); onError(error); },
    });
  } catch (error) {
    mic.close();
    throw error;
  }
  const unlisten = mic.listen((block) => stream.push(block));
  return {
    rate,
    windows,
    stop() {
      stream.stop();
      unlisten();
      mic.close();
    },
    stats: () => {
      const s = stream.stats();
      return {...s, seconds: s.received / rate};
    },
  };
}
