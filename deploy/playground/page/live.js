// Live updates: Server-Sent Events bring a snapshot and then every changed message, the modals the
// bot shows the acting user, and status changes.

import { $ } from './dom.js';
import { drawChrome } from './chrome.js';
import { drawMessages, removeMessage, showMessage } from './messages.js';
import { showModal } from './modal.js';
import { DM_VIEW, state } from './state.js';

export function connect() {
  state.events?.close();
  const events = new EventSource(`/pg/events?user=${encodeURIComponent(state.me)}`);
  state.events = events;
  events.addEventListener('snapshot', (e) => {
    state.snap = JSON.parse(e.data);
    if (state.channelId !== DM_VIEW && !state.snap.channels.some((c) => c.id === state.channelId))
      state.channelId = state.snap.defaultChannelId;
    state.messages = new Map(state.snap.messages.map((m) => [m.id, m]));
    drawChrome();
    drawMessages();
    showModal(state.snap.modal);
    document.body.dataset.ready = 'true';
  });
  events.addEventListener('modal', (e) => showModal(JSON.parse(e.data)));
  events.addEventListener('message', (e) => showMessage(JSON.parse(e.data)));
  events.addEventListener('remove', (e) => removeMessage(JSON.parse(e.data).id));
  events.addEventListener('status', (e) => {
    Object.assign(state.snap, JSON.parse(e.data));
    drawChrome();
  });
  events.onerror = () => {
    const status = $('bot-status');
    status.dataset.online = 'false';
    status.textContent = 'playground offline — reconnecting…';
  };
}
