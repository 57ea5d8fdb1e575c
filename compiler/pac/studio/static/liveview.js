// Step 3, listening continuously: the live microphone through the extension's listening code
// (live.js), bars for every window, and Threshold / MinimumInterval fields that show at once when Heard
// would fire at those values over the windows heard so far (also after Stop), so a teacher can choose
// them before building the app.
import {$, h, svg, state, bars, labelColor, currentModel} from './core.js';
import {fieldError} from './toasts.js';
import {startListening, detections, rules, SHARED_HOP_MS} from './live.js';
import {meterFraction} from './recorder.js';

let live = null;  // {model, handle} while listening
let heardRun = null;  // the last listening's {model, labels, windows, rate, hopMs}, kept after Stop for tuning
let shownHeard = [];  // keys of the detections in #live-heard, newest first

function liveLevel({peak}) {
  const meter = $('#live-level');
  const value = Math.round(100 * meterFraction(peak));
  meter.firstElementChild.style.width = `${value}%`;
  meter.setAttribute('aria-valuenow', String(value));
}

/** The Threshold and MinimumInterval fields, filled once with bridge.json's defaults. */
function liveSettings() {
  const threshold = $('#live-threshold');
  const interval = $('#live-interval');
  if (!threshold.dataset.filled) {
    const r = rules();
    threshold.value = String(r.default_threshold);
    interval.value = String(r.default_minimum_interval_ms);
    interval.max = String(r.minimum_interval_ms_max);
    threshold.dataset.filled = interval.dataset.filled = '1';
  }
  return {threshold: threshold.value === '' ? NaN : Number(threshold.value),
    minimumIntervalMs: interval.value === '' ? NaN : Number(interval.value)};
}

/** Heard, as the extension would fire it at the typed settings over the windows heard so far. */
function renderHeard() {
  const run = heardRun;
  const settings = liveSettings();
  const holder = $('#live-settings');
  if (!run) return;
  const background = rules().background_label;
  let found;
  try {
    found = detections(run.labels, run.windows, run.rate, {...settings, hopMs: run.hopMs});
    fieldError(holder, null);
  } catch (error) {
    fieldError(holder, error);
    return;
  }
  const seconds = run.windows.length ? (run.windows[run.windows.length - 1].end - run.windows[0].end) / run.rate : 0;
  const counts = run.labels.filter((l) => l !== background).map((l) => [l, found.filter((d) => d.label === l).length]);
  $('#live-would').textContent = run.labels.includes(background)
    ? `At Threshold ${settings.threshold} and MinimumInterval ${settings.minimumIntervalMs} ms, Heard fires ` +
      `${found.length} time${found.length === 1 ? '' : 's'} in these ${seconds.toFixed(0)} s ` +
      `(${counts.map(([l, n]) => `${l} ${n}`).join(', ')}).`
    : '';
  $('#live-would').dataset.heard = String(found.length);
  timeline(run, settings.threshold, found);
  const keys = found.map((d) => `${d.endSample}:${d.label}`).reverse();
  const list = $('#live-heard');
  const item = (d) => h('li', {dataset: {end: d.endSample}}, `${d.time.toFixed(1)} s: `,
    h('b', {style: {color: labelColor(d.label, run.labels)}}, d.label), ` (${Math.round(100 * d.confidence)}%)`);
  const fresh = keys.length - shownHeard.length;
  if (fresh >= 0 && shownHeard.every((k, i) => k === keys[fresh + i])) {
    list.prepend(...found.slice(found.length - fresh).reverse().map(item));  // only the new ones are announced
  } else {
    list.replaceChildren(...found.slice(-8).reverse().map(item));
  }
  while (list.children.length > 8) list.lastElementChild.remove();
  shownHeard = keys;
}

