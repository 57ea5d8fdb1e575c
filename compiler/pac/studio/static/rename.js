// Renaming a label in its card: Rename turns the name into a field (its text selected), Enter saves,
// Escape or Cancel keeps the old name, and the server's refusal stays beside the field until the next
// try.  What is being typed survives the page's redraws (polling, other tabs' changes).
import {$, h, api, state, labelUrl, refresh, render, cardOf} from './core.js';
import {fieldError, guarded} from './toasts.js';

let renaming = null;  // {label, value, error}: the label being renamed (kept across redraws)

/** The label whose name is being edited, or null. */
export const renamingLabel = () => (renaming ? renaming.label : null);

/** The field, Save and Cancel that take the place of the label's name in its card. */
export function renameForm(label) {
  const input = h('input', {class: 'rename-input', value: renaming.value, 'aria-label': `New name for ${label}`,
    maxlength: String(state.project.limits.max_label_chars), autocomplete: 'off', spellcheck: 'false',
    oninput: (event) => { renaming.value = event.target.value; },
    onkeydown: (event) => {
      if (event.key !== 'Escape') return;
      event.preventDefault();
      cancelRename(label);
    }});
  const form = h('form', {class: 'rename-form', dataset: {errors: ''}, onsubmit: (event) => {
    event.preventDefault();
    saveRename(label, input);
  }}, input, h('button', {type: 'submit', class: 'small save-rename'}, 'Save'),
  h('button', {type: 'button', class: 'small cancel-rename', onclick: () => cancelRename(label)}, 'Cancel'));
  if (renaming.error) fieldError(input, renaming.error);
  return form;
}

export function startRename(label) {
  renaming = {label, value: label, error: null};
  render();
  const input = $('.rename-input', cardOf(label));
  input.focus();
  input.select();
}

function cancelRename(label) {
  renaming = null;
  render();
  const card = cardOf(label);
  if (card) $('button.rename', card).focus();
}

async function saveRename(old, input) {
  const wanted = input.value;
  if (wanted.trim() === old) { cancelRename(old); return; }
  let renamed;
  try {
    renamed = await api('POST', `${labelUrl(old)}/rename`, {name: wanted});
  } catch (error) {
    if (!renaming || renaming.label !== old) return;
    renaming.error = error.message;
    const field = $('.rename-input', cardOf(old)) || input;
    fieldError(field, error);
    field.focus();
    return;
  }
  renaming = null;
  await guarded(() => refresh(true));
  const card = cardOf(renamed.name);
  if (card) $('button.rename', card).focus();
}
