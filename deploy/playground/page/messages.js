// Messages: draws them (embeds, attachments, buttons, reactions), swaps changed ones in place,
// reacts and clicks.

import { selectChannel } from './chrome.js';
import { showError } from './composer.js';
import { $, avatar, el, markdown, nameSpan, post, timeLabel } from './dom.js';
import { inView, state } from './state.js';

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

function renderButton(v, b) {
  const inner = [b.emoji ? el('span', { class: 'emoji' }, b.emoji) : null, b.label];
  if (b.url)
    return el(
      'a',
      {
        class: 'button link',
        href: b.url,
        target: '_blank',
        rel: 'noreferrer noopener',
        'aria-disabled': b.disabled,
      },
      inner,
      ' ↗',
    );
  return el(
    'button',
    {
      type: 'button',
      class: `button ${b.style}`,
      disabled: b.disabled,
      dataset: { customId: b.customId },
      onclick: () => click(v.id, b.customId),
    },
    inner,
  );
}

function renderSelect(v, s) {
  return el(
    'select',
    {
      class: 'select-menu',
      multiple: s.maxValues > 1,
      disabled: s.disabled,
      dataset: { customId: s.customId },
      onchange: (e) =>
        click(
          v.id,
          s.customId,
          [...e.target.selectedOptions].map((o) => o.value),
        ),
    },
    s.maxValues > 1
      ? null
      : el('option', { value: '', disabled: true, selected: true }, s.placeholder || 'Make a selection'),
    s.options.map((o) => el('option', { value: o.value, title: o.description || undefined }, o.label)),
  );
}

function renderComponents(v) {
  if (!v.components.length) return null;
  return el(
    'div',
    { class: 'components' },
    v.components.map((row) =>
      el(
        'div',
        { class: 'action-row' },
        row.map((c) => (c.kind === 'select' ? renderSelect(v, c) : renderButton(v, c))),
      ),
    ),
  );
}

function interactionContext(i) {
  const what =
    i.kind === 'command'
      ? [' used ', el('span', { class: 'cmd' }, `/${i.command}`)]
      : [
          i.kind === 'modal' ? ' submitted a form' : ' clicked a button',
          i.command ? [' on ', el('span', { class: 'cmd' }, `/${i.command}`)] : null,
        ];
  return el('div', { class: 'context' }, avatar(i.user, 'tiny'), nameSpan(i.user, 'who'), what);
}

function renderMessage(v) {
  const context = v.interaction
    ? interactionContext(v.interaction)
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
    content = el(
      'div',
      { class: 'content notice' },
      // Discord words a failed click or form differently from a failed command.
      v.interaction?.kind === 'command' ? '⚠️ The application did not respond' : '⚠️ This interaction failed',
    );
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
      renderComponents(v),
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

export function showMessage(v) {
  state.messages.set(v.id, v);
  if (!inView(v)) return;
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

export function removeMessage(id) {
  state.messages.delete(id);
  $('messages')
    .querySelector(`[data-message-id="${CSS.escape(id)}"]`)
    ?.remove();
}

export function drawMessages() {
  const list = $('messages');
  list.querySelectorAll('.message').forEach((n) => n.remove());
  const mine = [...state.messages.values()].filter(inView).sort((a, b) => a.createdAt - b.createdAt);
  for (const m of mine) list.append(renderMessage(m));
  list.scrollTop = list.scrollHeight;
}

export function jumpTo(id, channelId) {
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

async function click(messageId, customId, values) {
  try {
    await post('/pg/click', { user: state.me, messageId, customId, values });
  } catch (err) {
    showError(err.message);
  }
}
