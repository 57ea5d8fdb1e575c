// Step 4: hand-off.  One click builds and downloads the App Inventor extension (.aix); the model folder
// and MIT's .mdl; how to import the extension and the blocks to start from; the whole project as a .zip
// (export, import); renaming the model.
import {$, h, api, state, modelUrl, refresh, fetchFile, saveUrl, currentModel, modelName, sleep} from './core.js';
import {message, guarded} from './toasts.js';
import {modelView} from './testing.js';
import {renameModel} from './models.js';
import {blocksPicture} from './blocks.js';

const NOT_BUILT_YET = 'This studio’s server does not offer this yet (it answered “no such page”): update pac.';

/** The error of a route that may not exist yet (404 "no such page") in words. */
const routeError = (error) => (error.status === 404 && /no such page/.test(error.message) ? new Error(NOT_BUILT_YET) : error);

export function renderDownload() {
  const p = state.project;
  const m = modelView('download');
  if (!m) return;
  const items = [exportItem(m, 'aix', p.exports.aix),
    h('div', {class: 'download-item', id: 'download-zip'},
      h('div', {class: 'what'}, h('b', {}, 'Model folder (.zip)'),
        h('small', {}, 'for pac predict, pac evaluate and pac build on a computer')),
      h('a', {class: 'button', href: `${modelUrl(m.id)}/download/zip`, download: ''}, 'Download .zip')),
    exportItem(m, 'mdl', p.exports.mdl)];
  const focused = document.activeElement && document.activeElement.closest('#download-items')
    ? document.activeElement.closest('.download-item') : null;
  $('#download-items').replaceChildren(...items);
  if (focused) {
    const again = $(`#${focused.id} button:not(:disabled), #${focused.id} a`);
    if (again) again.focus({preventScroll: true});
  }
  const name = $('#model-rename-name');
  const filled = `${m.id}:${modelName(m)}`;
  if (name.dataset.filled !== filled) {  // only when the model or its name changed: never over what is typed
    name.value = modelName(m);
    name.dataset.filled = filled;
  }
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

const TITLES = {aix: 'Download for App Inventor (.aix)', mdl: 'Download .mdl'};

function exportItem(m, kind, support) {
  const key = `${m.id}:${kind}`;
  const job = state.exports[key];
  const what = h('div', {class: 'what'}, h('b', {}, support.title),
    h('small', {}, kind === 'aix' ? 'import it into App Inventor; it classifies on the phone, offline'
      : 'the model format of MIT’s Personal Audio Classifier extension'));
  const item = h('div', {class: `download-item ${kind === 'aix' ? 'main' : ''}`, id: `download-${kind}`, dataset: {errors: ''}}, what);
  const problem = (m.export_problems || {})[kind];
  if (!support.available || problem) {
    item.append(h('button', {type: 'button', disabled: true}, TITLES[kind]),
      h('p', {class: 'note'}, support.available ? problem : support.note));
    return item;
  }
  if (job && job.state === 'running') {
    item.append(h('button', {type: 'button', class: `build ${kind === 'aix' ? 'primary big' : ''}`, disabled: true,
      'aria-busy': 'true'}, 'Building…'), h('p', {class: 'note', role: 'status'}, `${job.stage} (${job.elapsed} s)`));
    return item;
  }
  item.append(h('button', {type: 'button', class: `build ${kind === 'aix' ? 'primary big' : ''}`,
    onclick: (event) => buildAndDownload(m.id, kind, event.currentTarget)}, TITLES[kind]));
  if (job && job.state === 'done' && job.file) {
    item.append(h('p', {class: 'note'}, 'Built: ',
      h('a', {href: `${modelUrl(m.id)}/download/${kind}`, download: job.file, class: 'saved'}, job.file)));
  }
  if (job && job.state === 'failed') {
    item.append(h('p', {class: 'field-error note error', role: 'alert'}, job.error));
    if (job.detail) item.append(h('details', {class: 'note'}, h('summary', {}, 'details'), h('pre', {}, job.detail)));
  }
  return item;
}

/** One click: build the file when it is not built yet, then download it. */
async function buildAndDownload(model, kind, button) {
  const key = `${model}:${kind}`;
  let job = state.exports[key];
  if (!(job && job.state === 'done' && job.file)) {
    job = await guarded(() => api('POST', `${modelUrl(model)}/export/${kind}`), button);
    if (!job) return;
    state.exports[key] = job;
    renderDownload();
    while (state.exports[key] && state.exports[key].state === 'running') {
      await sleep(1000);
      const next = await guarded(() => api('GET', `${modelUrl(model)}/export/${kind}`));
      if (next === undefined) break;
      state.exports[key] = next;
      if (state.view === 'download') renderDownload();
    }
    job = state.exports[key];
  }
  if (job && job.state === 'done' && job.file) {
    saveUrl(`${modelUrl(model)}/download/${kind}`, job.file);
    message(`${job.file} is downloading: import it in App Inventor (steps beside).`, 'ok');
  } else if (job && job.state === 'failed' && state.view !== 'download') {
    message(job.error, 'error');
  }
  const again = $(`#download-${kind} button.build`);
  if (again) again.focus();
}

// -- the project as a .zip -------------------------------------------------------------------------

async function exportProject(button) {
  button.disabled = true;
  const done = await guarded(async () => {
    let file;
    try {
      file = await fetchFile('api/project/export');
    } catch (error) {
      throw routeError(error);
    }
    const url = URL.createObjectURL(file.blob);
    saveUrl(url, file.filename || `${state.project.name}.zip`);
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    return true;
  }, button);
  button.disabled = false;
  if (done) message('The project is downloading as a .zip.', 'ok');
}

async function importProject(file, button) {
  if (!file) return;
  if (!window.confirm(`Import the project in “${file.name}” into this studio? Its labels, clips and models ` +
    'are added to what is here.')) return;
  const done = await guarded(async () => {
    const added = await api('POST', 'api/project/import', file.slice(0, file.size, 'application/zip'))
      .catch((error) => { throw routeError(error); });
    await refresh(true);
    return added || {};
  }, button);
  if (done) {
    const clips = done.clips || 0;
    const models = (done.models || []).length;
    message(`Imported “${file.name}”: ${clips} clip${clips === 1 ? '' : 's'}` +
      (done.skipped ? ` (${done.skipped} already here)` : '') + `, ${models} model${models === 1 ? '' : 's'}.`, 'ok');
  }
  button.focus();
}

export function setUpDownload() {
  $('#blocks-figure').prepend(blocksPicture());
  $('#project-export').addEventListener('click', (event) => exportProject(event.currentTarget));
  $('#project-import').addEventListener('click', () => $('#project-import-file').click());
  $('#project-import-file').addEventListener('change', (event) => {
    const [file] = event.target.files;
    event.target.value = '';
    importProject(file, $('#project-import'));
  });
  $('#model-rename').addEventListener('submit', async (event) => {
    event.preventDefault();
    const m = currentModel();
    const input = $('#model-rename-name');
    if (m && await renameModel(m, input.value, input)) message(`Renamed to “${input.value.trim()}”.`, 'ok');
  });
}
