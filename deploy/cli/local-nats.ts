/**
 * The NATS half of `tessera start`: use the server already listening on NATS_URL's port, or start
 * `nats-server -js` there with its data under `<data>/nats` (and the auth config `tessera start`
 * generated, see credentials.ts).
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { isRunning, startManaged, type ManagedProcess } from './process-group.js';

export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

export type LocalNats =
  | { ok: true; process: ManagedProcess | undefined; host: string; port: number }
  | { ok: false; problem: string; process: ManagedProcess | undefined };

/** The first server of NATS_URL, reachable or started here. */
export async function startLocalNats(options: {
  natsUrl: string;
  dataDir: string;
  logsDir: string;
  /** nats-server config to start with (`-c`), e.g. the one that includes the generated auth block. */
  configFile?: string;
}): Promise<LocalNats> {
  const firstUrl = new URL(options.natsUrl.split(',')[0]!.trim());
  const host = firstUrl.hostname || '127.0.0.1';
  const port = Number(firstUrl.port || 4222);
  if (await portOpen(host, port)) return { ok: true, process: undefined, host, port };
  if (spawnSync('nats-server', ['--version']).error) {
    return {
      ok: false,
      process: undefined,
      problem:
        'nats-server is not on PATH. Run `npm start` (installs it when root) or `sudo apt-get install -y nats-server`.',
    };
  }
  const nats = startManaged({
    name: 'nats',
    command: 'nats-server',
    args: [
      ...(options.configFile ? ['-c', options.configFile] : []),
      '-js',
      '-a',
      host,
      '-p',
      String(port),
      '-sd',
      path.join(options.dataDir, 'nats'),
      '-n',
      'tessera-local',
    ],
    logFile: path.join(options.logsDir, 'nats.log'),
  });
  if (!(await waitFor(() => portOpen(host, port) || !isRunning(nats), 15_000)) || !isRunning(nats))
    return {
      ok: false,
      process: nats,
      problem: `nats-server did not start:\n${nats.tail().slice(-10).join('\n')}`,
    };
  return { ok: true, process: nats, host, port };
}
