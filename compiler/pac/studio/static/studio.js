// pac studio: the page.  All state lives in the project folder on the server; this file shows it and
// sends the user's actions to the JSON API (see compiler/pac/studio/server.py).
import {encodeWav} from './wav.js';
import {recordClip} from './recorder.js';

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/** Build an element: h('div', {class: 'x', onclick: f}, 'text', child, ...).  Text is never parsed as HTML. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElementNS(tag === 'svg' || attrs.svg ? 'http://www.w3.org/2000/svg' : 'http://www.w3.org/1999/xhtml', tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false || key === 'svg') continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style') Object.assign(el.style, value);  // CSSOM: allowed by the page's CSP
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}
const svg = (tag, attrs = {}, ...children) => h(tag, {...attrs, svg: true}, ...children);

const state = {
  project: null,
  revision: null,
  view: 'clips',
  modelId: null,
  tests: null,
  testsFor: null,
  training: null,
  exports: {},
};

// -- talking to the server -------------------------------------------------------------------------

async function api(method, url, body, headers = {}) {
  const options = {method, headers: {...headers}};
  if (method !== 'GET') options.headers['X-Pac-Studio'] = '1';
  if (body instanceof Blob) {
    options.body = body;
    options.headers['Content-Type'] = body.type || 'application/octet-stream';
  } else if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    throw new Error('The studio server does not answer. Is pac studio still running? (Start it again; ' +
      'nothing is lost.)');
  }
  let data = null;
  try { data = await response.json(); } catch (error) { data = null; }
  if (!response.ok) {
    throw new Error((data && data.error) || `The server answered ${response.status} ${response.statusText}`);
  }
  return data;
}

const enc = encodeURIComponent;
const labelUrl = (label) => `api/labels/${enc(label)}`;
const clipUrl = (label, clip) => `${labelUrl(label)}/clips/${enc(clip)}`;
const modelUrl = (model) => `api/models/${enc(model)}`;
const testUrl = (test) => `${modelUrl(state.modelId)}/tests/${enc(test)}`;

// -- messages --------------------------------------------------------------------------------------

function message(text, kind = 'info', timeout = kind === 'error' ? 0 : 4000) {
  const box = h('div', {class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status'}, text,
    h('button', {type: 'button', 'aria-label': 'Close', title: 'Close', onclick: () => box.remove()}, '×'));
  $('#messages').append(box);
  while ($('#messages').children.length > 6) $('#messages').firstElementChild.remove();
  if (timeout) setTimeout(() => box.remove(), timeout);
  return box;
}
const showError = (error) => message(error instanceof Error ? error.message : String(error), 'error');

async function guarded(fn) {
  try {
    return await fn();
  } catch (error) {
    showError(error);
    return undefined;
  }
}

// -- settings kept in the browser ------------------------------------------------------------------

function pref(name, fallback) {
  try {
    const value = localStorage.getItem(`pac-studio:${name}`);
    return value === null ? fallback : value;
  } catch (error) { return fallback; }
}
function setPref(name, value) {
  try { localStorage.setItem(`pac-studio:${name}`, String(value)); } catch (error) { /* private mode */ }
}

// -- loading the project ---------------------------------------------------------------------------

async function refresh(force = false) {
  const since = !force && state.revision ? `?since=${enc(state.revision)}` : '';
  const data = await api('GET', `api/project${since}`);
  if (data.unchanged) return false;
  state.project = data;
  state.revision = data.revision;
  if (data.training && (!state.training || state.training.state === 'running' || state.training.id !== data.training.id)) {
    state.training = data.training;
  }
  const ids = data.models.map((m) => m.id);
  if (!ids.includes(state.modelId)) {
    const remembered = pref(`model:${data.path}`, null);
    state.modelId = ids.includes(remembered) ? remembered : (ids.length ? ids[ids.length - 1] : null);
  }
  render();
  return true;
}

function selectModel(id) {
  if (!id || id === state.modelId) return;
  state.modelId = id;
  setPref(`model:${state.project.path}`, id);
  state.tests = null;
  render();
}

const currentModel = () => (state.project ? state.project.models.find((m) => m.id === state.modelId) : null);

// -- views -----------------------------------------------------------------------------------------

function showView(view) {
  if (!['clips', 'train', 'test', 'download'].includes(view)) view = 'clips';
  state.view = view;
  $$('#tabs a').forEach((a) => a.classList.toggle('active', a.dataset.view === view));
  $$('.view').forEach((section) => { section.hidden = section.id !== `view-${view}`; });
  render();
}

function render() {
  const p = state.project;
  if (!p) return;
  $('#loading').hidden = true;
  $('#project-name').textContent = `— ${p.name}`;
  $('#project-name').title = p.path;
  document.title = `${p.name} · pac studio`;
  renderBase();
  if (state.view === 'clips') renderClips();
  if (state.view === 'train') renderTrain();
  if (state.view === 'test') renderTest();
  if (state.view === 'download') renderDownload();
}

const NETWORK_NAMES = {mobilenet: 'MobileNet', speech: 'speech'};

function renderBase() {
  const base = state.project.base || {};
  const chip = $('#base-status');
  const loaded = (base.networks || []).slice().reverse().map((n) => NETWORK_NAMES[n] || n).join(' + ');
  chip.className = `chip ${base.state || ''}`;
  const Loaded = loaded.charAt(0).toUpperCase() + loaded.slice(1);
  chip.textContent = {ready: `${Loaded || 'Networks'} ready`, failed: 'Networks: not available',
    loading: 'Networks: loading…'}[base.state] || 'Networks: load when needed';
  chip.title = base.message || 'The pretrained networks every classifier starts from: the speech embedding and ' +
    'the MobileNet image network';
}

// -- 1. labels and clips ---------------------------------------------------------------------------

function fmtSeconds(s) { return s === null || s === undefined ? '?' : `${s.toFixed(s < 10 ? 2 : 1)} s`; }
function fmtRate(r) { return r ? `${r % 1000 === 0 ? r / 1000 : (r / 1000).toFixed(1)} kHz` : ''; }

