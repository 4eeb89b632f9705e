// The playground page: draws the emulator's channel like Discord and sends what you do back to it.
// Server-Sent Events bring a snapshot and then every changed message; commands and reactions go out
// (and button clicks, modal submissions) as small POSTs that the emulator turns into gateway events
// for the real bot. No frameworks.
// This entry module wires the page's controls to the modules that do the work.

import { $ } from './dom.js';
import { switchUser, toggleDms } from './chrome.js';
import { drawPopup, onKey, pickFile, clearFiles, showError, submit } from './composer.js';
import { connect } from './live.js';
import { jumpTo } from './messages.js';
import { cancelModal, submitModal } from './modal.js';

window.addEventListener('DOMContentLoaded', () => {
  $('composer').addEventListener('submit', submit);
  $('composer-input').addEventListener('input', () => {
    showError('');
    drawPopup();
  });
  $('composer-input').addEventListener('keydown', onKey);
  $('composer-input').addEventListener('blur', () => setTimeout(() => ($('popup').hidden = true), 150));
  $('composer-input').addEventListener('focus', drawPopup);
  $('file-input').addEventListener('change', pickFile);
  $('attached').addEventListener('click', clearFiles);
  $('user-switch').addEventListener('change', (e) => switchUser(e.target.value));
  $('dms-closed').addEventListener('change', (e) => toggleDms(e.target.checked));
  $('modal-form').addEventListener('submit', submitModal);
  $('modal-cancel').addEventListener('click', cancelModal);
  $('modal').addEventListener('cancel', (e) => {
    e.preventDefault();
    cancelModal();
  });
  $('messages').addEventListener('click', (e) => {
    const a = e.target.closest('[data-jump]');
    if (!a) return;
    e.preventDefault();
    jumpTo(a.dataset.jump, a.dataset.channel);
  });
  connect();
  $('composer-input').focus();
});
