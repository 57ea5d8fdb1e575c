// Step 3: testing.  Clips recorded or uploaded are classified and kept as test results (with the label
// each was meant to be); "listen continuously" shows the model's answer for the live microphone.
import {$, h, api, state, enc, modelUrl, testUrl, currentModel, modelName, bars} from './core.js';
import {fieldError, guarded} from './toasts.js';
import {recordTakes} from './record.js';
import {play, makeDropTarget} from './clips.js';
import {renderLive, setUpLive, stopLive} from './liveview.js';

export {stopLive};

export function modelOptions(select) {
  const models = state.project.models;
  const wanted = models.map((m) => `${m.id}:${modelName(m)}`).join('|');
  if (select.dataset.models !== wanted) {
    select.replaceChildren(...models.slice().reverse().map((m) => h('option', {value: m.id},
      `${modelName(m)} (${m.labels.join(', ')})`)));
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
export function modelView(view) {
  const has = state.project.models.length > 0;
  $(`#${view}-empty`).hidden = has;
  $(`#${view}-body`).hidden = !has;
  if (!has) return null;
  modelOptions($(`#${view}-model`));
  return currentModel();
}

export function renderTest() {
  const m = modelView('test');
  if (!m) { stopLive(); return; }
  renderLive(m);
  const expected = $('#test-expected');
  const wanted = m.labels.join('|');
  if (expected.dataset.labels !== wanted) {
    const previous = expected.value;
    expected.replaceChildren(h('option', {value: ''}, '(not sure / ask me after)'),
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

const inLabelOrder = (result, labels) => {
  const p = Object.fromEntries(result);
  return labels.map((label) => p[label] || 0);
};

function renderLatest(entry) {
  const box = $('#test-latest');
  if (!entry) { box.replaceChildren(); return; }
  const m = currentModel();
  const labels = m ? m.labels : entry.result.map(([label]) => label);
  const base = testUrl(entry.id);
  let verdict;
  if (entry.expected) {
    verdict = h('span', {}, entry.expected === entry.predicted ? ' ✓ correct' : ` ✗ (meant ${entry.expected})`);
  } else {
    const other = h('select', {'aria-label': 'No, it was', onchange: (event) => event.target.value && answer(entry, event.target.value)},
      h('option', {value: ''}, 'No, it was…'), labels.filter((l) => l !== entry.predicted).map((l) => h('option', {value: l}, l)));
    verdict = h('span', {class: 'ask', dataset: {errors: ''}}, ` Was it “${entry.predicted}”? `,
      h('button', {type: 'button', class: 'small was-it', onclick: () => answer(entry, entry.predicted)}, 'Yes'), ' ', other);
  }
  box.replaceChildren(h('div', {class: 'latest', id: 'latest-result', dataset: {predicted: entry.predicted}},
    h('img', {class: 'seen', src: `${base}/spectrogram`, width: 110, height: 110, alt: 'spectrogram of the test clip',
      title: 'What the model saw'}),
    h('div', {},
      h('p', {class: 'verdict'}, 'Heard: ', h('b', {}, entry.predicted), verdict),
      h('button', {type: 'button', onclick: () => play(`${base}/audio`)}, '▶ Play the clip')),
    bars(inLabelOrder(entry.result, labels), labels)));
}

async function answer(entry, expected) {
  await setExpected(entry.id, expected, $('#test-latest .ask') || $('#test-record'));
  renderLatest({...entry, expected});
  $('#test-record').focus();
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
    const n = data.entries.length - i;
    const select = h('select', {'aria-label': `Test clip ${n} was meant to be`,
      onchange: (event) => setExpected(e.id, event.target.value, event.target)},
    h('option', {value: ''}, '?'), ...data.labels.map((label) => h('option', {value: label}, label)));
    select.value = e.expected || '';
    const mark = e.expected ? (e.expected === e.predicted ? h('td', {class: 'ok'}, '✓') : h('td', {class: 'wrong'}, '✗'))
      : h('td', {}, '');
    return h('tr', {dataset: {test: e.id}},
      h('td', {}, String(n)),
      h('td', {}, h('button', {type: 'button', class: 'icon', 'aria-label': `Play test clip ${n}`, title: 'Play',
        onclick: () => play(`${testUrl(e.id)}/audio`)}, '▶')),
      h('td', {}, select),
      h('td', {class: 'predicted'}, e.predicted),
      h('td', {}, `${(100 * e.confidence).toFixed(0)}%`),
      mark,
      h('td', {}, h('button', {type: 'button', class: 'icon', 'aria-label': `Delete test clip ${n}`, title: 'Delete',
        onclick: (event) => deleteTest(e.id, event.currentTarget)}, '✕')));
  });
  $('#test-table').replaceChildren(rows.length
    ? h('div', {class: 'scroll'}, h('table', {class: 'results', id: 'results-table'},
      h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, '#'), h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, 'play')),
        h('th', {scope: 'col'}, 'meant'), h('th', {scope: 'col'}, 'heard'), h('th', {scope: 'col'}, 'confidence'),
        h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, 'right?')), h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, 'delete')))),
      h('tbody', {}, rows)))
    : h('p', {class: 'empty'}, 'No test clips yet.'));
  $('#test-clear').disabled = !rows.length;
}

