// Step 2: training.  The form (plain choices first, the hyperparameters under "Advanced"), the Train
// button with the run's progress beside it, and the list of models.
import {$, $$, h, svg, api, state, refresh, pref, setPref, plural} from './core.js';
import {message, guarded, commitPending, pending} from './toasts.js';
import {renderModels, percent, blocksText, NETWORK_NAMES} from './models.js';
import {shownLabels, shownClips} from './clips.js';
import {trainingProblems} from './problems.js';

/** The training options as the server declares them (GET api/train/options, from pac.train_options):
 * the presets' values, the fields' bounds, which head each belongs to; filled by loadTrainOptions(). */
export const PRESETS = {};
const FIELDS = [];         // the options' fields other than radio buttons (head, noise)
const SELECTS = [];        // ... of them, the drop-down lists
const HEAD_OF = {};        // field -> the one head it matters to ('linear' or 'conv')
const ALIASES = {};        // radio value -> other spellings saved forms may hold ('off' for 'none')

export async function loadTrainOptions() {
  const declared = await api('GET', 'api/train/options');
  const form = $('#train-form');
  Object.assign(PRESETS, declared.presets, {mit: {...declared.presets.paper, profile: 'pac-compat'}});
  for (const preset of Object.values(PRESETS)) {
    for (const [key, value] of Object.entries(preset)) if (value === null) preset[key] = '';  // automatic
  }
  for (const option of declared.options) {
    for (const [alias, word] of Object.entries(option.aliases)) ALIASES[alias] = word;
    const field = form.elements[option.key];
    if (!field || field instanceof RadioNodeList) continue;
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
    'under Advanced, or choose another spectrogram.' : '';
}

function formValues() {
  const form = $('#train-form');
  const values = {head: chosenHead()};
  for (const name of FIELDS) values[name] = SELECTS.includes(name) ? form.elements[name].value : form.elements[name].value.trim();
  values.noise = form.querySelector('input[name=noise]:checked').value;
  values.noise_folder = form.elements.noise_folder.value.trim();
  return values;
}

async function applyPreset(name, button) {
  const preset = PRESETS[name];
  if (!preset || !state.project.profiles.includes(preset.profile)) return;
  fillForm(preset);
  saveForm();
  if (state.project.profile !== preset.profile) await setProfile(preset.profile, button);
}

async function setProfile(profile, control) {
  await guarded(async () => {
    await api('POST', 'api/settings', {profile});
    await refresh(true);
  }, control);
}

function saveForm() { setPref(FORM_PREF, JSON.stringify(formValues())); }

/**
 * Why training cannot start, for the labels and clips the page shows: the server's list, or while deletes
 * wait for their Undo (the server still has those clips and labels; Train sends them first) the same
 * rule (problems.js) on what is shown.
 */
function shownProblems() {
  const p = state.project;
  if (!pending.size) return p.problems;
  return trainingProblems(shownLabels().map((l) => ({name: l.name, clips: shownClips(l)})), p.limits.min_clips);
}

export function renderTrain() {
  const p = state.project;
  // what the page shows: a clip or label waiting for its Undo is gone already (Train sends the deletes first)
  const labels = shownLabels();
  const found = shownProblems();
  const usable = (l) => shownClips(l).filter((c) => !c.problem).length;
  const total = labels.reduce((n, l) => n + usable(l), 0);
  const counts = h('table', {class: 'data-table'},
    h('caption', {}, `${plural(labels.length, 'label')}, ${plural(total, 'usable clip')}`),
    h('tr', {}, h('th', {scope: 'col'}, 'label'), h('th', {scope: 'col'}, 'clips')),
    labels.map((l) => h('tr', {}, h('td', {}, l.name), h('td', {}, String(usable(l))))));
  const problems = found.length
    ? h('ul', {class: 'problems', id: 'train-problems'}, found.map((text) => h('li', {}, text))) : null;
  $('#train-data').replaceChildren(labels.length ? counts : h('p', {class: 'empty'}, 'No labels yet (step 1).'),
    problems || '');
  const noBackground = !labels.some((l) => l.name === p.background_label);
  $('#noise-label-choice').classList.toggle('off', noBackground);
  $('#noise-label-choice input').disabled = noBackground;
  const select = $('#profile');
  if (select.options.length !== p.profiles.length) {
    select.replaceChildren(...p.profiles.map((name) => h('option', {value: name}, name)));
  }
  select.value = p.profile;
  $('#profile-note').textContent = PROFILE_NOTES[p.profile] || '';
  syncHead();
  const running = state.training && state.training.state === 'running';
  $('#train-button').disabled = running || found.length > 0;
  $('#train-button').setAttribute('aria-describedby', found.length ? 'train-problems' : 'train-state-line');
  $('#cancel-train').hidden = !running;
  select.disabled = running;
  renderProgress();
  renderModels();
}

/** The result line of a linear head: cross-validated accuracy and the networks chosen. */
function linearResult(result) {
  return h('p', {class: 'result-line', id: 'train-result'},
    'Expected accuracy on new clips: ', h('b', {id: 'train-cv-accuracy'}, percent(result.accuracy)),
    ` (each of the ${result.clips} clips was checked by a model trained without it). Uses: `,
    h('b', {id: 'train-blocks'}, blocksText(result.blocks)), '.');
}

/** The run's steps in plain words, and which one a job's stage is in. */
const STEPS = {
  linear: ['Reading the clips', 'Loading the networks', 'Computing features', 'Choosing how to weigh the networks', 'Saving the model'],
  conv: ['Reading the clips', 'Loading the networks', 'Computing features', 'Training', 'Saving the model'],
};
function stepOf(job) {
  const s = job.stage || '';
  if (job.state === 'done') return 5;
  if (/^(reading|starting)/.test(s)) return 0;
  if (/^(loading|downloading)/.test(s)) return 1;
  if (/^(features|computing)/.test(s)) return 2;
  if (/^(cross-validation|training)/.test(s)) return 3;
  if (/^saving/.test(s)) return 4;
  return -1;
}

function renderProgress() {
  const job = state.training;
  const box = $('#train-progress');
  if (!job) {
    box.replaceChildren(h('p', {class: 'empty', id: 'train-state-line'}, 'No training run since the studio started. ' +
      'Press Train when every label has its clips.'));
    $('#live-chart').replaceChildren();
    return;
  }
  const linear = job.head !== 'conv';
  const history = job.history || {};
  const last = (list) => (list && list.length ? list[list.length - 1] : null);
  const fmt = (v, digits = 3) => (v === null || v === undefined ? '–' : v.toFixed(digits));
  const fmtLoss = (v) => (v === null || v === undefined ? '–' : v > 0 && v < 0.01 ? v.toExponential(1) : v.toFixed(3));
  const step = job.queued ? -1 : stepOf(job);
  // how far: features clip by clip (both heads count them when the server says), then epochs
  let fraction = null;
  if (job.state === 'done') fraction = 1;
  else if (step === 2 && job.features_total && (linear || job.features_done)) fraction = job.features_done / job.features_total;
  else if (step === 3 && !linear && job.epochs) fraction = job.epoch / job.epochs;
  const waiting = job.state === 'running' && job.queued;
  const place = `number ${job.position} in the queue`;
  const stateText = waiting ? `Waiting: ${place}` : {running: job.stage, done: 'Done: the new model is ready.',
    failed: 'Training failed.', cancelled: 'Cancelled.'}[job.state] || job.stage;
  const steps = h('ol', {class: 'stepper', 'aria-label': 'Training steps'}, (STEPS[linear ? 'linear' : 'conv']).map((name, i) => {
    let text = name;
    if (i === 2 && step === 2) text += job.features_total && (linear || job.features_done) ? `: clip ${job.features_done} of ${job.features_total}` : '…';
    if (i === 3 && !linear && step === 3) text += `: round ${job.epoch} of ${job.epochs}`;
    const status = job.state === 'running' ? (i < step ? 'done' : i === step ? 'now' : 'todo') : (job.state === 'done' ? 'done' : (i < step ? 'done' : 'todo'));
    return h('li', {class: status, 'aria-current': status === 'now' ? 'step' : null}, text);
  }));
  const stats = linear
    ? [h('div', {class: 'stat'}, h('b', {id: 'stat-features'}, `${job.features_done}/${job.features_total || '?'}`),
      h('span', {}, 'clips with features')),
    h('div', {class: 'stat'}, h('b', {id: 'stat-cv-accuracy'}, job.result ? percent(job.result.accuracy) : '–'),
      h('span', {}, 'expected accuracy')),
    h('div', {class: 'stat'}, h('b', {id: 'stat-networks'}, job.result
      ? job.result.blocks.map((b) => NETWORK_NAMES[b.name] || b.name).join(' + ')
      : ((job.options && job.options.bases) || 'speech+mobilenet').split('+').map((n) => NETWORK_NAMES[n] || n).join(' + ')),
    h('span', {}, job.result ? 'networks chosen' : 'networks'))]
    : [h('div', {class: 'stat'}, h('b', {id: 'stat-epoch'}, `${job.epoch}/${job.epochs}`), h('span', {}, 'rounds (epochs)')),
      h('div', {class: 'stat'}, h('b', {id: 'stat-loss'}, fmtLoss(last(history.loss))), h('span', {}, 'error (loss)')),
      h('div', {class: 'stat'}, h('b', {id: 'stat-accuracy'}, fmt(last(history.accuracy))), h('span', {}, 'accuracy')),
      h('div', {class: 'stat'}, h('b', {}, fmt(last(history.val_accuracy))), h('span', {}, 'on held-back clips'))];
  const bar = fraction === null && job.state === 'running'
    ? h('div', {class: 'progress indeterminate', role: 'progressbar', 'aria-label': 'Training progress'}, h('div', {}))
    : h('div', {class: 'progress', role: 'progressbar', 'aria-label': 'Training progress', 'aria-valuemin': '0',
      'aria-valuemax': '100', 'aria-valuenow': String(Math.round(100 * (fraction || 0)))},
    h('div', {style: {width: `${Math.round(100 * (fraction || 0))}%`}}));
  const children = [
    // waiting in the queue: the state line is the box's heading (no progress bar: nothing runs yet)
    waiting ? h('div', {class: 'queued', id: 'train-queued', dataset: {position: job.position}},
      h('p', {id: 'train-state', class: 'state-running place', dataset: {state: job.state, head: job.head || ''}},
        'Waiting: ', h('b', {}, place)),
      h('p', {}, (job.position > 1
        ? `${job.position - 1} other training run${job.position === 2 ? ' goes' : 's go'} first`
        : 'This run is next') + ': this computer trains one model at a time, for the whole class. It starts by ' +
        'itself; Cancel takes it out of the queue.'))
      : [h('p', {id: 'train-state', class: `state-${job.state}`, dataset: {state: job.state, head: job.head || ''}}, stateText), bar],
    steps,
    h('div', {class: 'stats'}, stats),
    linear && job.result ? linearResult(job.result) : '',
    job.note ? h('p', {class: 'hint'}, job.note) : '',
    h('p', {class: 'hint', id: 'train-state-line'}, job.state === 'running' ? `${job.elapsed} s so far` : `took ${job.elapsed} s`),
  ];
  if (job.error) children.push(h('p', {class: 'field-error', role: 'alert'}, job.error));
  box.replaceChildren(...children.flat());
  // screen readers hear each step once and the end, not every clip (the box is redrawn every 0.6 s)
  const said = job.state !== 'running' ? stateText
    : waiting ? `Waiting: ${place}` : (STEPS[linear ? 'linear' : 'conv'][step] || '');
  if ($('#train-announce').textContent !== said) $('#train-announce').textContent = said;
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
      svg('line', {x1: x0 + pad.l, y1: pad.t + plotH, x2: x0 + pad.l + plotW, y2: pad.t + plotH, stroke: '#767d87'}),
      svg('line', {x1: x0 + pad.l, y1: pad.t, x2: x0 + pad.l, y2: pad.t + plotH, stroke: '#767d87'}),
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
    panel(0, 'loss (blue: training, orange: held back)', [[history.loss, '#2b5797'], [history.val_loss, '#c2410c']], lossMax),
    panel(width / 2 + 10, 'accuracy', [[history.accuracy, '#2b5797'], [history.val_accuracy, '#c2410c']], 1));
}

