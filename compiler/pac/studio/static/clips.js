// Step 1: labels and clips.  Recording (one or several takes), uploads (button and drag and drop),
// the room's background noise, renames, and deletes with Undo.
import {$, $$, h, api, state, enc, labelUrl, clipUrl, refresh, render, pref, setPref, plural, cardOf} from './core.js';
import {message, showError, fieldError, guarded, deleteWithUndo, pending} from './toasts.js';
import {recordTakes, recordRoom, storeClip, MAX_TAKES, ROOM_SECONDS} from './record.js';
import {renameForm, renamingLabel, startRename} from './rename.js';

function fmtSeconds(s) { return s === null || s === undefined ? '?' : `${s.toFixed(s < 10 ? 2 : 1)} s`; }
function fmtRate(r) { return r ? `${r % 1000 === 0 ? r / 1000 : (r / 1000).toFixed(1)} kHz` : ''; }

let player = null;
export function play(url) {
  if (player) player.pause();
  player = new Audio(url);
  player.play().catch((error) => showError(`The clip cannot be played here (${error.message}).`));
}

const clipKey = (label, clip) => `clip:${label}/${clip}`;
const labelKey = (label) => `label:${label}`;

/** The clips of a label the page shows: without those waiting to be deleted. */
export const shownClips = (label) => label.clips.filter((c) => !pending.has(clipKey(label.name, c.id)));
export const shownLabels = () => state.project.labels.filter((l) => !pending.has(labelKey(l.name)));

/** A delete waiting for its Undo was made or undone: redraw the view shown (the clips, or Train's counts). */
function redrawShown() {
  cardCache.clear();
  render();
}

function clipTile(label, clip, number) {
  const url = clipUrl(label, clip.id);
  const title = `${clip.id}\n${fmtSeconds(clip.duration)}, ${fmtRate(clip.rate) || '? Hz'}, ${clip.channels || '?'} channel(s)`;
  const picture = clip.problem
    ? h('div', {class: 'problem'}, clip.problem)
    : h('img', {src: `${url}/spectrogram?profile=${enc(state.project.profile)}`, alt: `spectrogram of clip ${number}`,
      loading: 'lazy', width: 120, height: 120, title: 'What the model sees: this clip’s spectrogram'});
  return h('li', {class: `clip ${clip.problem ? 'bad' : ''} ${clip.source}`, dataset: {clip: clip.id}, title},
    picture,
    h('div', {class: 'meta'},
      h('span', {}, `${number} · ${clip.duration === null || clip.duration === undefined ? '?' : clip.duration.toFixed(1)} s`),
      h('button', {type: 'button', class: 'icon play', 'aria-label': `Play clip ${number}`, title: 'Play',
        onclick: () => play(url + '/audio')}, '▶'),
      h('button', {type: 'button', class: 'icon delete', 'aria-label': `Delete clip ${number}`, title: 'Delete',
        onclick: (event) => deleteClip(label, clip.id, number, event.currentTarget)}, '✕')));
}

function deleteClip(label, clip, number, button) {
  const card = button.closest('.label-card');
  deleteWithUndo({
    key: clipKey(label, clip), url: clipUrl(label, clip), label, clip,
    text: `Deleted clip ${number} of “${label}”.`,
    onChange: (sent) => (sent ? guarded(() => refresh(true)) : redrawShown()),
    focusAfterUndo: () => {
      const tile = $$('.clip', card).find((c) => c.dataset.clip === clip);
      if (tile) $('button.delete', tile).focus();
    },
  });
  const next = $('button.record', card);
  if (next) next.focus();
}

function deleteLabel(label) {
  const n = label.clips.length;
  deleteWithUndo({
    key: labelKey(label.name), url: labelUrl(label.name), label: label.name,
    text: `Deleted the label “${label.name}”${n ? ` and its ${plural(n, 'clip')}` : ''}.`,
    onChange: (sent) => (sent ? guarded(() => refresh(true)) : redrawShown()),
    focusAfterUndo: () => {
      const card = $$('.label-card').find((c) => c.dataset.label === label.name);
      if (card) $('button.delete-label', card).focus();
    },
  });
}

export const takesWanted = () => Math.max(1, Math.min(MAX_TAKES, parseInt($('#takes').value, 10) || 1));