function clipTile(label, clip) {
  const url = clipUrl(label, clip.id);
  const title = `${clip.id}\n${fmtSeconds(clip.duration)}, ${fmtRate(clip.rate) || '? Hz'}, ${clip.channels || '?'} channel(s)`;
  const picture = clip.problem
    ? h('div', {class: 'problem'}, clip.problem)
    : h('img', {src: `${url}/spectrogram?profile=${enc(state.project.profile)}`, alt: `spectrogram of ${clip.id}`,
      loading: 'lazy', width: 120, height: 120, title: 'What the model sees: this clip’s spectrogram'});
  return h('div', {class: `clip ${clip.problem ? 'bad' : ''} ${clip.source}`, dataset: {clip: clip.id}, title},
    picture,
    h('div', {class: 'meta'},
      h('span', {}, fmtSeconds(clip.duration)),
      h('button', {type: 'button', class: 'icon play', title: 'Play', 'aria-label': `Play ${clip.id}`,
        onclick: () => play(url + '/audio')}, '▶'),
      h('button', {type: 'button', class: 'icon delete', title: 'Delete this clip', 'aria-label': `Delete ${clip.id}`,
        onclick: () => guarded(async () => {
          await api('DELETE', url);
          await refresh(true);
        })}, '✕')));
}

let player = null;
function play(url) {
  if (player) player.pause();
  player = new Audio(url);
  player.play().catch((error) => showError(`The clip cannot be played here (${error.message}).`));
}

function labelCard(label) {
  const minimum = state.project.limits.min_clips;
  const usable = label.clips.filter((c) => !c.problem).length;
  const input = h('input', {type: 'file', accept: '.wav,.wave,audio/wav,audio/x-wav', multiple: true, hidden: true,
    class: 'upload-input', onchange: (event) => {
      const files = Array.from(event.target.files);
      event.target.value = '';
      uploadFiles(label.name, files);
    }});
  const card = h('div', {class: 'label-card', dataset: {label: label.name}},
    h('div', {class: 'label-head'},
      h('h3', {}, label.name),
      h('span', {class: `count ${usable < minimum ? 'low' : ''}`},
        `${label.clips.length} clip${label.clips.length === 1 ? '' : 's'}` + (usable < minimum ? ` (needs ${minimum})` : '')),
      h('button', {type: 'button', class: 'primary record', onclick: () => recordInto(label.name)}, '● Record'),
      h('label', {class: 'button upload'}, 'Upload WAV…', input),
      h('button', {type: 'button', class: 'rename', onclick: () => renameLabel(label.name)}, 'Rename'),
      h('button', {type: 'button', class: 'danger delete-label', onclick: () => deleteLabel(label)}, 'Delete')),
    h('div', {class: 'clips'},
      label.clips.length ? label.clips.map((clip) => clipTile(label.name, clip))
        : h('span', {class: 'none'}, 'No clips yet: record some, or drop WAV files here.')));
  makeDropTarget(card, (files) => uploadFiles(label.name, files));
  return card;
}

// Label cards are rebuilt only when their label changed, so clicks, focus and images survive polling.
const cardCache = new Map();

function renderClips() {
  const p = state.project;
  const container = $('#labels');
  const scroll = window.scrollY;
  const cards = p.labels.map((label) => {
    const signature = JSON.stringify([label, p.profile, p.limits.min_clips]);
    const cached = cardCache.get(label.name);
    if (cached && cached.signature === signature) return cached.card;
    const card = labelCard(label);
    cardCache.set(label.name, {signature, card});
    return card;
  });
  for (const name of Array.from(cardCache.keys())) {
    if (!p.labels.some((l) => l.name === name)) cardCache.delete(name);
  }
  const current = Array.from(container.children);
  if (current.length !== cards.length || current.some((card, i) => card !== cards[i])) container.replaceChildren(...cards);
  window.scrollTo(0, scroll);
  $('#no-labels').hidden = p.labels.length > 0;
  $('#bg-hint').hidden = p.labels.some((l) => l.name === p.background_label);
}

const carriesFiles = (event) => Array.from(event.dataTransfer.types || []).includes('Files');

function makeDropTarget(element, onFiles) {
  let depth = 0;
  element.addEventListener('dragenter', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth += 1;
    element.classList.add('dragover');
  });
  element.addEventListener('dragover', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  element.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) element.classList.remove('dragover');
  });
  element.addEventListener('drop', (event) => {
    event.preventDefault();
    event.stopPropagation();
    depth = 0;
    element.classList.remove('dragover');
    const files = Array.from(event.dataTransfer.files || []);
    if (files.length) onFiles(files);
  });
}

async function addLabel(name) {
  const created = await guarded(() => api('POST', 'api/labels', {name}));
  if (created) {
    await guarded(() => refresh(true));
    const card = $$('.label-card').find((c) => c.dataset.label === created.name);
    if (card) card.scrollIntoView({block: 'nearest'});
  }
  return created;
}

async function renameLabel(old) {
  const name = window.prompt(`New name for the label “${old}”:`, old);
  if (name === null || name.trim() === old) return;
  await guarded(async () => {
    await api('POST', `${labelUrl(old)}/rename`, {name});
    await refresh(true);
  });
}

async function deleteLabel(label) {
  const n = label.clips.length;
  if (!window.confirm(`Delete the label “${label.name}”` + (n ? ` and its ${n} clip${n === 1 ? '' : 's'}` : '') +
    '? This cannot be undone.')) return;
  await guarded(async () => {
    await api('DELETE', labelUrl(label.name));
    await refresh(true);
  });
}