/** The last 20 s of windows: the top label's probability (its colour), the threshold, a mark where Heard fires. */
function timeline(run, threshold, found) {
  const last = run.windows.slice(-80);
  const width = 400;
  const height = 60;
  const step = width / 80;
  const fired = new Set(found.map((d) => d.endSample));
  const bg = rules().background_label;
  const shapes = last.map((w, i) => {
    if (!w.probabilities) return null;
    const top = w.probabilities.indexOf(Math.max(...w.probabilities));
    const p = w.probabilities[top];
    const label = run.labels[top];
    const x = i * step;
    const y = height - 8 - p * (height - 12);
    return [svg('rect', {x: x + 0.5, y, width: step - 1, height: height - 8 - y,
      fill: label === bg ? '#9ca3af' : labelColor(label, run.labels)}),
    fired.has(w.end) ? svg('circle', {cx: x + step / 2, cy: 3, r: 2.5, fill: '#111827', class: 'fired'}) : null];
  });
  const y = height - 8 - (Number.isFinite(threshold) ? threshold : 0) * (height - 12);
  $('#live-timeline').replaceChildren(svg('svg', {viewBox: `0 0 ${width} ${height}`, class: 'timeline', role: 'img',
    preserveAspectRatio: 'xMinYMid meet',
    'aria-label': `The last ${last.length} windows: the top label's probability, the threshold line, a dot where Heard fires`},
  shapes.flat(), svg('line', {x1: 0, x2: width, y1: y, y2: y, stroke: '#b3261e', 'stroke-dasharray': '4 3'})));
}

export function stopLive() {
  if (!live) return;
  const {handle} = live;
  live = null;
  state.busy = false;
  if (handle) handle.stop();
  const button = $('#live-toggle');
  button.setAttribute('aria-pressed', 'false');
  button.textContent = '◉ Listen continuously';
  $('#live-panel').classList.remove('on');
  $('#live-status').textContent = 'Stopped: change Threshold or MinimumInterval to see what Heard would have done.';
}

async function toggleLive() {
  const button = $('#live-toggle');
  if (live) { stopLive(); return; }
  const m = currentModel();
  if (!m) return;
  live = {model: m.id, handle: null};
  state.busy = true;
  button.setAttribute('aria-pressed', 'true');
  button.textContent = '■ Stop listening';
  $('#live-panel').classList.add('on');
  $('#live-bars').replaceWith(bars(null, m.labels, {id: 'live-bars'}));
  $('#live-heard').replaceChildren();
  $('#live-would').textContent = '';
  $('#live-timeline').replaceChildren();
  shownHeard = [];
  heardRun = null;
  $('#live-status').textContent = 'Opening the microphone…';
  const r = rules();
  const background = r.background_label;
  const hopMs = state.project.remote ? SHARED_HOP_MS : r.hop_ms;
  $('#live-note').textContent = m.labels.includes(background)
    ? `The extension's continuous listening: a ${r.window_seconds} s window every ${hopMs} ms; Heard fires when a ` +
      `label other than ${background} reaches Threshold, then not again for MinimumInterval. Set the two here ` +
      'as you will in App Inventor.'
    : `A ${r.window_seconds} s window every ${hopMs} ms. Add a ${background} label (step 1) and train again to ` +
      'see what the extension would report as heard.';
  try {
    const handle = await startListening(m, {
      hopMs,
      onLevel: liveLevel,
      onWindow: ({probabilities, endSeconds, labels}) => {
        if (!live) return;
        const shown = bars(probabilities || labels.map((l) => (l === background ? 1 : 0)), labels, {id: 'live-bars'});
        shown.classList.toggle('silent', !probabilities);
        $('#live-bars').replaceWith(shown);
        const s = handle.stats ? handle.stats() : null;
        $('#live-status').textContent = `Listening: ${endSeconds.toFixed(1)} s` +
          (s ? `, ${s.classified} windows classified, ${s.dropped} skipped to keep up` : '') + (probabilities ? '' : ' (silence)');
        renderHeard();
      },
      onError: (error) => { fieldError(button, error); stopLive(); },
    });
    if (!live) { handle.stop(); return; }
    live.handle = handle;
    heardRun = {model: m.id, labels: m.labels.slice(), windows: handle.windows, rate: handle.rate, hopMs};
    fieldError(button, null);
    $('#live-status').textContent = 'Listening…';
  } catch (error) {
    live = null;
    stopLive();
    fieldError(button, error);
  }
}

/** The test view shows model `m`: listening to another model stops, its windows are forgotten. */
export function renderLive(m) {
  if (live && live.model !== m.id) stopLive();
  if (heardRun && heardRun.model !== m.id) heardRun = null;
  liveSettings();
}

export function setUpLive() {
  $('#live-toggle').addEventListener('click', toggleLive);
  for (const field of ['#live-threshold', '#live-interval']) $(field).addEventListener('input', renderHeard);
  document.addEventListener('visibilitychange', () => { if (document.hidden) stopLive(); });
  window.addEventListener('hashchange', () => { if (location.hash !== '#test') stopLive(); });
}
