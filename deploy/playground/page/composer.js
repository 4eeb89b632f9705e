// The composer: the command popup, typed commands sent to the emulator, attachments, history.

import { $, el, fill, post } from './dom.js';
import { state } from './state.js';

export function showError(text) {
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
export function drawPopup() {
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
        // Free text before the first option fills the first required one, else the first one not
        // given (as command-line.ts parses it: `/imagine a cat` is `prompt:a cat`).
        const lead = rest.split(new RegExp(`(?:^|\\s)(?:${defs.map((d) => d.name).join('|')}):`))[0].trim();
        const firstFree =
          defs.find((d) => d.required && !used.has(d.name)) ?? defs.find((d) => !used.has(d.name));
        if (lead && firstFree) used.add(firstFree.name);
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
    state.fileFor = item.option.name;
    $('file-input').click();
  } else if (item.option) {
    input.value = `${input.value.replace(/\s*$/, '')} ${item.option.name}:`;
  } else {
    input.value = item.insert;
  }
  input.focus();
  drawPopup();
}

export async function submit(event) {
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
  const files = Object.keys(state.files).length ? state.files : undefined;
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
    clearFiles();
    $('popup').hidden = true;
  } catch (err) {
    showError(err.message);
  }
}

/**
 * The attachment option a picked file fills: the one chosen in the popup, else the first file
 * option of the typed command not filled yet (`/blend`: image1, image2, …), else `init_image`.
 */
function fileOptionName() {
  const chosen = state.fileFor;
  state.fileFor = null;
  if (chosen) return chosen;
  const m = /^\/([\w-]+)/.exec($('composer-input').value.trim());
  const cmd = m && commandByName(m[1].toLowerCase());
  const free = cmd?.options.find((o) => o.type === 11 && !(o.name in state.files));
  return free?.name ?? 'init_image';
}

function drawFiles() {
  const chip = $('attached');
  const names = Object.entries(state.files).map(([name, f]) => `${name}: ${f.filename}`);
  chip.hidden = names.length === 0;
  chip.textContent = names.length ? `${names.join(' · ')} ✕` : '';
}

/** Forgets every picked file (the ✕ on the chip, or after sending). */
export function clearFiles() {
  state.files = {};
  drawFiles();
}

export async function pickFile() {
  const f = $('file-input').files[0];
  $('file-input').value = '';
  if (!f) return;
  const bytes = new Uint8Array(await f.arrayBuffer());
  let bin = '';
  for (let k = 0; k < bytes.length; k += 0x8000) bin += String.fromCharCode(...bytes.subarray(k, k + 0x8000));
  const file = { filename: f.name, contentType: f.type || 'application/octet-stream', base64: btoa(bin) };
  state.files = { ...state.files, [fileOptionName()]: file };
  drawFiles();
}

export function onKey(event) {
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
