// The trained models: the list (show, test, rename, delete) and the chosen model's report.
import {$, h, api, state, modelUrl, refresh, currentModel, selectModel, modelName} from './core.js';
import {guarded} from './toasts.js';

export const BLOCK_NAMES = {speech: 'speech embedding', mobilenet: 'MobileNet', mobilenet_rows: 'MobileNet by frequency row'};
export const NETWORK_NAMES = {mobilenet: 'MobileNet', speech: 'speech'};
export const HEAD_NAMES = {linear: 'Speech + sound features', conv: 'PAC’s original head'};

export const percent = (v) => (v === null || v === undefined ? '–' : `${Math.round(100 * v)}%`);

/** "speech embedding (weight 1) + MobileNet (weight 0.5)": the networks a linear head uses. */
export function blocksText(blocks) {
  return (blocks || []).map((b) => `${BLOCK_NAMES[b.name] || b.name} (weight ${b.weight})`).join(' + ');
}

let renaming = null;  // the model whose name is being edited

/** Rename a model (POST api/models/{model}/rename {"name"}); errors beside `control`. */
export async function renameModel(m, name, control) {
  const done = await guarded(async () => {
    const wanted = name.trim();
    if (!wanted) throw new Error('Type a name for the model.');
    try {
      await api('POST', `${modelUrl(m.id)}/rename`, {name: wanted});
    } catch (error) {
      if (error.status === 404 && /no such page/.test(error.message)) {
        throw new Error('This studio cannot rename models yet (its server has no rename route): update pac.');
      }
      throw error;
    }
    await refresh(true);
    return true;
  }, control);
  return Boolean(done);
}

function renameForm(m) {
  const input = h('input', {value: modelName(m), 'aria-label': `New name for ${modelName(m)}`, maxlength: 60, class: 'model-name-input'});
  const form = h('form', {class: 'rename-model', dataset: {errors: ''}, onsubmit: async (event) => {
    event.preventDefault();
    if (await renameModel(m, input.value, input)) {
      renaming = null;
      renderModels();
      const row = document.querySelector(`.model-row[data-model="${CSS.escape(m.id)}"] button.rename-model`);
      if (row) row.focus();
    }
  }},
  input, h('button', {type: 'submit', class: 'small primary'}, 'Save'),
  h('button', {type: 'button', class: 'small', onclick: () => { renaming = null; renderModels(); }}, 'Cancel'));
  input.addEventListener('keydown', (event) => { if (event.key === 'Escape') { renaming = null; renderModels(); } });
  requestAnimationFrame(() => { input.focus(); input.select(); });
  return form;
}

export function renderModels() {
  const p = state.project;
  const list = $('#model-list');
  if (!p.models.length) {
    list.replaceChildren(h('p', {class: 'empty'}, 'No models yet.'));
    $('#model-detail').replaceChildren();
    return;
  }
  if (renaming && list.contains(document.activeElement)) return;  // do not redraw under the name being typed
  list.replaceChildren(...p.models.slice().reverse().map((m) => {
    const val = m.validation && m.validation.accuracy !== null && m.validation.accuracy !== undefined
      ? `validation accuracy ${(100 * m.validation.accuracy).toFixed(0)}%` : 'no validation clips';
    const options = m.options || {};
    const info = m.head === 'linear'
      ? `${HEAD_NAMES.linear}: ${blocksText(m.blocks)} · ` +
        (m.cross_validation ? `cross-validated accuracy ${percent(m.cross_validation.accuracy)}` : '') +
        (m.validation ? ` · ${val}` : '')
      : `${HEAD_NAMES.conv}: ${options.epochs || '?'} epochs, lr ${options.learning_rate}, ${options.optimizer} · ${val}`;
    const name = modelName(m);
    return h('div', {class: `model-row ${m.id === state.modelId ? 'selected' : ''}`, dataset: {model: m.id, head: m.head}},
      renaming === m.id ? renameForm(m) : h('span', {class: 'name'}, name),
      h('span', {class: 'info'}, `${m.created || m.id} · ${m.labels.join(', ')} · ${info}`),
      h('span', {class: 'row-actions'},
        h('button', {type: 'button', class: 'small', 'aria-label': `Show ${name}`, 'aria-pressed': String(m.id === state.modelId),
          onclick: () => selectModel(m.id)}, 'Show'),
        h('button', {type: 'button', class: 'small', 'aria-label': `Test ${name}`,
          onclick: () => { selectModel(m.id); location.hash = '#test'; }}, 'Test'),
        h('button', {type: 'button', class: 'small rename-model', 'aria-label': `Rename ${name}`,
          onclick: () => { renaming = m.id; renderModels(); }}, 'Rename'),
        h('button', {type: 'button', class: 'small danger', 'aria-label': `Delete ${name}`,
          onclick: (event) => deleteModel(m, event.currentTarget)}, 'Delete')));
  }));
  renderDetail();
}