function labelCard(label) {
  const minimum = state.project.limits.min_clips;
  const clips = shownClips(label);
  const usable = clips.filter((c) => !c.problem).length;
  const headingId = `label-${Math.random().toString(36).slice(2)}`;
  const input = h('input', {type: 'file', accept: '.wav,.wave,audio/wav,audio/x-wav', multiple: true, hidden: true,
    class: 'upload-input', tabindex: '-1', onchange: (event) => {
      const files = Array.from(event.target.files);
      event.target.value = '';
      uploadFiles(label.name, files, uploadButton);
    }});
  const uploadButton = h('button', {type: 'button', class: 'upload', 'aria-label': `Upload WAV files to ${label.name}`,
    onclick: () => input.click()}, 'Upload WAV…');
  const recordButton = h('button', {type: 'button', class: 'primary record', 'aria-label': `Record ${label.name}`,
    onclick: (event) => recordInto(label.name, event.currentTarget)}, '● Record');
  const background = label.name === state.project.background_label;
  const editing = renamingLabel() === label.name;
  const card = h('section', {class: `label-card ${background ? 'background' : ''}`, dataset: {label: label.name},
    'aria-labelledby': headingId},
    h('div', {class: 'label-head', dataset: {errors: ''}},
      h('h3', {id: headingId, hidden: editing}, label.name),
      editing ? renameForm(label.name) : null,
      h('span', {class: `count ${usable < minimum ? 'low' : ''}`},
        plural(clips.length, 'clip') + (usable < minimum ? ` (needs ${minimum})` : '')),
      h('span', {class: 'actions'}, recordButton, uploadButton, input,
        background ? h('button', {type: 'button', class: 'room', onclick: (event) => openRoomStep(event.currentTarget)},
          'Record the room…') : null,
        editing ? null : h('button', {type: 'button', class: 'rename', 'aria-label': `Rename ${label.name}`,
          onclick: () => startRename(label.name)}, 'Rename'),
        h('button', {type: 'button', class: 'danger delete-label', 'aria-label': `Delete ${label.name}`,
          onclick: () => deleteLabel(label)}, 'Delete'))),
    h('ul', {class: 'clips', 'aria-label': `Clips of ${label.name}`},
      clips.length ? clips.map((clip, i) => clipTile(label.name, clip, i + 1))
        : h('li', {class: 'none'}, 'No clips yet: record some, or drop WAV files here.')));
  makeDropTarget(card, (files) => uploadFiles(label.name, files, uploadButton));
  return card;
}

// Label cards are rebuilt only when their label changed, so clicks, focus and images survive polling.
const cardCache = new Map();

export function renderClips(force = false) {
  const p = state.project;
  if (!p) return;
  if (force) cardCache.clear();
  const container = $('#labels');
  const labels = shownLabels();
  const cards = labels.map((label) => {
    const signature = JSON.stringify([label, p.profile, p.limits.min_clips,
      label.clips.map((c) => pending.has(clipKey(label.name, c.id))), renamingLabel() === label.name]);
    const cached = cardCache.get(label.name);
    if (cached && cached.signature === signature) return cached.card;
    const card = labelCard(label);
    const old = cached && cached.card;
    // keep focus on the same control when a card is redrawn
    const focused = old && old.contains(document.activeElement) ? document.activeElement : null;
    cardCache.set(label.name, {signature, card});
    if (focused) {
      requestAnimationFrame(() => {
        if (card.contains(document.activeElement)) return;  // already placed (a rename's field, its button)
        const same = focused.getAttribute('aria-label')
          ? $$('button, input', card).find((b) => b.getAttribute('aria-label') === focused.getAttribute('aria-label')) : null;
        (same || $('button.record', card)).focus({preventScroll: true});
      });
    }
    return card;
  });
  for (const name of Array.from(cardCache.keys())) {
    if (!labels.some((l) => l.name === name)) cardCache.delete(name);
  }
  const current = Array.from(container.children);
  if (current.length !== cards.length || current.some((card, i) => card !== cards[i])) {
    const scroll = window.scrollY;
    container.replaceChildren(...cards);
    window.scrollTo(0, scroll);
  }
  $('#no-labels').hidden = labels.length > 0;
  const bg = labels.find((l) => l.name === p.background_label);
  $('#room-step').hidden = Boolean(bg && shownClips(bg).length);
}

const carriesFiles = (event) => Array.from(event.dataTransfer.types || []).includes('Files');

