// Live updates: Server-Sent Events bring a snapshot and then every changed message.

import { $ } from './dom.js';
import { drawChrome } from './chrome.js';
import { drawMessages, removeMessage, showMessage } from './messages.js';
import { state } from './state.js';

export function connect() {
  state.events?.close();
  const events = new EventSource(`/pg/events?user=${encodeURIComponent(state.me)}`);
  state.events = events;
  events.addEventListener('snapshot', (e) => {
    state.snap = JSON.parse(e.data);
    if (!state.snap.channels.some((c) => c.id === state.channelId))
      state.channelId = state.snap.defaultChannelId;
    state.messages = new Map(state.snap.messages.map((m) => [m.id, m]));
    drawChrome();
    drawMessages();
    document.body.dataset.ready = 'true';
  });
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