async function uploadFiles(label, files) {
  const limit = state.project.limits.max_clip_bytes;
  const problems = [];
  let done = 0;
  const note = files.length > 1 ? message(`Uploading ${files.length} files…`, 'info', 0) : null;
  for (const file of files) {
    if (file.size > limit) {
      problems.push(`${file.name}: the file is too large (${(file.size / 1e6).toFixed(1)} MB, at most ` +
        `${Math.round(limit / 1e6)} MB); use a shorter clip`);
      continue;
    }
    try {
      await api('POST', `${labelUrl(label)}/clips`, file.slice(0, file.size, file.type || 'audio/wav'),
        {'X-Clip-Source': 'uploaded', 'X-Clip-Name': enc(file.name)});
      done += 1;
    } catch (error) {
      problems.push(error.message);
    }
    if (note) note.firstChild.textContent = `Uploading: ${done + problems.length} of ${files.length}…`;
  }
  if (note) note.remove();
  if (done) message(`Added ${done} clip${done === 1 ? '' : 's'} to “${label}”.`, 'ok');
  if (problems.length) {
    message(`${problems.length === 1 ? 'This file was' : `${problems.length} files were`} not added:\n` +
      problems.join('\n'), 'error');
  }
  await guarded(() => refresh(true));
}

// recording, with the overlay showing the countdown
let recording = null;

async function record(title) {
  if (recording) throw new Error('A recording is already running.');
  const seconds = parseFloat($('#clip-seconds').value);
  const countIn = parseFloat($('#count-in').value);
  const controller = new AbortController();
  recording = controller;
  $('#rec-title').textContent = title;
  $('#rec-count').textContent = '';
  $('#rec-count').className = 'count';
  $('#rec-bar').style.width = '0%';
  $('#rec-overlay').hidden = false;
  try {
    const {samples, rate} = await recordClip(seconds, {
      countIn,
      signal: controller.signal,
      onStatus: ({phase, remaining, fraction}) => {
        const count = $('#rec-count');
        if (phase === 'count-in') {
          count.textContent = `Get ready… ${Math.ceil(remaining)}`;
          count.className = 'count';
        } else {
          count.textContent = `● ${remaining.toFixed(1)} s`;
          count.className = 'count recording';
        }
        $('#rec-bar').style.width = `${Math.round(100 * fraction)}%`;
      },
    });
    return encodeWav(samples, rate);
  } finally {
    recording = null;
    $('#rec-overlay').hidden = true;
  }
}

async function recordInto(label) {
  try {
    const wav = await record(`Recording for “${label}”`);
    await api('POST', `${labelUrl(label)}/clips`, wav, {'X-Clip-Source': 'recorded'});
    await refresh(true);
  } catch (error) {
    if (error.name !== 'AbortError') showError(error);
  }
}

// -- 2. training -----------------------------------------------------------------------------------

/** The training options as the server declares them (GET /api/train/options, from pac.train_options):
 * the presets' values, the fields' bounds, which head each belongs to; filled by loadTrainOptions(). */
const PRESETS = {};
const FIELDS = [];         // the options' fields other than radio buttons (head, noise)
const SELECTS = [];        // ... of them, the drop-down lists
const HEAD_OF = {};        // field -> the one head it matters to ('linear' or 'conv')
const ALIASES = {};        // radio value -> other spellings saved forms may hold ('off' for 'none')

async function loadTrainOptions() {
  const declared = await api('GET', 'api/train/options');
  const form = $('#train-form');
  Object.assign(PRESETS, declared.presets, {mit: {...declared.presets.paper, profile: 'pac-compat'}});
  for (const preset of Object.values(PRESETS)) {
    for (const [key, value] of Object.entries(preset)) if (value === null) preset[key] = '';  // automatic
  }
  for (const option of declared.options) {
    for (const [alias, word] of Object.entries(option.aliases)) ALIASES[alias] = word;
    const field = form.elements[option.key];
    if (field instanceof RadioNodeList) continue;
    FIELDS.push(option.key);
    if (option.head) HEAD_OF[option.key] = option.head;
    if (field.tagName === 'SELECT') {
      SELECTS.push(option.key);
    } else {
      if (option.low !== null) field.min = option.low;
      if (option.high !== null) field.max = option.high;
    }
  }
}

/** The saved form (a new key: forms saved before the speech + sound model hold PAC's head's values). */
const FORM_PREF = 'train-form-v2';
const PROFILE_NOTES = {
  default: 'log-mel spectrogram of the sound (at least 1 s wide), viridis (pac’s default; best in our benchmark)',
  paper: 'the PAC paper’s linear spectrogram of the whole clip without silences, viridis colours',
  'pac-compat': 'the spectrogram MIT’s Personal Audio Classifier website makes; needed to export a .mdl for MIT’s extension',
};
const HEAD_NAMES = {linear: 'Speech + sound features', conv: 'PAC’s original head'};
const BLOCK_NAMES = {speech: 'speech embedding', mobilenet: 'MobileNet'};

function fillForm(values) {
  const form = $('#train-form');
  for (const name of FIELDS) {
    if (values[name] === undefined || values[name] === null) continue;
    form.elements[name].value = values[name];
    if (SELECTS.includes(name) && !form.elements[name].value) form.elements[name].value = PRESETS.product[name];
  }
  const head = form.querySelector(`input[name=head][value="${CSS.escape(String(values.head))}"]`);
  if (values.head && head) head.checked = true;
  const noise = form.querySelector(`input[name=noise][value="${CSS.escape(String(ALIASES[values.noise] || values.noise))}"]`);
  if (values.noise && noise) noise.checked = true;
  if (values.noise_folder !== undefined) form.elements.noise_folder.value = values.noise_folder || '';
  syncHead();
  if (values.head === 'conv') $('#advanced').open = true;
}

const chosenHead = () => $('#train-form').querySelector('input[name=head]:checked').value;

