/**
 * What a pretend user does from the page: run a slash command typed as text, toggle a reaction,
 * click a button (or pick in a select), submit or close a modal, close or open their DMs.
 */
import {
  EmulatorInputError,
  type DiscordEmulator,
  type ModalValue,
  type OptionValue,
} from './emulator/index.js';
import { parseCommandLine, type NameLookups } from './command-line.js';
import { MAX_FILE_BYTES, RequestError, str } from './playground-http.js';
import { commandsOf, userKey } from './playground-state.js';

function lookups(emu: DiscordEmulator): NameLookups {
  const g = emu.guild.raw;
  const bare = (s: string) =>
    s
      .trim()
      .replace(/^<[@#]?[!&]?(\d+)>$/, '$1')
      .replace(/^[@#]/, '')
      .toLowerCase();
  return {
    user(name) {
      const n = bare(name);
      for (const u of emu.world.users.values()) {
        if (u.id === n || u.username.toLowerCase() === n || u.globalName?.toLowerCase() === n) return u.id;
      }
      return undefined;
    },
    role(name) {
      const n = bare(name);
      for (const r of g.roles.values())
        if (r.id === n || r.name.toLowerCase() === n || r.name.toLowerCase() === `@${n}`) return r.id;
      return undefined;
    },
    channel(name) {
      const n = bare(name);
      for (const c of g.channels.values()) if (c.id === n || c.name.toLowerCase() === n) return c.id;
      return undefined;
    },
  };
}

/** `{ user, channelId, text, files? }` → a slash command injected as that user. */
export function runCommand(
  emu: DiscordEmulator,
  body: Record<string, unknown>,
): { ok: true; interactionId: string } | { ok: false; error: string; code: string } {
  const user = userKey(emu, str(body, 'user'));
  const channelId = str(body, 'channelId');
  if (!emu.guild.raw.channels.has(channelId))
    throw new RequestError(400, 'channelId: not a channel of the playground server');
  const extra: Record<string, OptionValue> = {};
  const files = body.files;
  if (files !== undefined) {
    if (typeof files !== 'object' || files === null) throw new RequestError(400, 'files: expected an object');
    for (const [name, f] of Object.entries(files as Record<string, unknown>)) {
      const file = f as { filename?: unknown; contentType?: unknown; base64?: unknown };
      if (typeof file.filename !== 'string' || typeof file.base64 !== 'string')
        throw new RequestError(400, `files.${name}: expected { filename, base64 }`);
      const data = Buffer.from(file.base64, 'base64');
      if (data.byteLength > MAX_FILE_BYTES)
        throw new RequestError(413, `files.${name}: larger than ${MAX_FILE_BYTES} bytes`);
      extra[name] = {
        filename: file.filename,
        data,
        contentType: typeof file.contentType === 'string' ? file.contentType : 'application/octet-stream',
      };
    }
  }
  const parsed = parseCommandLine(str(body, 'text'), commandsOf(emu), lookups(emu), extra);
  if (!parsed.ok) return { ok: false, error: parsed.error.message, code: parsed.error.code };
  const sent = emu.sendSlashCommand({ user, channelId, ...parsed.value });
  return { ok: true, interactionId: sent.id };
}

/** `{ user, messageId, emoji }`: adds the user's reaction, or takes it back when already there. */
export function toggleReaction(
  emu: DiscordEmulator,
  body: Record<string, unknown>,
): { ok: true; reacted: boolean } {
  const user = userKey(emu, str(body, 'user'));
  const messageId = str(body, 'messageId');
  const emoji = str(body, 'emoji');
  if ([...emoji].length > 8) throw new RequestError(400, 'emoji: expected one emoji');
  const m = emu.message(messageId);
  if (!m || m.deleted) throw new RequestError(404, 'unknown message');
  const had = m.reactions.get(emoji)?.has(emu.users[user]!.id) ?? false;
  if (had) emu.removeReaction({ user, messageId, emoji });
  else emu.addReaction({ user, messageId, emoji });
  return { ok: true, reacted: !had };
}

/** Runs a pretend user's action; what the Discord client would not allow becomes a 400. */
function asUser<T>(action: () => T): T {
  try {
    return action();
  } catch (err) {
    if (err instanceof EmulatorInputError) throw new RequestError(400, err.message);
    throw err;
  }
}

/** `{ user, messageId, customId, values? }`: a click on a button, or a pick in a select with values. */
export function clickComponent(
  emu: DiscordEmulator,
  body: Record<string, unknown>,
): { ok: true; interactionId: string } {
  const user = userKey(emu, str(body, 'user'));
  const messageId = str(body, 'messageId');
  const customId = str(body, 'customId');
  const values = body.values;
  if (values !== undefined && (!Array.isArray(values) || values.some((v) => typeof v !== 'string')))
    throw new RequestError(400, 'values: expected an array of strings');
  const m = emu.message(messageId);
  if (!m || m.deleted) throw new RequestError(404, 'unknown message');
  const sent = asUser(() =>
    values === undefined
      ? emu.clickButton({ user, messageId, customId })
      : emu.selectOption({ user, messageId, customId, values: values as string[] }),
  );
  return { ok: true, interactionId: sent.id };
}

/**
 * `{ user, interactionId, values }` submits the modal that interaction opened;
 * `{ user, interactionId, cancel: true }` closes it unsent (the page stops offering it).
 */
export function answerModal(
  emu: DiscordEmulator,
  body: Record<string, unknown>,
  dismissed: Set<string>,
): { ok: true; interactionId?: string } {
  const user = userKey(emu, str(body, 'user'));
  const interactionId = str(body, 'interactionId');
  const opener = emu.interaction(interactionId);
  if (!opener?.modal || opener.userId !== emu.users[user]!.id)
    throw new RequestError(404, 'no such modal for this user');
  if (body.cancel === true) {
    dismissed.add(interactionId);
    return { ok: true };
  }
  const raw = body.values;
  const isValue = (v: unknown) =>
    typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
  if (typeof raw !== 'object' || raw === null || !Object.values(raw).every(isValue))
    throw new RequestError(400, 'values: expected an object of strings (or arrays of strings for selects)');
  const sent = asUser(() =>
    emu.submitModal({ user, interactionId, values: raw as Record<string, ModalValue> }),
  );
  dismissed.add(interactionId);
  return { ok: true, interactionId: sent.id };
}

/** `{ user, closed }`: the user's "allow direct messages" setting. */
export function setDms(emu: DiscordEmulator, body: Record<string, unknown>): { ok: true; closed: boolean } {
  const user = userKey(emu, str(body, 'user'));
  if (typeof body.closed !== 'boolean') throw new RequestError(400, 'closed: expected true or false');
  emu.setDmsClosed(user, body.closed);
  return { ok: true, closed: body.closed };
}
