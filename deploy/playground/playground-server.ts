/**
 * The playground: the local Discord emulator plus a web page that looks like a Discord channel.
 * The page never talks to the bot: it asks the emulator to inject slash commands and reactions
 * from pretend users (gateway events to the real discord.js bot), and watches the emulator's
 * record of messages, which the bot changes through REST, over Server-Sent Events.
 *
 * Routes added to the emulator's HTTP server (next to `/api` and `/attachments`):
 * `GET /` (+ the page's ES modules and stylesheet from `page/`), `GET /pg/state?user=KEY`,
 * `GET /pg/events?user=KEY` (SSE), `POST /pg/command`, `POST /pg/react`, `POST /pg/click` (a button
 * or select), `POST /pg/modal` (submit or close a modal), `POST /pg/dms` (DMs closed or open).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import {
  createDiscordEmulator,
  type DiscordEmulator,
  type DiscordEmulatorOptions,
} from './emulator/index.js';
import { answerModal, clickComponent, runCommand, setDms, toggleReaction } from './playground-actions.js';
import { streamEvents } from './playground-events.js';
import { MAX_FILE_BYTES, readJson, RequestError, sendJson, servePage } from './playground-http.js';
import { snapshot, userKey } from './playground-state.js';

export type { PlaygroundState, PlaygroundUser } from './playground-state.js';

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

export async function startPlayground(options: PlaygroundOptions = {}): Promise<Playground> {
  let emulator: DiscordEmulator | undefined;
  const pageCache = new Map<string, Buffer>();
  const sseClosers = new Set<() => void>();
  // Modals a viewer closed without sending (nothing reaches Discord then; the page stops showing them).
  const dismissed = new Set<string>();
  // POST routes: [body size limit, action].
  const actions: Record<string, [number, (emu: DiscordEmulator, b: Record<string, unknown>) => unknown]> = {
    '/pg/command': [MAX_FILE_BYTES * 2, runCommand],
    '/pg/react': [4096, toggleReaction],
    '/pg/click': [4096, clickComponent],
    '/pg/modal': [64 * 1024, (emu, b) => answerModal(emu, b, dismissed)],
    '/pg/dms': [4096, setDms],
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const emu = emulator;
    if (!emu) return false;
    try {
      if (req.method === 'GET' && (await servePage(res, url.pathname, pageCache))) return true;
      if (req.method === 'GET' && url.pathname === '/favicon.ico') {
        res.writeHead(204).end();
        return true;
      }
      if (req.method === 'GET' && url.pathname === '/pg/state') {
        sendJson(res, 200, snapshot(emu, userKey(emu, url.searchParams.get('user')), dismissed));
        return true;
      }
      if (req.method === 'GET' && url.pathname === '/pg/events') {
        const key = userKey(emu, url.searchParams.get('user'));
        sseClosers.add(streamEvents(emu, { key, dismissed }, req, res, sseClosers));
        return true;
      }
      const action = req.method === 'POST' ? actions[url.pathname] : undefined;
      if (action) {
        sendJson(res, 200, action[1](emu, await readJson(req, action[0])));
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
    botToken: options.botToken || undefined,
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
