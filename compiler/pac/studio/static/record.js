// Recording sessions in the recording dialog: a count-in, one or several takes in a row with a short gap,
// a live level meter all along, the "no sound heard, keep it?" question for a quiet take, and the
// guided recording of the room for the _background_noise_ label (cut into 1 s clips).
import {$, $$, h, api, labelUrl, state} from './core.js';
import {encodeWav} from './wav.js';
import {Microphone, measure, meterFraction, sleep} from './recorder.js';

/** Seconds between two takes of "record N in a row". */
export const GAP_SECONDS = 1;
/** The most takes one press of Record makes. */
export const MAX_TAKES = 20;
/** The room recording's choices (seconds) and the clip length it is cut into. */
export const ROOM_SECONDS = [10, 15, 20];
export const ROOM_CLIP_SECONDS = 1;

let session = null;  // {controller, opener}

export const recordingNow = () => session !== null;

// -- the dialog ------------------------------------------------------------------------------------

function focusables(root) {
  return $$('button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])', root)
    .filter((el) => !el.disabled && !el.closest('[hidden]'));
}

/** Keep Tab inside an open dialog; Escape runs onEscape.  Installed once for every overlay. */
export function trapFocus(event) {
  const overlay = $$('.overlay').find((o) => !o.hidden);
  if (!overlay) return;
  if (event.key === 'Escape') {
    event.preventDefault();
    overlay.dispatchEvent(new CustomEvent('escape'));
    return;
  }
  if (event.key !== 'Tab') return;
  const items = focusables(overlay);
  if (!items.length) { event.preventDefault(); return; }
  const first = items[0];
  const last = items[items.length - 1];
  if (event.shiftKey && (document.activeElement === first || !overlay.contains(document.activeElement))) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (document.activeElement === last || !overlay.contains(document.activeElement))) {
    event.preventDefault();
    first.focus();
  }
}

function setLevel({peak}) {
  const meter = $('#rec-level');
  const value = Math.round(100 * meterFraction(peak));
  meter.firstElementChild.style.width = `${value}%`;
  meter.setAttribute('aria-valuenow', String(value));
  meter.dataset.peak = peak.toFixed(4);
  meter.classList.toggle('loud', peak > 0.9);
}

function say(text) { $('#rec-phase').textContent = text; }

function showCount(text, recordingPhase, fraction) {
  const count = $('#rec-count');
  count.textContent = text;
  count.className = `count ${recordingPhase ? 'recording' : ''}`;
  $('#rec-bar').style.width = `${Math.round(100 * fraction)}%`;
}

/** Ask the question in the dialog; resolves with the chosen answer's value. */
function ask(text, answers, signal) {
  const box = $('#rec-question');
  $('#rec-question-text').textContent = text;
  return new Promise((resolve, reject) => {
    const buttons = answers.map(([value, label, cls]) => h('button', {type: 'button', class: cls || '',
      dataset: {answer: value}, onclick: () => { box.hidden = true; resolve(value); }}, label));
    $('#rec-answers').replaceChildren(...buttons);
    box.hidden = false;
    say(text);
    buttons[0].focus();
    if (signal) signal.addEventListener('abort', () => { box.hidden = true; reject(new DOMException('cancelled', 'AbortError')); }, {once: true});
  });
}

function openDialog(title) {
  if (session) throw new Error('A recording is already running.');
  const controller = new AbortController();
  session = {controller, opener: document.activeElement};
  state.busy = true;
  $('#rec-title').textContent = title;
  $('#rec-take').textContent = '';
  $('#rec-question').hidden = true;
  showCount('', false, 0);
  setLevel({peak: 0});
  say('Opening the microphone…');
  $('#rec-overlay').hidden = false;
  $('#rec-stop').focus();
  return controller.signal;
}

function closeDialog() {
  const opener = session && session.opener;
  session = null;
  state.busy = false;
  $('#rec-overlay').hidden = true;
  if (opener && opener.isConnected) opener.focus();
}

export function stopRecording() { if (session) session.controller.abort(); }

export function setUpRecording() {
  $('#rec-stop').addEventListener('click', stopRecording);
  $('#rec-overlay').addEventListener('escape', stopRecording);
}

// -- sessions --------------------------------------------------------------------------------------

/**
 * Record `takes` clips of `seconds` in a row (count-in before the first, GAP_SECONDS between them).
 * Every kept take goes to keep(wavBlob, takeNumber) at once (its upload runs while the next take is
 * recorded).  Resolves {kept, discarded, stopped, problems}.
 */
