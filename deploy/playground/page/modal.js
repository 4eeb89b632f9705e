// Modals: the form the bot showed the acting user (a button's Edit, say), as a dialog. Submitting
// sends the values to the emulator, which delivers a MODAL_SUBMIT to the bot; Cancel just closes it.

import { $, el, fill, markdown, post } from './dom.js';
import { state } from './state.js';

let shown = null;

function showModalError(text) {
  const box = $('modal-error');
  box.textContent = text || '';
  box.hidden = !text;
}

function renderField(f) {
  if (f.kind === 'note') return el('p', { class: 'modal-note', html: markdown(f.content) });
  const id = `modal-input-${f.customId}`;
  let field;
  if (f.kind === 'select') {
    field = el(
      'select',
      { id, name: f.customId, multiple: f.maxValues > 1, required: f.required },
      f.maxValues > 1 ? null : el('option', { value: '' }, 'Make a selection'),
      f.options.map((o) => el('option', { value: o.value, selected: o.default }, o.label)),
    );
  } else {
    const attrs = {
      id,
      name: f.customId,
      placeholder: f.placeholder || undefined,
      required: f.required,
      minlength: f.minLength ?? undefined,
      maxlength: f.maxLength ?? undefined,
    };
    field =
      f.style === 'paragraph'
        ? el('textarea', { ...attrs, rows: 4 })
        : el('input', { ...attrs, type: 'text' });
    field.value = f.value;
  }
  return el(
    'label',
    { class: 'modal-field' },
    el('span', { class: 'modal-label' }, f.label, f.required ? el('span', { class: 'req' }, ' *') : null),
    f.description ? el('span', { class: 'modal-desc' }, f.description) : null,
    field,
  );
}

/** Shows the modal (or closes the dialog when there is none for the acting user). */
export function showModal(modal) {
  const dialog = $('modal');
  if (!modal) {
    shown = null;
    if (dialog.open) dialog.close();
    return;
  }
  if (shown?.interactionId === modal.interactionId && dialog.open) return;
  shown = modal;
  $('modal-title').textContent = modal.title;
  fill($('modal-inputs'), modal.fields.map(renderField));
  showModalError('');
  dialog.dataset.interactionId = modal.interactionId;
  if (!dialog.open) dialog.showModal();
}

export async function submitModal(event) {
  event.preventDefault();
  if (!shown) return;
  const values = {};
  for (const f of shown.fields) {
    if (f.kind === 'note') continue;
    const node = $(`modal-input-${f.customId}`);
    values[f.customId] =
      f.kind === 'select' ? [...node.selectedOptions].map((o) => o.value).filter(Boolean) : node.value;
  }
  try {
    await post('/pg/modal', { user: state.me, interactionId: shown.interactionId, values });
    showModal(null);
  } catch (err) {
    showModalError(err.message);
  }
}

export async function cancelModal() {
  const modal = shown;
  showModal(null);
  if (modal)
    await post('/pg/modal', { user: state.me, interactionId: modal.interactionId, cancel: true }).catch(
      () => undefined,
    );
}
