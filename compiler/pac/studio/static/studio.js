// pac studio: the page.  All state lives in the project folder on the server; the page shows it and sends
// the user's actions to the JSON API (see compiler/pac/studio/server.py).  One module per view:
//   core.js      elements, state, the API, loading the project      toasts.js   messages, errors, Undo
//   clips.js     1. labels and clips (record.js: the recording dialog, recorder.js: the microphone)
//   train.js     2. training (models.js: the list of models)
//   testing.js   3. testing (live.js: listening continuously)
//   handoff.js   4. downloads and App Inventor (blocks.js: the blocks picture)
import {$, $$, state, refresh, onRender, selectModel} from './core.js';
import {showError, guarded} from './toasts.js';
import {renderClips, setUpClips, addLabel, openRoomStep} from './clips.js';
import {setUpRecording, trapFocus, recordingNow} from './record.js';
import {loadTrainOptions, renderTrain, setUpTrain, pollTraining, trainingPolled} from './train.js';
import {renderTest, setUpTest, stopLive} from './testing.js';
import {renderDownload, setUpDownload} from './handoff.js';

const VIEWS = ['clips', 'train', 'test', 'download'];

function showView(view) {
  if (!VIEWS.includes(view)) view = 'clips';
  const changed = state.view !== view;
  state.view = view;
  $$('#tabs a').forEach((a) => {
    const on = a.dataset.view === view;
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  });
  $$('.view').forEach((section) => { section.hidden = section.id !== `view-${view}`; });
  if (view !== 'test') stopLive();
  renderPage();
  if (changed && document.activeElement && document.activeElement.closest('#tabs')) {
    // keyboard users land on the view's heading, not back at the top of the tabs
    const heading = $(`#view-${view} h1`);
    if (heading) heading.focus({preventScroll: true});
  }
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

function renderPage() {
  const p = state.project;
  if (!p) return;
  $('#loading').hidden = true;
  $('#project-name').textContent = p.name;
  $('#project-name').title = p.path;
  document.title = `${p.name} · pac studio`;
  renderBase();
  if (state.view === 'clips') renderClips();
  if (state.view === 'train') renderTrain();
  if (state.view === 'test') renderTest();
  if (state.view === 'download') renderDownload();
}
onRender(renderPage);

function setUp() {
  setUpClips();
  setUpRecording();
  setUpTrain();
  setUpTest();
  setUpDownload();
  $('#add-bg').addEventListener('click', (event) => openRoomStep(event.currentTarget));
  $$('.model-select').forEach((select) => select.addEventListener('change', (event) => selectModel(event.target.value)));
  document.addEventListener('keydown', trapFocus);
  // Files dropped outside a drop zone must not make the browser leave the page.
  window.addEventListener('dragover', (event) => event.preventDefault());
  window.addEventListener('drop', (event) => event.preventDefault());
  window.addEventListener('hashchange', () => showView(location.hash.slice(1)));
  window.addEventListener('focus', () => { if (!state.busy) guarded(() => refresh()); });
}

async function poll() {
  if (document.visibilityState === 'visible' && !recordingNow() && !state.busy) {
    try {
      await refresh();
      if (state.project && state.project.training && state.project.training.state === 'running' && !trainingPolled()) {
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
  window.pacStudio = {state, refresh, addLabel};  // for tests and the curious
}

main();