export async function recordTakes({title, takes, seconds, countIn, keep, check = true}) {
  const signal = openDialog(title);
  const uploads = [];
  const result = {kept: 0, discarded: 0, stopped: false, problems: []};
  let mic = null;
  try {
    mic = await Microphone.open({onLevel: setLevel});
    for (let take = 1; take <= takes; take++) {
      $('#rec-take').textContent = takes > 1 ? `Take ${take} of ${takes}` : '';
      const wait = take === 1 ? countIn : GAP_SECONDS;
      if (wait > 0) {
        say(take === 1 ? 'Get ready…' : `Next take in ${wait} s`);
        await mic.wait(wait, {signal, onTick: (left) => showCount(`${take === 1 ? 'Get ready…' : 'Next…'} ${Math.ceil(left)}`, false, 0)});
      }
      say(takes > 1 ? `Recording take ${take} of ${takes}` : 'Recording');
      const samples = await mic.capture(seconds, {signal, onProgress: (fraction) =>
        showCount(`● ${Math.max(0, seconds * (1 - fraction)).toFixed(1)} s`, true, fraction)});
      const level = measure(samples);
      if (check && level.quiet) {
        const answer = await ask(`No sound heard${takes > 1 ? ` in take ${take}` : ''} (loudest ${
          Number.isFinite(level.peakDbfs) ? level.peakDbfs.toFixed(0) : '-∞'} dBFS). Keep it?`,
        [['discard', 'Discard', 'primary'], ['keep', 'Keep it']], signal);
        if (answer === 'discard') { result.discarded += 1; continue; }
      }
      result.kept += 1;
      uploads.push(Promise.resolve(keep(encodeWav(samples, mic.rate), take)).catch((error) => result.problems.push(error.message)));
    }
  } catch (error) {
    if (error.name !== 'AbortError') throw error;
    result.stopped = true;
  } finally {
    if (mic) mic.close();
    if (uploads.length) say('Saving…');
    await Promise.all(uploads);
    closeDialog();
  }
  return result;
}

/** Upload one recorded clip into a label (`source` "room": a recording of the room, see recordRoom). */
export const storeClip = (label, wav, source = 'recorded') =>
  api('POST', `${labelUrl(label)}/clips`, wav, {'X-Clip-Source': source});

/**
 * The room: `seconds` of it recorded in one go, stored as ROOM_CLIP_SECONDS clips (separate WAV files) in
 * the background label, which is made first when missing.  They are stored as the room's (file names
 * `room-…`), so training mixes them into the other labels' clips instead of made-up noise.  Resolves {stored, problems, stopped}.
 */
export async function recordRoom(seconds, countIn) {
  const label = state.project.background_label;
  if (!state.project.labels.some((l) => l.name === label)) await api('POST', 'api/labels', {name: label});
  const signal = openDialog('Recording the room: stay quiet, let it sound as it usually does');
  let mic = null;
  let samples = null;
  let rate = 0;
  const result = {stored: 0, problems: [], stopped: false};
  try {
    mic = await Microphone.open({onLevel: setLevel});
    rate = mic.rate;
    if (countIn > 0) {
      say('Get ready: be quiet from now on');
      await mic.wait(countIn, {signal, onTick: (left) => showCount(`Get ready… ${Math.ceil(left)}`, false, 0)});
    }
    say(`Recording the room for ${seconds} s`);
    samples = await mic.capture(seconds, {signal, keepPartial: true, onProgress: (fraction) =>
      showCount(`● ${Math.max(0, seconds * (1 - fraction)).toFixed(0)} s`, true, fraction)});
    result.stopped = signal.aborted;  // Stop: the whole seconds recorded so far are kept
  } catch (error) {
    if (error.name !== 'AbortError') { closeDialog(); if (mic) mic.close(); throw error; }
    result.stopped = true;
  } finally {
    if (mic) mic.close();
  }
  try {
    if (samples) {
      const size = Math.round(ROOM_CLIP_SECONDS * rate);
      const n = Math.floor(samples.length / size);
      for (let i = 0; i < n; i++) {
        say(`Saving clip ${i + 1} of ${n}`);
        showCount(`${i + 1} / ${n}`, false, (i + 1) / n);
        try {
          await storeClip(label, encodeWav(samples.subarray(i * size, (i + 1) * size), rate), 'room');
          result.stored += 1;
        } catch (error) {
          result.problems.push(`clip ${i + 1}: ${error.message}`);
        }
      }
    }
  } finally {
    closeDialog();
  }
  await sleep(0);
  return result;
}
