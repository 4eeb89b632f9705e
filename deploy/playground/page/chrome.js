// The chrome around the messages: channels and the DMs, members, the bot's status, switching
// channel or user, the acting user's "DMs closed" setting.

import { $, avatar, el, fill, nameSpan, post } from './dom.js';
import { connect } from './live.js';
import { drawMessages } from './messages.js';
import { DM_VIEW, state } from './state.js';

function drawChannels(s) {
  const channels = $('channel-list');
  fill(
    channels,
    el('div', { class: 'category' }, 'Text channels'),
    s.channels.map((c) =>
      el(
        'button',
        {
          type: 'button',
          class: `channel${c.id === state.channelId ? ' active' : ''}`,
          dataset: { channelId: c.id },
          onclick: () => selectChannel(c.id),
        },
        el('span', { class: 'hash' }, '#'),
        c.name,
      ),
    ),
    el('div', { class: 'category' }, 'Direct messages'),
    el(
      'button',
      {
        type: 'button',
        class: `channel dm${state.channelId === DM_VIEW ? ' active' : ''}`,
        dataset: { channelId: DM_VIEW },
        title: `Your DMs with ${s.bot.name}`,
        onclick: () => selectChannel(DM_VIEW),
      },
      avatar(s.bot, 'tiny'),
      s.bot.name,
      s.dms.closed ? el('span', { class: 'dm-closed' }, 'closed') : null,
    ),
  );
}

export function drawChrome() {
  const s = state.snap;
  $('guild-name').textContent = s.guild.name;
  drawChannels(s);
  const inDms = state.channelId === DM_VIEW;
  const channel = s.channels.find((c) => c.id === state.channelId);
  const title = inDms ? s.bot.name : channel.name;
  document.body.dataset.view = inDms ? 'dm' : 'channel';
  $('channel-name').textContent = title;
  $('welcome-channel').textContent = title;
  $('composer-input').placeholder = `Message #${title} — try /imagine prompt:a red circle steps:300`;
  $('dms-closed').checked = s.dms.closed;

  const me = s.users.find((u) => u.key === state.me);
  $('me-avatar').replaceWith(Object.assign(avatar(me, 'small'), { id: 'me-avatar' }));
  $('me-name').textContent = me.name;
  const select = $('user-switch');
  select.replaceChildren(
    ...s.users.map((u) =>
      el(
        'option',
        { value: u.key, selected: u.key === state.me },
        `${u.name}${u.moderator && !/moderator|owner/i.test(u.name) ? ' (moderator)' : ''}`,
      ),
    ),
  );

  const groups = [
    ['Moderators', s.users.filter((u) => u.moderator)],
    ['Members', s.users.filter((u) => !u.moderator)],
  ];
  fill(
    $('member-list'),
    el('div', { class: 'group' }, `Apps — 1`),
    el(
      'div',
      { class: 'member' },
      avatar(s.bot, 'small'),
      el(
        'div',
        {},
        el('div', { class: 'mn' }, nameSpan(s.bot, 'mn'), ' ', el('span', { class: 'tag' }, 'App')),
        el('div', { class: 'sub' }, s.botOnline ? 'online' : 'connecting…'),
      ),
    ),
    groups
      .filter(([, us]) => us.length)
      .map(([title, us]) => [
        el('div', { class: 'group' }, `${title} — ${us.length}`),
        us.map((u) =>
          el(
            'div',
            {
              class: `member${u.key === state.me ? ' current' : ''}`,
              title: `Act as ${u.name}`,
              onclick: () => switchUser(u.key),
            },
            avatar(u, 'small'),
            el('div', {}, nameSpan(u, 'mn'), el('div', { class: 'sub' }, u.roles.join(', ') || 'member')),
          ),
        ),
      ]),
  );
  drawStatus();
}

function drawStatus() {
  const s = state.snap;
  const status = $('bot-status');
  const ready = s.botOnline && s.commands.length > 0;
  status.dataset.online = String(ready);
  status.textContent = ready
    ? `${s.bot.name} online`
    : s.botOnline
      ? 'registering commands…'
      : 'bot connecting…';
}

export function selectChannel(id) {
  state.channelId = id;
  drawChrome();
  drawMessages();
}

export function switchUser(key) {
  if (key === state.me) return;
  state.me = key;
  localStorage.setItem('tessera-playground-user', key);
  connect();
}

/** The acting user's "allow direct messages" setting (closed: the bot's DMs fail with 50007). */
export async function toggleDms(closed) {
  try {
    await post('/pg/dms', { user: state.me, closed });
  } catch {
    $('dms-closed').checked = !closed;
  }
}
