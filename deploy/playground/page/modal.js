// Modals: the form the bot showed the acting user (a button's Edit, say), as a dialog. Submitting
// sends the values to the emulator, which delivers a MODAL_SUBMIT to the bot; Cancel just closes it.

import { $, el, fill, post } from './dom.js';
import { state } from './state.js';

let shown = null;

function showModalError(text) {
  const box = $('modal-error');
  box.textContent = text || '';
  box.hidden = !text;
}

function renderInput(i) {
  const attrs = {
    id: `modal-input-${i.customId}`,
    name: i.customId,
    placeholder: i.placeholder || undefined,
    required: i.required,
    minlength: i.minLength ?? undefined,
    maxlength: i.maxLength ?? undefined,
  };
  const field =
    i.style === 'paragraph' ? el('textarea', { ...attrs, rows: 4 }) : el('input', { ...attrs, type: 'text' });
  field.value = i.value;
  return el(
    'label',
    { class: 'modal-field' },
    el('span', { class: 'modal-label' }, i.label, i.required ? el('span', { class: 'req' }, ' *') : null),
    i.description ? el('span', { class: 'modal-desc' }, i.description) : null,
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
  fill($('modal-inputs'), modal.inputs.map(renderInput));
  showModalError('');
  dialog.dataset.interactionId = modal.interactionId;
  if (!dialog.open) dialog.showModal();
}

export async function submitModal(event) {
  event.preventDefault();
  if (!shown) return;
  const values = {};
  for (const i of shown.inputs) values[i.customId] = $(`modal-input-${i.customId}`).value;
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