/** Only the chosen model's own options can be edited; the other's are shown greyed out. */
function syncHead() {
  const form = $('#train-form');
  const conv = chosenHead() === 'conv';
  for (const [name, head] of Object.entries(HEAD_OF)) form.elements[name].disabled = head !== chosenHead();
  $('#conv-options').classList.toggle('off', !conv);
  $('#linear-options').classList.toggle('off', conv);
  const note = $('#head-note');
  const compat = state.project && state.project.profile === 'pac-compat' && !conv;
  note.hidden = !compat;
  note.textContent = compat ? 'The spectrogram pac-compat (MIT’s) only works with PAC’s original head: choose it ' +
    'under Advanced, or choose another spectrogram below.' : '';
}

function formValues() {
  const form = $('#train-form');
  const values = {head: chosenHead()};
  for (const name of FIELDS) values[name] = SELECTS.includes(name) ? form.elements[name].value : form.elements[name].value.trim();
  values.noise = form.querySelector('input[name=noise]:checked').value;
  values.noise_folder = form.elements.noise_folder.value.trim();
  return values;
}

async function applyPreset(name) {
  const preset = PRESETS[name];
  if (!preset || !state.project.profiles.includes(preset.profile)) return;
  fillForm(preset);
  saveForm();
  if (state.project.profile !== preset.profile) await setProfile(preset.profile);
}

async function setProfile(profile) {
  await guarded(async () => {
    await api('POST', 'api/settings', {profile});
    await refresh(true);
  });
}

function saveForm() { setPref(FORM_PREF, JSON.stringify(formValues())); }

function renderTrain() {
  const p = state.project;
  const counts = h('table', {class: 'data-table'},
    h('tr', {}, h('th', {}, 'label'), h('th', {}, 'clips')),
    p.labels.map((l) => h('tr', {}, h('td', {}, l.name), h('td', {}, String(l.clips.filter((c) => !c.problem).length)))));
  const problems = p.problems.length
    ? h('ul', {class: 'problems', id: 'train-problems'}, p.problems.map((text) => h('li', {}, text))) : null;
  $('#train-data').replaceChildren(p.labels.length ? counts : h('p', {class: 'empty'}, 'No labels yet (step 1).'),
    problems || '');
  const select = $('#profile');
  if (select.options.length !== p.profiles.length) {
    select.replaceChildren(...p.profiles.map((name) => h('option', {value: name}, name)));
  }
  select.value = p.profile;
  $('#profile-note').textContent = PROFILE_NOTES[p.profile] || '';
  syncHead();
  const running = state.training && state.training.state === 'running';
  $('#train-button').disabled = running || p.problems.length > 0;
  $('#train-button').title = p.problems.length ? p.problems.join('\n') : '';
  $('#cancel-train').hidden = !running;
  select.disabled = running;
  renderProgress();
  renderModels();
}

const percent = (v) => (v === null || v === undefined ? '–' : `${Math.round(100 * v)}%`);

/** "speech embedding (weight 1) + MobileNet (weight 0.5)": the networks a linear head uses. */
function blocksText(blocks) {
  return (blocks || []).map((b) => `${BLOCK_NAMES[b.name] || b.name} (weight ${b.weight})`).join(' + ');
}

/** The result line of a linear head: cross-validated accuracy and the networks chosen. */
function linearResult(result) {
  return h('p', {class: 'result-line', id: 'train-result'},
    'Cross-validated accuracy: ', h('b', {id: 'train-cv-accuracy'}, percent(result.accuracy)),
    ` (each of the ${result.clips} training clips scored by a model trained without it, ${result.folds} folds). ` +
    'Uses: ', h('b', {id: 'train-blocks'}, blocksText(result.blocks)), '.');
}

function renderProgress() {
  const job = state.training;
  const box = $('#train-progress');
  if (!job) {
    box.replaceChildren(h('p', {class: 'empty'}, 'No training run since the studio started. Choose the ' +
      'model and press Train.'));
    $('#live-chart').replaceChildren();
    return;
  }
  const linear = job.head !== 'conv';
  const history = job.history || {};
  const last = (list) => (list && list.length ? list[list.length - 1] : null);
  const fmt = (v, digits = 3) => (v === null || v === undefined ? '–' : v.toFixed(digits));
  const fmtLoss = (v) => (v === null || v === undefined ? '–' : v > 0 && v < 0.01 ? v.toExponential(1) : v.toFixed(3));
  const pct = linear ? (job.features_total ? Math.round(100 * job.features_done / job.features_total) : 0)
    : (job.epochs ? Math.round(100 * job.epoch / job.epochs) : 0);
  const stateText = {running: job.stage, done: 'Done: the new model is ready.', failed: 'Training failed.',
    cancelled: 'Cancelled.'}[job.state] || job.stage;
  const stats = linear
    ? [h('div', {class: 'stat'}, h('b', {id: 'stat-features'}, `${job.features_done}/${job.features_total || '?'}`),
      h('span', {}, 'clips with features')),
    h('div', {class: 'stat'}, h('b', {id: 'stat-cv-accuracy'}, job.result ? percent(job.result.accuracy) : '–'),
      h('span', {}, 'cross-validated accuracy')),
    h('div', {class: 'stat'}, h('b', {id: 'stat-networks'}, job.result
      ? job.result.blocks.map((b) => NETWORK_NAMES[b.name] || b.name).join(' + ')
      : ((job.options && job.options.bases) || 'speech+mobilenet').split('+').map((n) => NETWORK_NAMES[n] || n).join(' + ')),
    h('span', {}, job.result ? 'networks chosen' : 'networks'))]
    : [h('div', {class: 'stat'}, h('b', {id: 'stat-epoch'}, `${job.epoch}/${job.epochs}`), h('span', {}, 'epoch')),
      h('div', {class: 'stat'}, h('b', {id: 'stat-loss'}, fmtLoss(last(history.loss))), h('span', {}, 'loss')),
      h('div', {class: 'stat'}, h('b', {id: 'stat-accuracy'}, fmt(last(history.accuracy))), h('span', {}, 'accuracy')),
      h('div', {class: 'stat'}, h('b', {}, fmt(last(history.val_accuracy))), h('span', {}, 'validation accuracy'))];
  const children = [
    h('p', {id: 'train-state', class: `state-${job.state}`, dataset: {state: job.state, head: job.head || ''}}, stateText),
    h('div', {class: 'progress'}, h('div', {style: {width: `${job.state === 'done' ? 100 : pct}%`}})),
    h('div', {class: 'stats'}, stats),
    linear && job.result ? linearResult(job.result) : '',
    h('p', {class: 'hint'}, `${job.elapsed} s`),
  ];
  if (job.error) children.push(h('p', {class: 'message error', role: 'alert'}, job.error));
  box.replaceChildren(...children);
  $('#live-chart').replaceChildren(!linear && history.loss && history.loss.length ? chart(history, job.epochs) : '');
}

