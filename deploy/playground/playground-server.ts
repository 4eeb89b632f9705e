/**
 * The playground: the local Discord emulator plus a web page that looks like a Discord channel.
 * The page never talks to the bot: it asks the emulator to inject slash commands and reactions
 * from pretend users (gateway events to the real discord.js bot), and watches the emulator's
 * record of messages, which the bot changes through REST, over Server-Sent Events.
 *
 * Routes added to the emulator's HTTP server (next to `/api` and `/attachments`):
 * `GET /` (+ `playground.js`, `playground.css`), `GET /pg/state?user=KEY`,
 * `GET /pg/events?user=KEY` (SSE), `POST /pg/command`, `POST /pg/react`.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import {
  createDiscordEmulator,
  Permission,
  type DiscordEmulator,
  type DiscordEmulatorOptions,
  type OptionValue,
  type RegisteredCommand,
  type StoredMessage,
} from './emulator/index.js';
import { parseCommandLine, type NameLookups } from './command-line.js';
import {
  messageView,
  noResponseView,
  personView,
  type MessageView,
  type PersonView,
} from './message-view.js';

const PAGE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'page');
const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/playground.js': { file: 'playground.js', type: 'text/javascript; charset=utf-8' },
  '/playground.css': { file: 'playground.css', type: 'text/css; charset=utf-8' },
};
const MAX_FILE_BYTES = 8 * 1024 * 1024;

export interface PlaygroundOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The token the bot will log in with (generated when absent). */
  botToken?: string;
  log?: Logger;
  /** More emulator settings (latency, rate limits, users). */
  emulator?: Omit<DiscordEmulatorOptions, 'httpFallback' | 'port' | 'host' | 'botToken'>;
}

export interface Playground {
  /** `http://127.0.0.1:PORT` — the page. */
  readonly url: string;
  readonly emulator: DiscordEmulator;
  close(): Promise<void>;
}

export interface PlaygroundUser extends PersonView {
  key: string;
  moderator: boolean;
  roles: string[];
}

/** Everything the page needs to draw itself for one viewer. */
export interface PlaygroundState {
  guild: { id: string; name: string };
  channels: { id: string; name: string }[];
  defaultChannelId: string;
  users: PlaygroundUser[];
  roles: { id: string; name: string; color: string | null }[];
  bot: PersonView;
  botOnline: boolean;
  commands: RegisteredCommand[];
  messages: MessageView[];
}

class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(data),
  });
  res.end(data);
}

async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > limit) throw new RequestError(413, 'request too large');
    chunks.push(chunk as Buffer);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new RequestError(400, 'expected a JSON object');
  }
}

const str = (body: Record<string, unknown>, key: string): string => {
  const v = body[key];
  if (typeof v !== 'string' || v.length === 0) throw new RequestError(400, `${key}: expected a string`);
  return v;
};

export async function startPlayground(options: PlaygroundOptions = {}): Promise<Playground> {
  let emulator: DiscordEmulator | undefined;
  const pageCache = new Map<string, Buffer>();
  const sseClosers = new Set<() => void>();

  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const emu = emulator;
    if (!emu) return false;
    const page = req.method === 'GET' ? PAGE_FILES[url.pathname] : undefined;
    try {
      if (page) {
        let data = pageCache.get(page.file);
        if (!data) pageCache.set(page.file, (data = await readFile(path.join(PAGE_DIR, page.file))));
        res.writeHead(200, {
          'content-type': page.type,
          'cache-control': 'no-cache',
          'content-length': data.byteLength,
        });
        res.end(data);
        return true;
      }
      if (req.method === 'GET' && url.pathname === '/favicon.ico') {
        res.writeHead(204).end();
        return true;
      }
      if (req.method === 'GET' && url.pathname === '/pg/state') {
        sendJson(res, 200, snapshot(emu, userKey(emu, url.searchParams.get('user'))));
        return true;
      }
      if (req.method === 'GET' && url.pathname === '/pg/events') {
        sseClosers.add(streamEvents(emu, userKey(emu, url.searchParams.get('user')), req, res, sseClosers));
        return true;
      }
      if (req.method === 'POST' && url.pathname === '/pg/command') {
        const body = await readJson(req, MAX_FILE_BYTES * 2);
        sendJson(res, 200, runCommand(emu, body));
        return true;
      }
      if (req.method === 'POST' && url.pathname === '/pg/react') {
        const body = await readJson(req, 4096);
        sendJson(res, 200, toggleReaction(emu, body));
        return true;
      }
    } catch (err) {
      if (err instanceof RequestError) sendJson(res, err.status, { error: err.message });
      else {
        options.log?.error({ err, path: url.pathname }, 'playground request failed');
        sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      }
      return true;
    }
    return false;
  };

  emulator = await createDiscordEmulator({
    ...options.emulator,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    ...(options.botToken ? { botToken: options.botToken } : {}),
    httpFallback: handle,
  });
  const emu = emulator;
  return {
    url: emu.origin,
    emulator: emu,
    async close() {
      for (const close of [...sseClosers]) close();
      await emu.close();
    },
  };
}

