// The page's state: who is acting, the channel shown, the last snapshot and the messages by id.

export const state = {
  me: localStorage.getItem('tessera-playground-user') || 'alice',
  channelId: null,
  snap: null,
  messages: new Map(),
  events: null,
  /** Attachment option name → picked file ({ filename, contentType, base64 }). */
  files: {},
  /** The file option chosen in the popup, for the next picked file. */
  fileFor: null,
  history: [],
  historyAt: 0,
};

/** The DM view's pseudo channel id (the page shows the acting user's DMs with the bot there). */
export const DM_VIEW = 'dm';

/** Whether a message belongs in the view now shown (a server channel, or the DMs). */
export function inView(v) {
  return state.channelId === DM_VIEW ? v.dm : v.channelId === state.channelId;
}
