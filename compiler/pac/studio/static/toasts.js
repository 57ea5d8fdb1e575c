// Messages: toasts (at most two on screen, they fade), errors beside the control that caused them, and
// undoable deletes (the delete is sent only when its Undo toast expires, so nothing is lost by a reload
// or a closed tab before then: the clip is simply still there).
import {$, $$, h, api} from './core.js';

const MAX_TOASTS = 2;
const FADE_MS = 300;

function dismiss(box) {
  if (!box.isConnected || box.classList.contains('leaving')) return;
  box.classList.add('leaving');
  setTimeout(() => box.remove(), FADE_MS);
}

/** A toast.  kind: 'info' | 'ok' | 'error'; timeout 0 keeps it until closed.  Returns its element. */
export function message(text, kind = 'info', timeout = kind === 'error' ? 12000 : 4000, actions = []) {
  const box = h('div', {class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status'},
    h('span', {class: 'text'}, text), ...actions,
    h('button', {type: 'button', class: 'close', 'aria-label': 'Close message', onclick: () => dismiss(box)}, '×'));
  const shelf = $('#messages');
  shelf.append(box);
  // over the limit: the oldest plain messages go first; an Undo toast only when nothing else is left
  // (its delete is then sent at once)
  const live = $$('.message:not(.leaving)', shelf);
  let extra = live.length - MAX_TOASTS;
  for (const old of [...live.filter((m) => !m.undo && m !== box), ...live.filter((m) => m.undo)]) {
    if (extra <= 0) break;
    if (old.undo) old.undo.expire(); else dismiss(old);
    extra -= 1;
  }
  if (timeout) box.timer = setTimeout(() => dismiss(box), timeout);
  return box;
}

export const errorText = (error) => (error instanceof Error ? error.message : String(error));
export const showError = (error) => message(errorText(error), 'error');

/** The error slot beside a control: the element after it with class field-error (made when missing). */
function slotFor(control) {
  const holder = control.closest('[data-errors]');
  if (holder) {
    let slot = $(':scope > .field-error', holder);
    if (!slot) { slot = h('p', {class: 'field-error', role: 'alert', id: `err-${Math.random().toString(36).slice(2)}`}); holder.append(slot); }
    return slot;
  }
  let slot = control.nextElementSibling;
  if (!slot || !slot.classList.contains('field-error')) {
    slot = h('p', {class: 'field-error', role: 'alert', id: `err-${Math.random().toString(36).slice(2)}`});
    control.after(slot);
  }
  return slot;
}

/** Show `error` beside `control` (and link it as the control's description); null clears it. */
export function fieldError(control, error) {
  if (!control) { if (error) showError(error); return; }
  if (!error) {
    const holder = control.closest('[data-errors]');
    const slot = holder ? $(':scope > .field-error', holder) : control.nextElementSibling;
    if (slot && slot.classList.contains('field-error')) slot.remove();
    control.removeAttribute('aria-describedby');
    control.removeAttribute('aria-invalid');
    return;
  }
  const slot = slotFor(control);
  slot.textContent = errorText(error);
  control.setAttribute('aria-describedby', slot.id);
  control.setAttribute('aria-invalid', 'true');
}

/** Run fn; an error is shown beside `control` (a toast when there is none).  Returns fn's value or undefined. */
export async function guarded(fn, control = null) {
  try {
    const value = await fn();
    if (control) fieldError(control, null);
    return value;
  } catch (error) {
    if (error && error.name === 'AbortError') return undefined;
    fieldError(control, error);
    return undefined;
  }
}

// -- undoable deletes ----------------------------------------------------------------------------------

export const UNDO_SECONDS = 8;
/** Deletes waiting for their Undo toast to expire: key -> {url, label, clip, done} (views hide these). */
export const pending = new Map();

/** Delete `url` after UNDO_SECONDS unless Undo is pressed; `onChange` redraws (hide now, show on undo). */
export function deleteWithUndo({key, url, text, label = null, clip = null, onChange, focusAfterUndo}) {
  const entry = {key, url, label, clip};
  pending.set(key, entry);
  let finished = false;
  const undoButton = h('button', {type: 'button', class: 'undo', onclick: () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    pending.delete(key);
    dismiss(box);
    onChange();
    if (focusAfterUndo) focusAfterUndo();
  }}, 'Undo');
  const box = message(text, 'info', 0, [undoButton]);
  box.classList.add('undoable');
  const bar = h('span', {class: 'countdown', style: {animationDuration: `${UNDO_SECONDS}s`}});
  box.append(bar);
  let sending = null;  // the DELETE on its way: Train waits for it too, not only for deletes not sent yet
  entry.commit = () => {
    if (sending || finished) return sending || Promise.resolve();
    finished = true;
    clearTimeout(timer);
    dismiss(box);
    sending = (async () => {
      try {
        await api('DELETE', url);
      } catch (error) {
        if (error.status !== 404) showError(`Could not delete: ${errorText(error)}`);
      } finally {
        pending.delete(key);
        onChange(true);
      }
    })();
    return sending;
  };
  box.undo = {expire: () => entry.commit()};
  const timer = setTimeout(() => entry.commit(), UNDO_SECONDS * 1000);
  onChange();
  undoButton.focus({preventScroll: true});
  return entry;
}

/** Send every waiting delete now (before training, so it trains on what the page shows). */
export async function commitPending() {
  await Promise.all(Array.from(pending.values()).map((entry) => entry.commit()));
}

