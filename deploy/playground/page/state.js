// The page's state: who is acting, the channel shown, the last snapshot and the messages by id.

export const state = {
  me: localStorage.getItem('tessera-playground-user') || 'alice',
  channelId: null,
  snap: null,
  messages: new Map(),
  events: null,
  file: null,
  history: [],
  historyAt: 0,
};
