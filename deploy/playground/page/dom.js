// Small DOM helpers: elements, avatars, names, times, the markdown subset the bot writes, POSTs.

import { state } from './state.js';

export const $ = (id) => document.getElementById(id);
const AVATAR_COLOURS = ['#5865f2', '#757e8a', '#3ba55c', '#faa61a', '#ed4245', '#eb459f'];

export function el(tag, attrs = {}, ...children) {
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
export function fill(node, ...children) {
  node.replaceChildren(
    ...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false),
  );
}

export function avatar(person, size = '') {
  let h = 0;
  for (const ch of person.id) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const colour = person.bot ? '#5865f2' : AVATAR_COLOURS[h % AVATAR_COLOURS.length];
  return el(
    'div',
    { class: `avatar ${size}`, style: `background:${colour}`, title: person.name },
    person.bot ? '🎨' : (person.name[0] || '?').toUpperCase(),
  );
}

export function nameSpan(person, cls = 'name') {
  return el('span', { class: cls, style: person.color ? `color:${person.color}` : undefined }, person.name);
}

export function timeLabel(ms) {
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
export function markdown(text) {
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

export async function post(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}
