/**
 * A real `nats-server -js` for tests: started on a free port with its own store folder, stopped,
 * and restarted on the same port and folder (to test that no job is lost across a restart).
 * Auth is on by default with the shipped permissions (`renderAuthConfig`): one generated nkey
 * per role, handed out by `connect(role)` and `env(role)`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  connectNats,
  ensureCredentials,
  writeAuthConfig,
  type FarmCredentials,
  type FarmRole,
  type NatsConnection,
} from '../../shared/src/index.js';

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Stops the server (SIGTERM, or SIGKILL with `{ kill: true }`) and waits for it to exit. */
  stop(options?: { kill?: boolean }): Promise<void>;
  /** Starts it again on the same port with the same store. */
  restart(): Promise<void>;
  /** Stops it and removes the store. */
  dispose(): Promise<void>;
  /** The server's stderr so far (for failing tests). */
  output(): string;
  /** The role credentials (undefined when started with `auth: false`). */
  readonly credentials: FarmCredentials | undefined;
  /** Connects as `role` (its nkey and inbox prefix). */
  connect(role: FarmRole, options?: { name?: string; waitOnFirstConnect?: boolean }): Promise<NatsConnection>;
  /** Environment of a process playing `role`: NATS_URL and NATS_NKEY_FILE. */
  env(role: FarmRole): Record<string, string>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`);
}

/** Generated credentials and a server config that includes the rendered auth block. */
async function prepareAuth(
  extraConfig: string,
): Promise<{ dir: string; credentials: FarmCredentials; config: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-auth-'));
  const credentials = await ensureCredentials(path.join(dir, 'credentials'));
  await writeAuthConfig(path.join(dir, 'auth.conf'), credentials);
  const config = path.join(dir, 'nats-server.conf');
  await writeFile(config, `include "auth.conf"\n${extraConfig}`);
  return { dir, credentials, config };
}

export async function startNatsServer(
  options: {
    port?: number;
    storeDir?: string;
    auth?: boolean;
    /** More server configuration (e.g. a `tls {}` block); needs auth on. */
    extraConfig?: string;
  } = {},
): Promise<NatsServerHandle> {
  const port = options.port ?? (await freePort());
  const storeDir = options.storeDir ?? (await mkdtemp(path.join(os.tmpdir(), 'tessera-nats-')));
  const auth = options.auth === false ? undefined : await prepareAuth(options.extraConfig ?? '');
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';

  const start = async (): Promise<void> => {
    const args = [
      ...(auth ? ['-c', auth.config] : []),
      '-js',
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-sd',
      storeDir,
    ];
    const proc = spawn('nats-server', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    child = proc;
    await waitForPort(port, proc, 15_000);
  };

  const stop = async ({ kill = false } = {}): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(kill ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  const seedFile = (role: FarmRole): string | undefined => auth?.credentials[role].seedFile;
  await start();
  return {
    url,
    port,
    credentials: auth?.credentials,
    connect: async (role, opts = {}) => {
      const file = seedFile(role);
      return connectNats({
        url,
        name: opts.name ?? `test-${role}`,
        role,
        waitOnFirstConnect: opts.waitOnFirstConnect ?? true,
        nkeySeed: file ? new TextEncoder().encode((await readFile(file, 'utf8')).trim()) : undefined,
      });
    },
    env: (role) => {
      const file = seedFile(role);
      // Spread, not `NATS_NKEY_FILE: file`: callers lay this over process.env, where a present but
      // undefined key would hide a NATS_NKEY_FILE the environment has.
      return { NATS_URL: url, ...(file ? { NATS_NKEY_FILE: file } : {}) };
    },
    storeDir,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    dispose: async () => {
      // TESSERA_TEST_VIOLATIONS=1 prints what the server refused (to find a missing permission).
      if (process.env.TESSERA_TEST_VIOLATIONS) {
        for (const line of log.split('\n').filter((l) => /Violation|Authorization/i.test(l)))
          process.stderr.write(`[nats ${port}] ${line}\n`);
      }
      await stop();
      await rm(storeDir, { recursive: true, force: true });
      if (auth) await rm(auth.dir, { recursive: true, force: true });
    },
    output: () => log,
  };
}
