/** What a pretend user does from the page: run a slash command typed as text, toggle a reaction. */
import type { DiscordEmulator, OptionValue } from './emulator/index.js';
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
