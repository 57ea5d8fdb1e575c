// pac studio: what every view shares: elements, the page's state, the JSON API, settings kept in the
// browser and loading the project.  Every URL is relative ("api/...", "static/..."), so the page works
// wherever the studio serves it (http://127.0.0.1:8765/ or a classroom's /s/<student>/).

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/** Build an element: h('div', {class: 'x', onclick: f}, 'text', child, ...).  Text is never parsed as HTML. */
export function h(tag, attrs = {}, ...children) {
  const ns = tag === 'svg' || (attrs && attrs.svg) ? 'http://www.w3.org/2000/svg' : 'http://www.w3.org/1999/xhtml';
  const el = document.createElementNS(ns, tag);
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
export const svg = (tag, attrs = {}, ...children) => h(tag, {...attrs, svg: true}, ...children);

export const state = {
  project: null,
  revision: null,
  view: 'clips',
  modelId: null,
  tests: null,
  testsFor: null,
  training: null,
  exports: {},
  busy: false,          // a recording or live listening holds the microphone: polling waits
};

// -- talking to the server -------------------------------------------------------------------------

export async function api(method, url, body, headers = {}) {
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
    const error = new Error((data && data.error) || `The server answered ${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

/** A GET whose answer is a file: a Blob, or an Error with the server's message. */
export async function fetchFile(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error('The studio server does not answer. Is pac studio still running?');
  }
  if (!response.ok) {
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    const error = new Error((data && data.error) || `The server answered ${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  const disposition = response.headers.get('Content-Disposition') || '';
  const match = /filename="([^"]+)"/.exec(disposition);
  return {blob: await response.blob(), filename: match ? match[1] : null};
}

/** Make the browser save `url` (same origin) as a download. */
export function saveUrl(url, filename = '') {
  const a = h('a', {href: url, download: filename, hidden: true});
  document.body.append(a);
  a.click();
  a.remove();
}

export const enc = encodeURIComponent;
export const labelUrl = (label) => `api/labels/${enc(label)}`;
export const clipUrl = (label, clip) => `${labelUrl(label)}/clips/${enc(clip)}`;
export const modelUrl = (model) => `api/models/${enc(model)}`;
export const testUrl = (test) => `${modelUrl(state.modelId)}/tests/${enc(test)}`;

// -- settings kept in the browser ------------------------------------------------------------------

export function pref(name, fallback) {
  try {
    const value = localStorage.getItem(`pac-studio:${name}`);
    return value === null ? fallback : value;
  } catch (error) { return fallback; }
}
export function setPref(name, value) {
  try { localStorage.setItem(`pac-studio:${name}`, String(value)); } catch (error) { /* private mode */ }
}

// -- loading the project ---------------------------------------------------------------------------

const renderers = [];
/** Register the function that redraws the page after the project changed. */
export function onRender(fn) { renderers.push(fn); }
export function render() { for (const fn of renderers) fn(); }

export async function refresh(force = false) {
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

export function selectModel(id) {
  if (!id || id === state.modelId) return;
  state.modelId = id;
  setPref(`model:${state.project.path}`, id);
  state.tests = null;
  render();
}

/** The label's card on the clips view (undefined when it is not drawn). */
export const cardOf = (label) => $$('.label-card').find((c) => c.dataset.label === label);
export const currentModel = () => (state.project ? state.project.models.find((m) => m.id === state.modelId) : null);
/** A model's name as shown: its display name, or its folder name when it has none. */
export const modelName = (m) => (m && (m.name || m.id)) || '';

export const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// -- label colours: one per label, by its place in the project's (creation) order ------------------

/** Eight colours that keep 3:1 against white and are told apart also by most colour-blind eyes. */
export const PALETTE = ['#2b5797', '#c2410c', '#15803d', '#7e22ce', '#b45309', '#0e7490', '#be185d', '#4b5563'];
export function labelColor(label, labels) {
  const i = labels.indexOf(label);
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
}

/** Bars in the model's label order, one colour per label; the most probable one marked. */
export function bars(probabilities, labels, {id = null} = {}) {
  const best = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
  return h('div', {class: 'bars', id}, labels.map((label, i) => {
    const p = probabilities ? probabilities[i] : 0;
    return h('div', {class: `bar-row ${i === best ? 'best' : ''}`, dataset: {label}},
      h('span', {class: 'label', title: label}, label),
      h('span', {class: 'track', role: 'meter', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': '100',
        'aria-valuenow': String(Math.round(100 * p))},
      h('span', {class: 'fill', style: {width: `${(100 * p).toFixed(1)}%`, background: labelColor(label, labels)}})),
      h('span', {class: 'pct'}, probabilities ? `${(100 * p).toFixed(0)}%` : '–'));
  }));
}