let trainTimer = null;
// Jobs this page saw running and has not yet seen end: their end is announced once, here, even when
// the project poll (core.js refresh) brought the finished job into state.training first.
const watched = new Set();
export const trainingPolled = () => trainTimer !== null;
export async function pollTraining() {
  clearTimeout(trainTimer);
  trainTimer = 'polling';
  const job = await guarded(() => api('GET', 'api/train'));
  if (job !== undefined) {
    state.training = job;
    if (job && job.state === 'running') watched.add(job.id);
    if (job && job.state !== 'running' && watched.delete(job.id)) {
      if (job.state === 'done') {
        message('Training finished: the new model is ready to test.', 'ok', 8000,
          [h('button', {type: 'button', class: 'small', onclick: () => { location.hash = '#test'; }}, 'Test it')]);
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
  const button = $('#train-button');
  await commitPending();  // deletes still waiting for their Undo: train on what the page shows
  const job = await guarded(() => api('POST', 'api/train', formValues()), button);
  if (job) {
    state.training = job;
    if (job.state === 'running') watched.add(job.id);
    renderTrain();
    pollTraining();
    if (document.activeElement === button || document.activeElement === document.body) $('#cancel-train').focus();
  }
}

export function setUpTrain() {
  const form = $('#train-form');
  let saved = null;
  try { saved = JSON.parse(pref(FORM_PREF, 'null')); } catch (error) { saved = null; }
  fillForm({...(PRESETS.product || {}), ...(saved || {})});
  form.addEventListener('submit', startTraining);
  $$('input[name=head]', form).forEach((radio) => radio.addEventListener('change', syncHead));
  form.addEventListener('change', saveForm);
  $$('[data-preset]').forEach((b) => b.addEventListener('click', () => applyPreset(b.dataset.preset, b)));
  $('#profile').addEventListener('change', (event) => setProfile(event.target.value, event.target));
  $('#cancel-train').addEventListener('click', (event) => guarded(async () => {
    state.training = await api('POST', 'api/train/cancel');
    renderTrain();
    $('#train-button').focus();
  }, event.currentTarget));
  form.elements.noise_folder.addEventListener('input', () => {
    form.querySelector('input[name=noise][value=folder]').checked = true;
  });
}