/** Two small line charts (loss, accuracy) of the epochs so far. */
function chart(history, epochs) {
  const width = 520;
  const height = 170;
  const pad = {l: 34, r: 8, t: 18, b: 22};
  const panel = (x0, title, series, yMax) => {
    const w = width / 2 - 10;
    const plotW = w - pad.l - pad.r;
    const plotH = height - pad.t - pad.b;
    const px = (i) => x0 + pad.l + (epochs > 1 ? (i / (epochs - 1)) * plotW : plotW / 2);
    const py = (v) => pad.t + plotH - (Math.min(v, yMax) / yMax) * plotH;
    const parts = [svg('text', {x: x0 + pad.l, y: 12}, title),
      svg('line', {x1: x0 + pad.l, y1: pad.t + plotH, x2: x0 + pad.l + plotW, y2: pad.t + plotH, stroke: '#c4c9d0'}),
      svg('line', {x1: x0 + pad.l, y1: pad.t, x2: x0 + pad.l, y2: pad.t + plotH, stroke: '#c4c9d0'}),
      svg('text', {x: x0 + 2, y: pad.t + 8}, yMax.toFixed(yMax < 10 ? 1 : 0)),
      svg('text', {x: x0 + 2, y: pad.t + plotH}, '0'),
      svg('text', {x: x0 + pad.l + plotW, y: height - 4, 'text-anchor': 'end'}, `epoch ${epochs}`)];
    series.forEach(([values, color]) => {
      if (!values || !values.length) return;
      const points = values.map((v, i) => `${px(i).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
      parts.push(svg('polyline', {points, fill: 'none', stroke: color, 'stroke-width': 2}));
    });
    return parts;
  };
  const lossMax = Math.max(0.1, ...history.loss, ...(history.val_loss || []));
  return svg('svg', {class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'training curves'},
    panel(0, 'loss (blue: training, orange: validation)', [[history.loss, '#2b5797'], [history.val_loss, '#e8710a']], lossMax),
    panel(width / 2 + 10, 'accuracy', [[history.accuracy, '#2b5797'], [history.val_accuracy, '#e8710a']], 1));
}

function renderModels() {
  const p = state.project;
  const list = $('#model-list');
  if (!p.models.length) {
    list.replaceChildren(h('p', {class: 'empty'}, 'No models yet.'));
    $('#model-detail').replaceChildren();
    return;
  }
  list.replaceChildren(...p.models.slice().reverse().map((m) => {
    const val = m.validation && m.validation.accuracy !== null && m.validation.accuracy !== undefined
      ? `validation accuracy ${(100 * m.validation.accuracy).toFixed(0)}%` : 'no validation clips';
    const options = m.options || {};
    const info = m.head === 'linear'
      ? `${HEAD_NAMES.linear}: ${blocksText(m.blocks)} · ` +
        (m.cross_validation ? `cross-validated accuracy ${percent(m.cross_validation.accuracy)}` : '') +
        (m.validation ? ` · ${val}` : '')
      : `${HEAD_NAMES.conv}: ${options.epochs || '?'} epochs, lr ${options.learning_rate}, ${options.optimizer} · ${val}`;
    return h('div', {class: `model-row ${m.id === state.modelId ? 'selected' : ''}`, dataset: {model: m.id, head: m.head}},
      h('span', {class: 'name'}, m.name),
      h('span', {class: 'info'}, `${m.created || m.id} · ${m.labels.join(', ')} · ${info}`),
      h('button', {type: 'button', class: 'small', onclick: () => selectModel(m.id)}, 'Show'),
      h('button', {type: 'button', class: 'small', onclick: () => { selectModel(m.id); location.hash = '#test'; }}, 'Test'),
      h('button', {type: 'button', class: 'small danger', onclick: () => deleteModel(m)}, 'Delete'));
  }));
  const m = currentModel();
  if (!m) { $('#model-detail').replaceChildren(); return; }
  const figures = m.files.map((name) => h('img', {src: `${modelUrl(m.id)}/files/${name}`, alt: name, class: name.replace('.png', '')}));
  const v = m.validation;
  const lines = [];
  if (v && v.accuracy !== null && v.accuracy !== undefined) {
    lines.push(`On the ${v.clips ? v.clips.length : '?'} validation clips it got ${(100 * v.accuracy).toFixed(0)}% right.`);
  }
  const cv = m.cross_validation;
  if (m.head === 'linear' && cv) {
    lines.push(`Cross-validation: each of its ${cv.clips} training clips was classified by a model trained without ` +
      `it (${cv.folds} folds); ${percent(cv.accuracy)} were right` +
      (v ? '.' : ' (the confusion matrix below shows them).'));
  }
  if (!lines.length) lines.push('No clips were kept aside for validation (validation fraction 0): test it in step 3.');
  const header = m.head === 'linear'
    ? `${m.name}: ${HEAD_NAMES.linear}, ${m.labels.length} labels, trained on ${m.examples || '?'} examples`
    : `${m.name}: ${HEAD_NAMES.conv}, ${m.labels.length} labels, trained on ${m.examples || '?'} examples (batch ${m.batch_size || '?'})`;
  const details = [h('h3', {}, header), ...lines.map((text) => h('p', {}, text))];
  if (m.head === 'linear') {
    details.push(h('p', {}, 'Networks used: ', h('b', {class: 'blocks'}, blocksText(m.blocks))));
    if (m.candidates.length > 1) {
      const chosen = JSON.stringify(Object.fromEntries(m.blocks.map((b) => [b.name, b.weight])));
      const same = (c) => JSON.stringify(Object.fromEntries(Object.entries(c.weights).filter(([, w]) => w > 0))) === chosen;
      details.push(h('table', {class: 'data-table candidates'},
        h('tr', {}, h('th', {}, 'speech weight'), h('th', {}, 'MobileNet weight'), h('th', {}, 'cross-validated accuracy')),
        m.candidates.map((c) => h('tr', {}, [c.weights.speech, c.weights.mobilenet, percent(c.cv_accuracy)].map((text) =>
          h('td', {class: same(c) ? 'chosen' : ''}, String(text)))))));
    }
  }
  details.push(h('div', {class: 'figures'}, figures));
  $('#model-detail').replaceChildren(...details);
}

async function deleteModel(m) {
  if (!window.confirm(`Delete ${m.name} and its test results? This cannot be undone.`)) return;
  await guarded(async () => {
    await api('DELETE', modelUrl(m.id));
    await refresh(true);
  });
}

let trainTimer = null;
async function pollTraining() {
  clearTimeout(trainTimer);
  trainTimer = 'polling';
  const job = await guarded(() => api('GET', 'api/train'));
  if (job !== undefined) {
    const before = state.training;
    state.training = job;
    if (job && job.state !== 'running' && before && before.state === 'running') {
      if (job.state === 'done') {
        message('Training finished: the new model is ready to test (step 3).', 'ok');
        state.modelId = job.model_id;
        if (state.project) setPref(`model:${state.project.path}`, job.model_id);
      }
      await guarded(() => refresh(true));
    }
    if (state.view === 'train' && state.project) renderTrain();
  }
  trainTimer = state.training && state.training.state === 'running' ? setTimeout(pollTraining, 600) : null;
}

async function startTraining(event) {
  event.preventDefault();
  saveForm();
  const job = await guarded(() => api('POST', 'api/train', formValues()));
  if (job) {
    state.training = job;
    renderTrain();
    pollTraining();
  }
}

// -- 3. testing ------------------------------------------------------------------------------------

function modelOptions(select) {
  const models = state.project.models;
  const wanted = models.map((m) => `${m.id}:${m.name}`).join('|');
  if (select.dataset.models !== wanted) {
    select.replaceChildren(...models.slice().reverse().map((m) => h('option', {value: m.id},
      `${m.name} (${m.labels.join(', ')})`)));
    select.dataset.models = wanted;
  }
  select.value = state.modelId || '';
}

async function loadTests() {
  const model = state.modelId;
  if (!model) return;
  const data = await api('GET', `${modelUrl(model)}/tests`);
  if (model === state.modelId) {
    state.tests = data;
    state.testsFor = model;
    renderTestResults();
  }
}

/** Show a view's body, or its "no model yet" note; the selected model (null when there is none). */
function modelView(view) {
  const has = state.project.models.length > 0;
  $(`#${view}-empty`).hidden = has;
  $(`#${view}-body`).hidden = !has;
  if (!has) return null;
  modelOptions($(`#${view}-model`));
  return currentModel();
}

function renderTest() {
  const m = modelView('test');
  if (!m) return;
  const expected = $('#test-expected');
  const wanted = m.labels.join('|');
  if (expected.dataset.labels !== wanted) {
    const previous = expected.value;
    expected.replaceChildren(h('option', {value: ''}, '(not sure / tell later)'),
      ...m.labels.map((label) => h('option', {value: label}, label)));
    expected.dataset.labels = wanted;
    if (m.labels.includes(previous)) expected.value = previous;
  }
  if (state.testsFor !== state.modelId || !state.tests) {
    state.tests = null;
    guarded(loadTests);
  }
  renderTestResults();
}

function bars(result) {
  return h('div', {class: 'bars'}, result.map(([label, p], i) => h('div', {class: `bar-row ${i === 0 ? 'best' : ''}`},
    h('span', {class: 'label', title: label}, label),
    h('span', {class: 'track'}, h('span', {class: 'fill', style: {display: 'block', width: `${(100 * p).toFixed(1)}%`}})),
    h('span', {class: 'pct'}, `${(100 * p).toFixed(1)}%`))));
}

function renderLatest(entry) {
  const box = $('#test-latest');
  if (!entry) { box.replaceChildren(); return; }
  const verdict = entry.expected ? (entry.expected === entry.predicted ? ' ✓ correct' : ` ✗ (meant ${entry.expected})`) : '';
  const base = testUrl(entry.id);
  box.replaceChildren(h('div', {class: 'latest', id: 'latest-result', dataset: {predicted: entry.predicted}},
    h('img', {class: 'seen', src: `${base}/spectrogram`, width: 110, height: 110, alt: 'spectrogram of the test clip',
      title: 'What the model saw'}),
    h('div', {},
      h('p', {class: 'verdict'}, 'Heard: ', h('b', {}, entry.predicted), verdict),
      h('button', {type: 'button', onclick: () => play(`${base}/audio`)}, '▶ Play the clip')),
    bars(entry.result)));
}

let shownTests = null;
function renderTestResults() {
  const data = state.tests;
  if (!data || state.testsFor !== state.modelId) {
    $('#test-summary').replaceChildren(h('p', {class: 'empty'}, 'Loading…'));
    shownTests = null;
    return;
  }
  const signature = JSON.stringify([state.modelId, data]);
  if (signature === shownTests) return;  // unchanged: keep the table (and any open drop-down) as it is
  shownTests = signature;
  const s = data.summary;
  const judged = s.judged;
  $('#test-summary').replaceChildren(
    judged
      ? h('div', {id: 'test-accuracy', dataset: {correct: s.correct, judged}},
        h('span', {class: 'big-number'}, `${Math.round(100 * s.accuracy)}%`),
        ` correct: ${s.correct} of ${judged} clip${judged === 1 ? '' : 's'} with a known label`)
      : h('p', {class: 'empty', id: 'test-accuracy', dataset: {correct: 0, judged: 0}},
        'Record or upload clips and say which label each one is meant to be; the accuracy and confusion matrix appear here.'),
    judged ? perLabel(data.labels, s) : '');
  $('#test-confusion').replaceChildren(judged ? matrix(data.labels, s.confusion) : '');
  const rows = data.entries.slice().reverse().map((e, i) => {
    const select = h('select', {'aria-label': 'meant label', onchange: (event) => setExpected(e.id, event.target.value)},
      h('option', {value: ''}, '?'), ...data.labels.map((label) => h('option', {value: label}, label)));
    select.value = e.expected || '';
    const mark = e.expected ? (e.expected === e.predicted ? h('td', {class: 'ok'}, '✓') : h('td', {class: 'wrong'}, '✗'))
      : h('td', {}, '');
    return h('tr', {dataset: {test: e.id}},
      h('td', {}, String(data.entries.length - i)),
      h('td', {}, h('button', {type: 'button', class: 'icon', title: 'Play', onclick: () => play(`${testUrl(e.id)}/audio`)}, '▶')),
      h('td', {}, select),
      h('td', {class: 'predicted'}, e.predicted),
      h('td', {}, `${(100 * e.confidence).toFixed(0)}%`),
      mark,
      h('td', {}, h('button', {type: 'button', class: 'icon', title: 'Delete this result', onclick: () => deleteTest(e.id)}, '✕')));
  });
  $('#test-table').replaceChildren(rows.length
    ? h('div', {class: 'scroll'}, h('table', {class: 'results', id: 'results-table'},
      h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, ''), h('th', {}, 'meant'), h('th', {}, 'heard'),
        h('th', {}, 'confidence'), h('th', {}, ''), h('th', {}, ''))),
      h('tbody', {}, rows)))
    : h('p', {class: 'empty'}, 'No test clips yet.'));
  $('#test-clear').disabled = !rows.length;
}

function perLabel(labels, s) {
  const pct = (v) => (v === null || v === undefined ? '–' : `${Math.round(100 * v)}%`);
  return h('table', {class: 'data-table'},
    h('tr', {}, h('th', {}, 'label'), h('th', {}, 'clips'), h('th', {}, 'found (recall)'), h('th', {}, 'right when said (precision)')),
    labels.map((label) => {
      const row = s.per_label[label];
      return h('tr', {}, h('td', {}, label), h('td', {}, String(row.clips)), h('td', {}, pct(row.recall)), h('td', {}, pct(row.precision)));
    }));
}

function matrix(labels, confusion) {
  const max = Math.max(1, ...confusion.flat());
  return h('table', {class: 'matrix', id: 'confusion-matrix'},
    h('tr', {}, h('th', {class: 'corner'}, 'meant ↓ / heard →'), labels.map((l) => h('th', {}, l))),
    confusion.map((row, i) => h('tr', {}, h('th', {}, labels[i]), row.map((v, j) => {
      const alpha = v ? 0.15 + 0.6 * (v / max) : 0;
      const color = i === j ? `rgba(30,123,52,${alpha})` : `rgba(179,38,30,${alpha})`;
      return h('td', {class: i === j ? 'diag' : '', style: {background: color}}, String(v));
    }))));
}

async function setExpected(testId, expected) {
  await guarded(async () => {
    await api('POST', testUrl(testId), {expected: expected || null});
    await loadTests();
  });
}

async function deleteTest(testId) {
  await guarded(async () => {
    await api('DELETE', testUrl(testId));
    await loadTests();
  });
}

async function classify(blob, source, name) {
  const expected = $('#test-expected').value;
  const headers = {'X-Clip-Source': source};
  if (name) headers['X-Clip-Name'] = enc(name);
  const url = `${modelUrl(state.modelId)}/classify` + (expected ? `?expected=${enc(expected)}` : '');
  const entry = await api('POST', url, blob, headers);
  renderLatest(entry);
  await loadTests();
  return entry;
}

async function testRecord() {
  try {
    const wav = await record(`Say ${$('#test-expected').value ? `“${$('#test-expected').value}”` : 'something'}`);
    $('#test-latest').replaceChildren(h('p', {class: 'empty'}, 'Classifying…'));
    await classify(wav, 'recorded', null);
  } catch (error) {
    if (error.name !== 'AbortError') showError(error);
  }
}

async function testFiles(files) {
  const limit = state.project.limits.max_clip_bytes;
  for (const file of files) {
    if (file.size > limit) {
      showError(`${file.name}: the file is too large (at most ${Math.round(limit / 1e6)} MB)`);
      continue;
    }
    $('#test-latest').replaceChildren(h('p', {class: 'empty'}, `Classifying ${file.name}…`));
    try {
      await classify(file.slice(0, file.size, file.type || 'audio/wav'), 'uploaded', file.name);
    } catch (error) {
      $('#test-latest').replaceChildren();
      showError(error);
    }
  }
}

// -- 4. downloads ----------------------------------------------------------------------------------

function renderDownload() {
  const p = state.project;
  const m = modelView('download');
  if (!m) return;
  const items = [h('div', {class: 'download-item', id: 'download-zip'},
    h('div', {class: 'what'}, h('b', {}, 'Model folder (.zip)'),
      h('small', {}, 'the TF.js head, pac.json, the training report and charts')),
    h('a', {class: 'button primary', href: `${modelUrl(m.id)}/download/zip`, download: ''}, 'Download .zip'))];
  for (const kind of ['aix', 'mdl']) items.push(exportItem(m, kind, p.exports[kind]));
  $('#download-items').replaceChildren(...items);
  for (const kind of ['aix', 'mdl']) {
    const key = `${m.id}:${kind}`;
    if (p.exports[kind].available && !(key in state.exports)) {
      state.exports[key] = null;
      guarded(async () => {
        state.exports[key] = await api('GET', `${modelUrl(m.id)}/export/${kind}`);
        if (state.view === 'download') renderDownload();
      });
    }
  }
}

function exportItem(m, kind, support) {
  const key = `${m.id}:${kind}`;
  const job = state.exports[key];
  const action = kind === 'aix' ? 'Build .aix' : 'Export .mdl';
  const what = h('div', {class: 'what'}, h('b', {}, support.title),
    h('small', {}, kind === 'aix' ? 'import it into App Inventor; classifies on the phone, offline'
      : 'the model format of MIT’s Personal Audio Classifier extension'));
  const item = h('div', {class: 'download-item', id: `download-${kind}`}, what);
  const problem = (m.export_problems || {})[kind];
  if (!support.available || problem) {
    item.append(h('button', {type: 'button', disabled: true}, action),
      h('p', {class: 'note'}, support.available ? problem : support.note));
    return item;
  }
  if (job && job.state === 'done' && job.file) {
    item.append(h('a', {class: 'button primary', href: `${modelUrl(m.id)}/download/${kind}`, download: job.file},
      `Download .${kind}`), h('p', {class: 'note'}, job.file));
  } else if (job && job.state === 'running') {
    item.append(h('button', {type: 'button', disabled: true}, 'Building…'), h('p', {class: 'note'}, `${job.stage} (${job.elapsed} s)`));
  } else {
    item.append(h('button', {type: 'button', class: 'build', onclick: () => startExport(m.id, kind)}, action));
    if (job && job.state === 'failed') {
      item.append(h('p', {class: 'note error', role: 'alert'}, job.error));
      if (job.detail) item.append(h('details', {class: 'note'}, h('summary', {}, 'details'), h('pre', {}, job.detail)));
    }
  }
  return item;
}

async function startExport(model, kind) {
  const key = `${model}:${kind}`;
  const job = await guarded(() => api('POST', `${modelUrl(model)}/export/${kind}`));
  if (!job) return;
  state.exports[key] = job;
  renderDownload();
  while (state.exports[key] && state.exports[key].state === 'running') {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const next = await guarded(() => api('GET', `${modelUrl(model)}/export/${kind}`));
    if (next === undefined) break;
    state.exports[key] = next;
    if (state.view === 'download') renderDownload();
  }
  const done = state.exports[key];
  if (done && done.state === 'done') message(`${done.file} is ready to download.`, 'ok');
  if (done && done.state === 'failed') showError(done.error);
}

// -- start -----------------------------------------------------------------------------------------

function setUp() {
  $('#add-label-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('#new-label');
    if (await addLabel(input.value)) input.value = '';
    input.focus();
  });
  $('#add-bg').addEventListener('click', () => addLabel(state.project.background_label));
  for (const [id, fallback] of [['clip-seconds', '1.5'], ['count-in', '2']]) {
    const select = $(`#${id}`);
    select.value = pref(id, fallback);
    if (!select.value) select.value = fallback;
    select.addEventListener('change', () => setPref(id, select.value));
  }
  $('#rec-cancel').addEventListener('click', () => { if (recording) recording.abort(); });
  document.addEventListener('keydown', (event) => { if (event.key === 'Escape' && recording) recording.abort(); });

  const form = $('#train-form');
  let saved = null;
  try { saved = JSON.parse(pref(FORM_PREF, 'null')); } catch (error) { saved = null; }
  fillForm({...(PRESETS.product || {}), ...(saved || {})});
  form.addEventListener('submit', startTraining);
  $$('input[name=head]', form).forEach((radio) => radio.addEventListener('change', syncHead));
  form.addEventListener('change', saveForm);
  $$('[data-preset]').forEach((b) => b.addEventListener('click', () => applyPreset(b.dataset.preset)));
  $('#profile').addEventListener('change', (event) => setProfile(event.target.value));
  $('#cancel-train').addEventListener('click', () => guarded(async () => {
    state.training = await api('POST', 'api/train/cancel');
    renderTrain();
  }));
  form.elements.noise_folder.addEventListener('input', () => {
    form.querySelector('input[name=noise][value=folder]').checked = true;
  });

  $$('.model-select').forEach((select) => select.addEventListener('change', (event) => selectModel(event.target.value)));
  $('#test-record').addEventListener('click', testRecord);
  $('#test-upload').addEventListener('change', (event) => {
    const files = Array.from(event.target.files);
    event.target.value = '';
    testFiles(files);
  });
  makeDropTarget($('#test-drop'), testFiles);
  $('#test-clear').addEventListener('click', () => {
    if (!window.confirm('Delete all test results of this model?')) return;
    guarded(async () => {
      await api('DELETE', `${modelUrl(state.modelId)}/tests`);
      $('#test-latest').replaceChildren();
      await loadTests();
    });
  });
  // Files dropped outside a drop zone must not make the browser leave the page.
  window.addEventListener('dragover', (event) => event.preventDefault());
  window.addEventListener('drop', (event) => event.preventDefault());
  window.addEventListener('hashchange', () => showView(location.hash.slice(1)));
  window.addEventListener('focus', () => guarded(() => refresh()));
}

async function poll() {
  if (document.visibilityState === 'visible' && !recording) {
    try {
      await refresh();
      if (state.project && state.project.training && state.project.training.state === 'running' && !trainTimer) {
        pollTraining();
      }
    } catch (error) {
      /* the next poll retries; actions report their own errors */
    }
  }
  setTimeout(poll, 2500);
}

async function main() {
  try {
    await loadTrainOptions();
  } catch (error) {
    showError(error);
  }
  setUp();
  try {
    await refresh(true);
  } catch (error) {
    $('#loading').textContent = error.message;
    showError(error);
  }
  showView(location.hash.slice(1) || 'clips');
  if (state.training && state.training.state === 'running') pollTraining();
  setTimeout(poll, 2500);
  window.pacStudio = {state, refresh};  // for tests and the curious
}

main();
