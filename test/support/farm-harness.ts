/**
 * Helpers for farm integration tests: a test configuration with short timeouts, renderers in
 * this process or as child processes (for SIGKILL), and an event recorder that waits for events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  JobEvent,
  allEventsSubject,
  bindFarm,
  farmSettingsFromConfig,
  setupFarm,
  allFramesSubject,
  decodeMessage,
  loadConfig,
  silentLogger,
  type Config,
  type Farm,
  type FarmRole,
  type FarmSettings,
  type NatsConnection,
  type RenderJobInput,
} from '../../shared/src/index.js';
import { startRenderer, type RendererHandle } from '../../renderer/src/worker/renderer-process.js';
import type { NatsServerHandle } from './nats-server.js';
import { TestEngine } from './test-engine.js';

/** What the harness needs of a test server: its URL and the per-role environment. */
export type TestServer = Pick<NatsServerHandle, 'url' | 'env' | 'connect'>;

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');

/**
 * Environment for a test process playing `role` (default the renderer, with its credential):
 * short AckWait and retry delays so the suite stays fast.
 */
export function testEnv(
  server: TestServer,
  overrides: Record<string, string> = {},
  role: FarmRole = 'renderer',
): Record<string, string> {
  return {
    ...server.env(role),
    LOG_LEVEL: 'silent',
    RENDERER_MODEL: 'tiny-shapes',
    JOB_ACK_WAIT_MS: '1500',
    JOB_MAX_DELIVER: '3',
    RENDERER_RETRY_DELAY_MS: '100',
    RENDERER_FRAME_EVERY: '2',
    RENDERER_FRAME_MIN_INTERVAL_MS: '50',
    RENDERER_SHUTDOWN_GRACE_MS: '2000',
    ...overrides,
  };
}

export function testConfig(
  server: TestServer,
  overrides: Record<string, string> = {},
  role: FarmRole = 'renderer',
): Config {
  return loadConfig(testEnv(server, overrides, role));
}

/**
 * The admin step (`setupFarm` as `admin`, as `tessera setup` does), then a farm bound as `role`
 * (default the bot, which submits and cancels). Close `farm.nc` when done.
 */
export async function openTestFarm(
  server: TestServer,
  settings: FarmSettings = farmSettingsFromConfig(testConfig(server)),
  role: FarmRole = 'bot',
): Promise<Farm> {
  const admin = await server.connect('admin', { name: 'test-setup' });
  try {
    await setupFarm(admin, settings);
  } finally {
    await admin.close();
  }
  const nc = await server.connect(role);
  return bindFarm(nc, settings, { botBuckets: role === 'bot' });
}

export async function startTestRenderer(
  server: TestServer,
  options: { id: string; stepMs?: number; env?: Record<string, string> },
): Promise<RendererHandle & { engine: TestEngine }> {
  const config = testConfig(server, { RENDERER_ID: options.id, ...options.env });
  const engine = new TestEngine({ model: config.RENDERER_MODEL, stepMs: options.stepMs ?? 10 });
  const handle = await startRenderer({ config, engine, log: silentLogger() });
  return Object.assign(handle, { engine });
}

export interface ChildRenderer {
  readonly id: string;
  readonly process: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

/** A renderer in its own process (`test/support/farm-renderer.ts`), for SIGKILL tests. */
export function spawnTestRenderer(
  server: TestServer,
  options: { id: string; stepMs?: number; env?: Record<string, string> },
): ChildRenderer {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, path.join(here, 'farm-renderer.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...testEnv(server, { RENDERER_ID: options.id, LOG_LEVEL: 'info', ...options.env }),
      TEST_ENGINE_STEP_MS: String(options.stepMs ?? 10),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { id: options.id, process: child, exited, output: () => out };
}

/** Waits until `predicate` holds, polling; throws with `describe()` on timeout. */
export async function waitUntil(
  predicate: () => boolean,
  timeoutMs: number,
  describe: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms ${describe()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Polls an async read until it returns `expected`, then returns it (or the last value after
 * `timeoutMs`, for the test's own assertion). Acks are fire-and-forget: a job's `done` event
 * goes out before its message is acknowledged and removed from the queue.
 */
export async function eventually<T>(read: () => Promise<T>, expected: T, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (value !== expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

export interface RecordedEvent {
  event: JobEvent;
  receivedAt: number;
}

/** Records every job event and frame published (core subscriptions on the event and frame subjects). */
export class EventRecorder {
  readonly events: RecordedEvent[] = [];
  readonly #subs: { unsubscribe(): void }[] = [];

  constructor(nc: NatsConnection) {
    for (const subject of [allEventsSubject(), allFramesSubject()]) {
      this.#subs.push(
        nc.subscribe(subject, {
          callback: (_err, msg) => {
            const decoded = decodeMessage(JobEvent, msg.data);
            if (decoded.ok) this.events.push({ event: decoded.value, receivedAt: Date.now() });
          },
        }),
      );
    }
  }

  of(jobId: string, type?: JobEvent['type']): JobEvent[] {
    return this.events
      .map((r) => r.event)
      .filter((e) => e.jobId === jobId && (type === undefined || e.type === type));
  }

  first(jobId: string, type: JobEvent['type']): RecordedEvent | undefined {
    return this.events.find((r) => r.event.jobId === jobId && r.event.type === type);
  }

  async waitFor(jobId: string, type: JobEvent['type'], timeoutMs = 10_000): Promise<JobEvent> {
    await waitUntil(
      () => this.of(jobId, type).length > 0,
      timeoutMs,
      () => `waiting for ${type} of ${jobId}; saw ${JSON.stringify(this.of(jobId).map((e) => e.type))}`,
    );
    return this.of(jobId, type)[0]!;
  }

  stop(): void {
    for (const s of this.#subs) s.unsubscribe();
  }
}

export function testJob(jobId: string, overrides: Partial<RenderJobInput> = {}): RenderJobInput {
  return {
    v: 1,
    jobId,
    prompts: [{ text: 'a red disc on blue' }],
    seed: 7,
    width: 32,
    height: 32,
    steps: 8,
    model: 'tiny-shapes',
    requester: { userId: 'user-1' },
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}