function perLabel(labels, s) {
  const pct = (v) => (v === null || v === undefined ? '–' : `${Math.round(100 * v)}%`);
  return h('div', {class: 'scroll-x'}, h('table', {class: 'data-table'},
    h('tr', {}, h('th', {}, 'label'), h('th', {}, 'clips'), h('th', {}, 'found (recall)'), h('th', {}, 'right when said (precision)')),
    labels.map((label) => {
      const row = s.per_label[label];
      return h('tr', {}, h('td', {}, label), h('td', {}, String(row.clips)), h('td', {}, pct(row.recall)), h('td', {}, pct(row.precision)));
    })));
}

function matrix(labels, confusion) {
  const max = Math.max(1, ...confusion.flat());
  return h('div', {class: 'scroll-x'}, h('table', {class: 'matrix', id: 'confusion-matrix'},
    h('tr', {}, h('th', {class: 'corner'}, 'meant ↓ / heard →'), labels.map((l) => h('th', {}, l))),
    confusion.map((row, i) => h('tr', {}, h('th', {}, labels[i]), row.map((v, j) => {
      const alpha = v ? 0.1 + 0.35 * (v / max) : 0;  // light tints: the numbers keep 4.5:1
      const color = i === j ? `rgba(30,123,52,${alpha})` : `rgba(179,38,30,${alpha})`;
      return h('td', {class: i === j ? 'diag' : '', style: {background: color}}, String(v));
    })))));
}

async function setExpected(testId, expected, control) {
  await guarded(async () => {
    await api('POST', testUrl(testId), {expected: expected || null});
    await loadTests();
  }, control);
}

async function deleteTest(testId, button) {
  await guarded(async () => {
    await api('DELETE', testUrl(testId));
    await loadTests();
  }, button);
  const next = $('#results-table button');
  (next || $('#test-record')).focus();
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

/** After a batch (one recording, or the files of one upload) the meant label starts over. */
function batchDone() { $('#test-expected').value = ''; }

async function testRecord() {
  const button = $('#test-record');
  const meant = $('#test-expected').value;
  try {
    await recordTakes({
      title: `Say ${meant ? `“${meant}”` : 'something'}`,
      takes: 1, seconds: parseFloat($('#clip-seconds').value), countIn: parseFloat($('#count-in').value),
      keep: async (wav) => {
        $('#test-latest').replaceChildren(h('p', {class: 'empty'}, 'Classifying…'));
        await classify(wav, 'recorded', null);
      },
    }).then((result) => { if (result.problems.length) throw new Error(result.problems.join('\n')); });
    fieldError(button, null);
  } catch (error) {
    $('#test-latest').replaceChildren();
    fieldError(button, error);
  }
  batchDone();
  button.focus();
}

async function testFiles(files) {
  const limit = state.project.limits.max_clip_bytes;
  const control = $('#test-upload-button');
  const problems = [];
  for (const file of files) {
    if (file.size > limit) {
      problems.push(`${file.name}: the file is too large (at most ${Math.round(limit / 1e6)} MB)`);
      continue;
    }
    $('#test-latest').replaceChildren(h('p', {class: 'empty'}, `Classifying ${file.name}…`));
    try {
      await classify(file.slice(0, file.size, file.type || 'audio/wav'), 'uploaded', file.name);
    } catch (error) {
      $('#test-latest').replaceChildren();
      problems.push(error.message);
    }
  }
  fieldError(control, problems.length ? problems.join('\n') : null);
  batchDone();
}

export function setUpTest() {
  $('#test-record').addEventListener('click', testRecord);
  $('#test-upload-button').addEventListener('click', () => $('#test-upload').click());
  $('#test-upload').addEventListener('change', (event) => {
    const files = Array.from(event.target.files);
    event.target.value = '';
    testFiles(files).then(() => $('#test-upload-button').focus());
  });
  makeDropTarget($('#test-drop'), testFiles);
  setUpLive();
  $('#test-clear').addEventListener('click', (event) => {
    if (!window.confirm('Delete all test results of this model?')) return;
    guarded(async () => {
      await api('DELETE', `${modelUrl(state.modelId)}/tests`);
      $('#test-latest').replaceChildren();
      await loadTests();
    }, event.currentTarget);
  });
}
