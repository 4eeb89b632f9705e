// The playground page: draws the emulator's channel like Discord and sends what you do back to it.
// Server-Sent Events bring a snapshot and then every changed message; commands and reactions go out
// as small POSTs that the emulator turns into gateway events for the real bot. No frameworks.

const $ = (id) => document.getElementById(id);
const AVATAR_COLOURS = ['#5865f2', '#757e8a', '#3ba55c', '#faa61a', '#ed4245', '#eb459f'];

const state = {
  me: localStorage.getItem('tessera-playground-user') || 'alice',
  channelId: null,
  snap: null,
  messages: new Map(),
  events: null,
  file: null,
  history: [],
  historyAt: 0,
};

// ---------- small helpers ----------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'html') node.innerHTML = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

/** replaceChildren for nested arrays of nodes. */
function fill(node, ...children) {
  node.replaceChildren(
    ...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false),
  );
}

function avatar(person, size = '') {
  let h = 0;
  for (const ch of person.id) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const colour = person.bot ? '#5865f2' : AVATAR_COLOURS[h % AVATAR_COLOURS.length];
  return el(
    'div',
    { class: `avatar ${size}`, style: `background:${colour}`, title: person.name },
    person.bot ? '🎨' : (person.name[0] || '?').toUpperCase(),
  );
}

function nameSpan(person, cls = 'name') {
  return el('span', { class: cls, style: person.color ? `color:${person.color}` : undefined }, person.name);
}

function timeLabel(ms) {
  const d = new Date(ms);
  const hhmm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return new Date().toDateString() === d.toDateString()
    ? `Today at ${hhmm}`
    : `${d.toLocaleDateString()} ${hhmm}`;
}

function escapeHtml(s) {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
}

function personById(id) {
  const s = state.snap;
  if (!s) return null;
  if (s.bot.id === id) return s.bot;
  return s.users.find((u) => u.id === id) || null;
}