export function makeDropTarget(element, onFiles) {
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

export async function addLabel(name, control) {
  const created = await guarded(() => api('POST', 'api/labels', {name}), control);
  if (created) {
    await guarded(() => refresh(true));
    const card = $$('.label-card').find((c) => c.dataset.label === created.name);
    if (card) card.scrollIntoView({block: 'nearest'});
  }
  return created;
}

/** The card's control an error belongs beside (the card may have been redrawn since). */
const controlIn = (label, css, fallback) => {
  const card = cardOf(label);
  return (card && $(css, card)) || fallback;
};

async function uploadFiles(label, files, button) {
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
    if (note) note.querySelector('.text').textContent = `Uploading: ${done + problems.length} of ${files.length}…`;
  }
  if (note) note.remove();
  if (done) message(`Added ${plural(done, 'clip')} to “${label}”.`, 'ok');
  await guarded(() => refresh(true));
  const control = controlIn(label, 'button.upload', button);
  fieldError(control, problems.length ? `${problems.length === 1 ? 'This file was' : `${problems.length} files were`} ` +
    `not added:\n${problems.join('\n')}` : null);
  if (control.isConnected && document.activeElement === document.body) control.focus();
}

async function recordInto(label, button) {
  const takes = takesWanted();
  let result;
  try {
    result = await recordTakes({
      title: takes > 1 ? `Recording ${takes} clips of “${label}”` : `Recording “${label}”`,
      takes,
      seconds: parseFloat($('#clip-seconds').value),
      countIn: parseFloat($('#count-in').value),
      keep: (wav) => storeClip(label, wav).then(() => refresh(true)),
    });
  } catch (error) {
    await guarded(() => refresh(true));
    fieldError(controlIn(label, 'button.record', button), error);
    return;
  }
  await guarded(() => refresh(true));
  const control = controlIn(label, 'button.record', button);
  const lines = [];
  if (result.problems.length) lines.push(`${plural(result.problems.length, 'recording')} not kept: ${result.problems.join('; ')}`);
  fieldError(control, lines.length ? lines.join('\n') : null);
  if (takes > 1 || result.discarded) {
    message(`Kept ${plural(result.kept, 'clip')} for “${label}”` + (result.discarded ? `, discarded ${result.discarded}` : '') +
      (result.stopped ? ' (stopped).' : '.'), result.kept ? 'ok' : 'info');
  }
  if (control.isConnected) control.focus();
}

// -- the room (background noise) ------------------------------------------------------------------

export function openRoomStep(opener) {
  const dialog = $('#room-overlay');
  dialog.opener = opener || document.activeElement;
  dialog.hidden = false;
  $('#room-seconds').focus();
}

function closeRoomStep() {
  const dialog = $('#room-overlay');
  dialog.hidden = true;
  const opener = dialog.opener;
  if (opener && opener.isConnected) opener.focus();
  else $('#room-open').focus();
}

async function startRoom(event) {
  event.preventDefault();
  const seconds = parseInt($('#room-seconds').value, 10);
  const dialog = $('#room-overlay');
  const opener = dialog.opener;
  dialog.hidden = true;
  let result;
  try {
    result = await recordRoom(seconds, parseFloat($('#count-in').value));
  } catch (error) {
    await guarded(() => refresh(true));
    fieldError(opener && opener.isConnected ? opener : $('#room-open'), error);
    return;
  }
  await guarded(() => refresh(true));
  const label = state.project.background_label;
  if (result.stored) message(`Stored ${plural(result.stored, 'clip')} of the room in “${label}”.`, 'ok');
  const target = cardOf(label);
  const control = (target && $('button.room', target)) || $('#room-open');
  fieldError(control, result.problems.length ? `Not stored: ${result.problems.join('; ')}` : null);
  if (target) target.scrollIntoView({block: 'nearest'});
  control.focus();
}

export function setUpClips() {
  $('#add-label-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('#new-label');
    if (await addLabel(input.value, input)) input.value = '';
    input.focus();
  });
  for (const [id, fallback] of [['clip-seconds', '1.5'], ['count-in', '2'], ['takes', '1']]) {
    const field = $(`#${id}`);
    field.value = pref(id, fallback);
    if (!field.value) field.value = fallback;
    field.addEventListener('change', () => setPref(id, field.value));
  }
  $('#takes').max = String(MAX_TAKES);
  $('#room-seconds').replaceChildren(...ROOM_SECONDS.map((s) => h('option', {value: String(s)}, `${s} seconds`)));
  $('#room-seconds').value = '15';
  $('#room-open').addEventListener('click', (event) => openRoomStep(event.currentTarget));
  $('#room-form').addEventListener('submit', startRoom);
  $('#room-cancel').addEventListener('click', closeRoomStep);
  $('#room-overlay').addEventListener('escape', closeRoomStep);
}