function renderDetail() {
  const m = currentModel();
  if (!m) { $('#model-detail').replaceChildren(); return; }
  const figures = m.files.map((name) => h('img', {src: `${modelUrl(m.id)}/files/${name}`,
    alt: name === 'confusion.png' ? 'confusion matrix' : 'training curves', class: name.replace('.png', '')}));
  const v = m.validation;
  const lines = [];
  if (v && v.accuracy !== null && v.accuracy !== undefined) {
    lines.push(`On the ${v.clips ? v.clips.length : '?'} held-back clips it got ${(100 * v.accuracy).toFixed(0)}% right.`);
  }
  const cv = m.cross_validation;
  if (m.head === 'linear' && cv) {
    lines.push(`Cross-validation: each of its ${cv.clips} training clips was classified by a model trained without ` +
      `it (${cv.folds} folds); ${percent(cv.accuracy)} were right` +
      (v ? '.' : ' (the confusion matrix below shows them).'));
  }
  if (!lines.length) lines.push('No clips were held back for checking: test it in step 3.');
  const header = `${modelName(m)}: ${HEAD_NAMES[m.head === 'linear' ? 'linear' : 'conv']}, ${m.labels.length} labels, ` +
    `trained on ${m.examples || '?'} examples`;
  const details = [h('h3', {}, header), ...lines.map((text) => h('p', {}, text))];
  if (m.head === 'linear') {
    details.push(h('p', {}, 'Networks used: ', h('b', {class: 'blocks'}, blocksText(m.blocks))));
    if (m.candidates.length > 1) {
      const chosen = JSON.stringify(Object.fromEntries(m.blocks.map((b) => [b.name, b.weight])));
      const weighed = Object.keys(m.candidates[0].weights);  // the blocks the weightings cover, in order
      const same = (c) => JSON.stringify(Object.fromEntries(Object.entries(c.weights).filter(([, w]) => w > 0))) === chosen;
      details.push(h('details', {class: 'candidates'}, h('summary', {}, 'Weightings compared'),
        h('table', {class: 'data-table candidates'},
          h('tr', {}, ...weighed.map((b) => h('th', {}, `${BLOCK_NAMES[b] || b} weight`)),
            h('th', {}, 'cross-validated accuracy')),
          m.candidates.map((c) => h('tr', {}, [...weighed.map((b) => c.weights[b]), percent(c.cv_accuracy)].map((text) =>
            h('td', {class: same(c) ? 'chosen' : ''}, String(text))))))));
    }
  }
  details.push(h('div', {class: 'figures'}, figures));
  $('#model-detail').replaceChildren(...details);
}

async function deleteModel(m, button) {
  if (!window.confirm(`Delete ${modelName(m)} and its test results? This cannot be undone.`)) return;
  await guarded(async () => {
    await api('DELETE', modelUrl(m.id));
    await refresh(true);
  }, button);
  const first = document.querySelector('#model-list button');
  if (first && !document.activeElement.closest('#model-list')) first.focus();
}