/** The pretend user's key, `alice` when none is given. */
function userKey(emu: DiscordEmulator, key: string | null): string {
  const k = key ?? 'alice';
  if (!emu.users[k])
    throw new RequestError(400, `unknown user '${k}' (one of ${Object.keys(emu.users).join(', ')})`);
  return k;
}

function isModerator(emu: DiscordEmulator, userId: string): boolean {
  const g = emu.guild.raw;
  if (g.ownerId === userId) return true;
  const roles = g.members.get(userId)?.roleIds ?? [];
  return roles.some(
    (r) => ((g.roles.get(r)?.permissions ?? 0n) & (Permission.ManageGuild | Permission.Administrator)) !== 0n,
  );
}

/** Commands as the bot registered them: guild commands first, then global ones not shadowed. */
function commandsOf(emu: DiscordEmulator): RegisteredCommand[] {
  const all = [...emu.world.commands.values()];
  const guild = all.filter((c) => c.guildId === emu.guild.id);
  const global = all.filter((c) => c.guildId === null && !guild.some((g) => g.name === c.name));
  return [...guild, ...global];
}

function viewsFor(emu: DiscordEmulator, viewerId: string): MessageView[] {
  const views: MessageView[] = [];
  for (const m of emu.world.messages.values()) {
    const v = messageView(emu.world, m, viewerId);
    if (v) views.push(v);
  }
  for (const i of emu.world.interactions.values()) {
    const v = noResponseView(emu.world, i, viewerId);
    if (v) views.push(v);
  }
  return views.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
}

function snapshot(emu: DiscordEmulator, viewerKey: string): PlaygroundState {
  const g = emu.guild.raw;
  const viewer = emu.users[viewerKey]!;
  return {
    guild: { id: g.id, name: g.name },
    channels: [...g.channels.values()]
      .sort((a, b) => a.position - b.position)
      .map((c) => ({ id: c.id, name: c.name })),
    defaultChannelId: emu.guild.channelId,
    users: Object.entries(emu.users).map(([key, u]) => ({
      ...personView(emu.world, g.id, u.id),
      key,
      moderator: isModerator(emu, u.id),
      roles: [
        ...(g.ownerId === u.id ? ['Server owner'] : []),
        ...(g.members.get(u.id)?.roleIds ?? []).map((r) => g.roles.get(r)?.name ?? r),
      ],
    })),
    roles: [...g.roles.values()]
      .filter((r) => r.id !== g.id)
      .map((r) => ({
        id: r.id,
        name: r.name,
        color: r.color ? `#${r.color.toString(16).padStart(6, '0')}` : null,
      })),
    bot: personView(emu.world, g.id, emu.applicationId),
    botOnline: emu.connectedBots() > 0,
    commands: commandsOf(emu),
    messages: viewsFor(emu, viewer.id),
  };
}

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
function runCommand(
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
function toggleReaction(emu: DiscordEmulator, body: Record<string, unknown>): { ok: true; reacted: boolean } {
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

/**
 * Server-Sent Events for one viewer: `message` (a view, new or changed), `remove` (gone or not
 * visible), `status` (bot online, commands). Returns a function that ends the stream.
 */
function streamEvents(
  emu: DiscordEmulator,
  viewerKey: string,
  req: IncomingMessage,
  res: ServerResponse,
  registry: Set<() => void>,
): () => void {
  const viewerId = emu.users[viewerKey]!.id;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const send = (event: string, data: unknown) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const status = () => ({ botOnline: emu.connectedBots() > 0, commands: commandsOf(emu) });
  let lastStatus = JSON.stringify(status());
  send('snapshot', snapshot(emu, viewerKey));

  const onMessage = (m: StoredMessage) => {
    const v = messageView(emu.world, m, viewerId);
    if (v) send('message', v);
    else send('remove', { id: m.id });
  };
  const onReaction = ({ message }: { message: StoredMessage }) => onMessage(message);
  const onInteraction = (i: Parameters<typeof noResponseView>[1]) => {
    const v = noResponseView(emu.world, i, viewerId);
    if (v) send('message', v);
  };
  const onStatus = () => {
    const s = JSON.stringify(status());
    if (s === lastStatus) return;
    lastStatus = s;
    res.write(`event: status\ndata: ${s}\n\n`);
  };
  emu.on('messageCreate', onMessage);
  emu.on('messageUpdate', onMessage);
  emu.on('messageDelete', onMessage);
  emu.on('reactionAdd', onReaction);
  emu.on('reactionRemove', onReaction);
  emu.on('interactionUpdate', onInteraction);
  emu.on('commandsUpdate', onStatus);
  // Bot connections change without a world event; a heartbeat comment also keeps proxies from closing.
  let beats = 0;
  const timer = setInterval(() => {
    onStatus();
    if (++beats % 15 === 0) res.write(': keep-alive\n\n');
  }, 1000);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    emu.off('messageCreate', onMessage);
    emu.off('messageUpdate', onMessage);
    emu.off('messageDelete', onMessage);
    emu.off('reactionAdd', onReaction);
    emu.off('reactionRemove', onReaction);
    emu.off('interactionUpdate', onInteraction);
    emu.off('commandsUpdate', onStatus);
    registry.delete(close);
    res.end();
  };
  req.once('close', close);
  return close;
}