/** Discord-flavoured markdown, the subset the bot writes: bold, italics, code, links, mentions. */
function markdown(text) {
  const saved = [];
  const keep = (html) => `\u0000${saved.push(html) - 1}\u0000`;
  let s = text.replace(/\\([\\*_~`|<>#@[\]()\-.!:])/g, (_, c) => keep(escapeHtml(c)));
  s = s.replace(/`([^`\n]+)`/g, (_, c) => keep(`<code>${escapeHtml(c)}</code>`));
  s = s.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, (_, label, url) => keep(link(url, label)));
  s = s.replace(/<@!?(\d+)>/g, (_, id) =>
    keep(`<span class="mention">@${escapeHtml(personById(id)?.name ?? 'unknown-user')}</span>`),
  );
  s = s.replace(/<@&(\d+)>/g, (_, id) => {
    const role = state.snap?.roles.find((r) => r.id === id);
    return keep(
      `<span class="mention" style="${role?.color ? `color:${role.color}` : ''}">@${escapeHtml(role?.name ?? 'deleted-role')}</span>`,
    );
  });
  s = s.replace(/<#(\d+)>/g, (_, id) =>
    keep(
      `<span class="mention">#${escapeHtml(state.snap?.channels.find((c) => c.id === id)?.name ?? 'unknown')}</span>`,
    ),
  );
  s = s.replace(/https?:\/\/[^\s<]+/g, (url) => keep(link(url, url)));
  s = escapeHtml(s);
  s = s.replace(/\*\*(.+?)\*\*/gs, '<strong>$1</strong>');
  s = s.replace(/__(.+?)__/gs, '<u>$1</u>');
  s = s.replace(/(^|[^*])\*([^*\n]+)\*/g, '$1<em>$2</em>');
  s = s.replace(/(^|\W)_([^_\n]+)_(?=\W|$)/g, '$1<em>$2</em>');
  s = s.replace(/~~(.+?)~~/gs, '<s>$1</s>');
  return s.replace(/\u0000(\d+)\u0000/g, (_, n) => saved[Number(n)]);
}

/** Links to messages of this server jump to them; anything else opens in a new tab. */
function link(url, label) {
  const m = /^https:\/\/discord\.com\/channels\/\d+\/(\d+)\/(\d+)/.exec(url);
  if (m) {
    // Like Discord, a bare message link reads as "#channel › message".
    const channel = state.snap?.channels.find((c) => c.id === m[1])?.name ?? 'unknown';
    const text = label === url ? `#${channel} › 💬 message` : label;
    return `<a href="#" class="mention" data-jump="${m[2]}" data-channel="${m[1]}">${escapeHtml(text)}</a>`;
  }
  return `<a href="${escapeHtml(url)}" target="_blank" rel="noreferrer noopener">${escapeHtml(label)}</a>`;
}

async function post(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}

// ---------- messages ----------

function renderEmbed(e) {
  const fields = e.fields.length
    ? el(
        'div',
        { class: 'e-fields' },
        e.fields.map((f) =>
          el(
            'div',
            { class: `e-field${f.inline ? '' : ' wide'}` },
            el('div', { class: 'fn', html: markdown(f.name) }),
            el('div', { html: markdown(f.value) }),
          ),
        ),
      )
    : null;
  return el(
    'div',
    { class: 'embed', style: e.color ? `border-left-color:${e.color}` : undefined },
    e.title ? el('div', { class: 'e-title', html: markdown(e.title) }) : null,
    e.description ? el('div', { class: 'e-desc', html: markdown(e.description) }) : null,
    fields,
    e.image
      ? el('img', {
          class: 'embed-image',
          src: e.image.url,
          alt: e.image.name,
          dataset: { name: e.image.name },
        })
      : null,
    e.footer ? el('div', { class: 'e-footer' }, e.footer) : null,
  );
}

function renderMessage(v) {
  const context = v.interaction
    ? el(
        'div',
        { class: 'context' },
        avatar(v.interaction.user, 'tiny'),
        nameSpan(v.interaction.user, 'who'),
        ' used ',
        el('span', { class: 'cmd' }, `/${v.interaction.command}`),
      )
    : v.reference
      ? el(
          'div',
          { class: 'context' },
          v.reference.author ? nameSpan(v.reference.author, 'who') : null,
          el('a', { dataset: { jump: v.reference.id } }, v.reference.snippet || 'Click to see the message'),
        )
      : null;
  let content = null;
  if (v.loading)
    content = el('div', { class: 'thinking' }, `${v.author.name} is thinking`, el('span', { class: 'dots' }));
  else if (v.notice === 'no-response')
    content = el('div', { class: 'content notice' }, '⚠️ The application did not respond');
  else if (v.content)
    content = el('div', {
      class: 'content',
      html: markdown(v.content) + (v.editedAt ? '<span class="edited">(edited)</span>' : ''),
    });
  const reactions = v.reactions.length
    ? el(
        'div',
        { class: 'reactions' },
        v.reactions.map((r) =>
          el(
            'button',
            {
              type: 'button',
              class: `reaction${r.me ? ' me' : ''}`,
              title: r.me ? `Remove your ${r.emoji}` : `React with ${r.emoji}`,
              dataset: { emoji: r.emoji },
              onclick: () => react(v.id, r.emoji),
            },
            el('span', { class: 'emoji' }, r.emoji),
            el('span', { class: 'count' }, String(r.count)),
          ),
        ),
      )
    : null;
  return el(
    'div',
    {
      class: `message${v.ephemeral ? ' ephemeral' : ''}`,
      dataset: { messageId: v.id, revision: String(v.revision) },
    },
    context,
    avatar(v.author),
    el(
      'div',
      { class: 'body' },
      el(
        'div',
        { class: 'header' },
        nameSpan(v.author),
        v.author.bot ? el('span', { class: 'tag' }, 'App') : null,
        el('span', { class: 'time' }, timeLabel(v.createdAt)),
      ),
      content,
      v.embeds.map(renderEmbed),
      v.images.map((i) => el('img', { class: 'attachment-image', src: i.url, alt: i.name })),
      v.files.map((f) =>
        el(
          'a',
          { class: 'file', href: f.url, download: f.name },
          `📄 ${f.name} (${Math.ceil(f.size / 1024)} KB)`,
        ),
      ),
      reactions,
      v.ephemeral ? el('div', { class: 'only-you' }, '👁 Only you can see this') : null,
    ),
  );
}

/** Swaps a message in place; a new frame is shown once decoded, so the picture never blinks. */
function patch(old, fresh) {
  const oldImgs = old.querySelectorAll('img');
  fresh.querySelectorAll('img').forEach((img, k) => {
    const before = oldImgs[k];
    const next = img.getAttribute('src');
    if (!before || before.getAttribute('src') === next || !before.complete) return;
    img.setAttribute('src', before.getAttribute('src'));
    img.dataset.next = next;
    const pre = new Image();
    pre.src = next;
    pre
      .decode()
      .catch(() => undefined)
      .finally(() => {
        if (img.dataset.next === next) img.setAttribute('src', next);
      });
  });
  old.replaceWith(fresh);
}

function showMessage(v) {
  state.messages.set(v.id, v);
  if (v.channelId !== state.channelId) return;
  const list = $('messages');
  const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const fresh = renderMessage(v);
  const old = list.querySelector(`[data-message-id="${CSS.escape(v.id)}"]`);
  if (old) patch(old, fresh);
  else {
    const later = [...list.querySelectorAll('.message')].find(
      (n) => (state.messages.get(n.dataset.messageId)?.createdAt ?? 0) > v.createdAt,
    );
    list.insertBefore(fresh, later || null);
  }
  if (stick || !old) list.scrollTop = list.scrollHeight;
}

function removeMessage(id) {
  state.messages.delete(id);
  $('messages')
    .querySelector(`[data-message-id="${CSS.escape(id)}"]`)
    ?.remove();
}

function drawMessages() {
  const list = $('messages');
  list.querySelectorAll('.message').forEach((n) => n.remove());
  const mine = [...state.messages.values()]
    .filter((m) => m.channelId === state.channelId)
    .sort((a, b) => a.createdAt - b.createdAt);
  for (const m of mine) list.append(renderMessage(m));
  list.scrollTop = list.scrollHeight;
}

function jumpTo(id, channelId) {
  if (channelId && channelId !== state.channelId && state.snap.channels.some((c) => c.id === channelId))
    selectChannel(channelId);
  const node = $('messages').querySelector(`[data-message-id="${CSS.escape(id)}"]`);
  if (!node) return;
  node.scrollIntoView({ block: 'center', behavior: 'smooth' });
  node.classList.remove('flash');
  void node.offsetWidth;
  node.classList.add('flash');
}

async function react(messageId, emoji) {
  try {
    await post('/pg/react', { user: state.me, messageId, emoji });
  } catch (err) {
    showError(err.message);
  }
}

// ---------- chrome: channels, members, status ----------

function drawChrome() {
  const s = state.snap;
  $('guild-name').textContent = s.guild.name;
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
  );
  const channel = s.channels.find((c) => c.id === state.channelId);
  $('channel-name').textContent = channel.name;
  $('welcome-channel').textContent = channel.name;
  $('composer-input').placeholder = `Message #${channel.name} — try /imagine prompt:a red circle steps:300`;

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

function selectChannel(id) {
  state.channelId = id;
  drawChrome();
  drawMessages();
}

function switchUser(key) {
  if (key === state.me) return;
  state.me = key;
  localStorage.setItem('tessera-playground-user', key);
  connect();
}

// ---------- composer ----------

function showError(text) {
  const box = $('composer-error');
  box.textContent = text || '';
  box.hidden = !text;
}

function commandByName(name) {
  return state.snap?.commands.find((c) => c.name === name);
}

const OPTION_TYPES = {
  3: 'text',
  4: 'integer',
  5: 'true/false',
  6: 'member',
  7: 'channel',
  8: 'role',
  9: 'member or role',
  10: 'number',
  11: 'file',
};

/** The popup: commands while typing a name, then the options (and subcommands) of the command. */
function drawPopup() {
  const popup = $('popup');
  const text = $('composer-input').value;
  const items = [];
  let title = '';
  const m = /^\/([\w-]*)(\s.*)?$/s.exec(text);
  if (m && m[2] === undefined) {
    title = 'Commands';
    for (const c of state.snap?.commands ?? [])
      if (c.name.startsWith(m[1].toLowerCase()))
        items.push({ n: `/${c.name}`, d: c.description, insert: `/${c.name} ` });
  } else if (m) {
    const cmd = commandByName(m[1].toLowerCase());
    if (cmd) {
      let defs = cmd.options;
      let prefix = `/${cmd.name} `;
      let rest = m[2].trimStart();
      for (;;) {
        const branches = defs.filter((o) => o.type === 1 || o.type === 2);
        if (!branches.length) break;
        const word = /^([\w-]+)\s/.exec(rest);
        const hit = word && branches.find((b) => b.name === word[1]);
        if (!hit) {
          title = `/${cmd.name} — pick one`;
          for (const b of branches)
            items.push({ n: b.name, d: b.description, insert: `${prefix}${b.name} ` });
          defs = [];
          break;
        }
        prefix += `${hit.name} `;
        rest = rest.slice(word[0].length);
        defs = hit.options || [];
      }
      if (defs.length) {
        title = 'Options';
        const used = new Set([...text.matchAll(/(?:^|\s)([\w-]+):/g)].map((x) => x[1]));
        // Free text before the first option fills the first required one (as the server parses it).
        const lead = rest.split(new RegExp(`(?:^|\\s)(?:${defs.map((d) => d.name).join('|')}):`))[0].trim();
        const firstRequired = defs.find((d) => d.required && !used.has(d.name));
        if (lead && firstRequired) used.add(firstRequired.name);
        for (const o of defs) {
          if (used.has(o.name)) continue;
          const choices = o.choices?.length ? ` (${o.choices.map((c) => c.name).join(' | ')})` : '';
          items.push({
            n: `${o.name}:`,
            d: `${OPTION_TYPES[o.type] ?? ''}${choices} — ${o.description ?? ''}`,
            req: o.required,
            option: o,
          });
        }
      }
    }
  }
  if (!items.length) {
    popup.hidden = true;
    return;
  }
  fill(
    popup,
    el('div', { class: 'title' }, title),
    items.map((it, k) =>
      el(
        'div',
        {
          class: `item${k === 0 ? ' selected' : ''}`,
          onmousedown: (e) => {
            e.preventDefault();
            acceptItem(it);
          },
        },
        el('span', { class: 'n' }, it.n),
        it.req ? el('span', { class: 'req' }, 'required') : null,
        el('span', { class: 'd' }, it.d),
      ),
    ),
  );
  popup.hidden = false;
  state.popupItems = items;
}

function acceptItem(item) {
  const input = $('composer-input');
  if (item.option?.type === 11) {
    $('file-input').click();
  } else if (item.option) {
    input.value = `${input.value.replace(/\s*$/, '')} ${item.option.name}:`;
  } else {
    input.value = item.insert;
  }
  input.focus();
  drawPopup();
}

async function submit(event) {
  event.preventDefault();
  const input = $('composer-input');
  const text = input.value.trim();
  if (!text) return;
  if (!text.startsWith('/')) {
    showError(
      'This channel is for trying the bot: start with a slash command, e.g. /imagine prompt:a red circle',
    );
    return;
  }
  const files = state.file ? { init_image: state.file } : undefined;
  try {
    const res = await post('/pg/command', { user: state.me, channelId: state.channelId, text, files });
    if (!res.ok) {
      showError(res.error);
      return;
    }
    showError('');
    state.history.push(text);
    state.historyAt = state.history.length;
    input.value = '';
    setFile(null);
    $('popup').hidden = true;
  } catch (err) {
    showError(err.message);
  }
}

function setFile(file) {
  state.file = file;
  const chip = $('attached');
  chip.hidden = !file;
  chip.textContent = file ? `init_image: ${file.filename} ✕` : '';
}

async function pickFile() {
  const f = $('file-input').files[0];
  $('file-input').value = '';
  if (!f) return;
  const bytes = new Uint8Array(await f.arrayBuffer());
  let bin = '';
  for (let k = 0; k < bytes.length; k += 0x8000) bin += String.fromCharCode(...bytes.subarray(k, k + 0x8000));
  setFile({ filename: f.name, contentType: f.type || 'application/octet-stream', base64: btoa(bin) });
}

function onKey(event) {
  const input = $('composer-input');
  if (event.key === 'Tab' && !$('popup').hidden && state.popupItems?.length) {
    event.preventDefault();
    acceptItem(state.popupItems[0]);
  } else if (event.key === 'Escape') {
    $('popup').hidden = true;
  } else if (
    event.key === 'ArrowUp' &&
    state.historyAt > 0 &&
    (input.value === '' || state.history.includes(input.value))
  ) {
    event.preventDefault();
    input.value = state.history[--state.historyAt];
  } else if (event.key === 'ArrowDown' && state.historyAt < state.history.length) {
    event.preventDefault();
    state.historyAt++;
    input.value = state.history[state.historyAt] ?? '';
  }
}

// ---------- live updates ----------

function connect() {
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
  $('attached').addEventListener('click', () => setFile(null));
  $('user-switch').addEventListener('change', (e) => switchUser(e.target.value));
  $('messages').addEventListener('click', (e) => {
    const a = e.target.closest('[data-jump]');
    if (!a) return;
    e.preventDefault();
    jumpTo(a.dataset.jump, a.dataset.channel);
  });
  connect();
  $('composer-input').focus();
});
