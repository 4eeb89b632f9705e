/**
 * The image smoke test (`npm run test:images`, opt-in: it builds the image, minutes): builds
 * deploy/docker/Dockerfile with deploy/scripts/build-image.sh, starts a nats-server on the host, two
 * renderer containers and the bot container (talking to the local Discord emulator on the host, so
 * no Discord account is needed), submits jobs with `tessera imagine` from the host and one /imagine
 * through the bot, and SIGTERMs (`podman stop`) the renderer holding a long job: the job is handed
 * back and finished by the other. Prints the image size, each container's time from start to
 * "ready" and the outcome of every job.
 *
 * Base image: TESSERA_SMOKE_BASE, else localhost/debian:trixie-slim when it exists (see
 * deploy/scripts/debian-base.sh), else the Dockerfile's default (Docker Hub's node image).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmod, chown, copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiscordEmulator, type DiscordEmulator } from '../../deploy/playground/emulator/index.js';
import {
  allEventsSubject,
  allFramesSubject,
  decodeMessage,
  JobEvent,
  type NatsConnection,
} from '../../shared/src/index.js';
import { waitFinished } from '../support/discord-helpers.js';
import { freePort, startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import {
  buildImage,
  detectEngine,
  engineRun,
  exitCode,
  imageSizeBytes,
  logRecords,
  startContainer,
  waitForLog,
} from './containers.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const IMAGE = process.env.TESSERA_SMOKE_IMAGE ?? 'localhost/tessera:smoke';
const PREFIX = `tessera-smoke-${process.pid}`;
const R1 = `${PREFIX}-r1`;
const R2 = `${PREFIX}-r2`;
const BOT = `${PREFIX}-bot`;

/** Where each container finds its role's nkey seed (auth is on, as in deploy/). */
const SEED_IN_CONTAINER = '/run/secrets/tessera/role.nk';

/** A copy of a role's seed the image's user (uid 10001, see the Dockerfile) may read, owner-only. */
async function seedForContainer(role: 'renderer' | 'bot'): Promise<string> {
  const copy = path.join(outDir, `${role}.nk`);
  await copyFile(nats.env(role).NATS_NKEY_FILE!, copy);
  await chmod(copy, 0o400);
  await chown(copy, 10001, 10001);
  return copy;
}

const say = (line: string): void => void process.stderr.write(`[images] ${line}\n`);

const engine = detectEngine();
let nats: NatsServerHandle;
let emulator: DiscordEmulator;
let nc: NatsConnection;
let outDir: string;
/** jobId → every event seen on tessera.events.> */
const events = new Map<string, JobEvent[]>();
const outcomes: string[] = [];

function eventsOf(jobId: string): JobEvent[] {
  return events.get(jobId) ?? [];
}
function terminal(jobId: string): JobEvent | undefined {
  return eventsOf(jobId).find((e) => e.type === 'done' || e.type === 'failed' || e.type === 'cancelled');
}
function record(jobId: string, label: string): void {
  const evs = eventsOf(jobId);
  const starts = evs.filter((e) => e.type === 'started').map((e) => `${e.rendererId}#${e.attempt}`);
  const end = terminal(jobId);
  const how =
    end?.type === 'done' ? `done on ${end.rendererId} in ${(end.elapsedMs / 1000).toFixed(1)} s` : end?.type;
  const line = `${label} ${jobId}: ${how ?? 'no result'} (started: ${starts.join(' → ') || 'never'})`;
  outcomes.push(line);
  say(line);
}

async function waitUntil<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `tessera imagine` from the host; resolves with the job id once it is submitted, and its exit. */
function imagine(prompt: string, args: string[]): { jobId: Promise<string>; exit: Promise<number> } {
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'deploy', 'cli', 'tessera.mjs'),
      'imagine',
      prompt,
      '--no-frames',
      '--out',
      outDir,
      ...args,
    ],
    {
      cwd: root,
      env: { ...process.env, ...nats.env('operator'), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  const jobId = new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /^job (\S+):/m.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.on('close', () => reject(new Error(`imagine exited before submitting:\n${stderr}`)));
  });
  const exit = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  return { jobId, exit };
}

async function startRenderer(name: string, id: string): Promise<number> {
  const healthPort = await freePort();
  const started = Date.now();
  await startContainer(engine!, {
    name,
    image: IMAGE,
    args: ['renderer'],
    env: {
      NATS_URL: nats.url,
      RENDERER_ID: id,
      RENDERER_SHUTDOWN_GRACE_MS: '1000',
      RENDERER_HEALTH_PORT: String(healthPort),
      LOG_LEVEL: 'info',
      NATS_NKEY_FILE: SEED_IN_CONTAINER,
    },
    mounts: { [await seedForContainer('renderer')]: SEED_IN_CONTAINER },
  });
  const ready = await waitForLog(engine!, name, 'renderer ready', 180_000);
  const ms = Date.parse(String(ready.time)) - started;
  say(
    `${name}: ready ${(ms / 1000).toFixed(1)} s after start (executionProvider ${ready.executionProvider})`,
  );
  const health = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
  expect(health.status).toBe(200);
  return ms;
}

async function startBot(): Promise<number> {
  const started = Date.now();
  await startContainer(engine!, {
    name: BOT,
    image: IMAGE,
    args: ['bot', '--register'],
    env: {
      NATS_URL: nats.url,
      DISCORD_TOKEN: emulator.botToken,
      DISCORD_API_BASE: emulator.apiBase,
      DISCORD_APP_ID: emulator.applicationId,
      DISCORD_GUILD_ID: emulator.guild.id,
      LOG_LEVEL: 'info',
      NATS_NKEY_FILE: SEED_IN_CONTAINER,
    },
    mounts: { [await seedForContainer('bot')]: SEED_IN_CONTAINER },
  });
  const ready = await waitForLog(engine!, BOT, 'bot ready', 180_000);
  await waitForLog(engine!, BOT, 'slash commands registered', 60_000);
  const ms = Date.parse(String(ready.time)) - started;
  say(`${BOT}: ready ${(ms / 1000).toFixed(1)} s after start`);
  return ms;
}

async function build(): Promise<void> {
  const haveLocalBase =
    (await engineRun(engine!, ['image', 'exists', 'localhost/debian:trixie-slim'])).code === 0;
  const base = process.env.TESSERA_SMOKE_BASE ?? (haveLocalBase ? 'localhost/debian:trixie-slim' : '');
  const t0 = Date.now();
  say(`building ${IMAGE} (base ${base || 'the Dockerfile default'}) with ${engine!.kind}…`);
  // Spread: the variables are laid over process.env, where `BASE: undefined` would hide a BASE it has.
  const code = await buildImage(root, { TAG: IMAGE, ...(base ? { BASE: base } : {}) }, (line) => {
    if (/^(\[\d\/\d\] STEP|build-image:|Error)/.test(line)) say(`  ${line.slice(0, 160)}`);
  });
  expect(code, 'image build').toBe(0);
  const size = await imageSizeBytes(engine!, IMAGE);
  say(`image ${IMAGE}: ${(size / 1e6).toFixed(0)} MB, built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

async function removeContainers(): Promise<void> {
  for (const name of [R1, R2, BOT]) await engineRun(engine!, ['rm', '-f', '-t', '5', name]);
}

describe.skipIf(!engine)('the tessera image (podman or docker)', () => {
  beforeAll(async () => {
    await build();
    outDir = await mkdtemp(path.join(os.tmpdir(), 'tessera-images-'));
    nats = await startNatsServer();
    emulator = await createDiscordEmulator({ host: '127.0.0.1' });
    // The admin step, as the compose `setup` service runs it: streams, buckets, consumers.
    const setup = spawnSync(process.execPath, [path.join(root, 'deploy', 'cli', 'tessera.mjs'), 'setup'], {
      cwd: root,
      env: { ...process.env, ...nats.env('admin'), LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    });
    expect(setup.status, `tessera setup: ${setup.stderr}`).toBe(0);
    nc = await nats.connect('bot', { name: 'image-smoke' });
    // Lifecycle events, and progress events (with frames) on core NATS: the SIGTERM below must land
    // while the long job is rendering, not after a renderer fast enough to finish it.
    for (const subject of [allEventsSubject(), allFramesSubject()])
      nc.subscribe(subject, {
        callback: (_err, msg) => {
          const decoded = decodeMessage(JobEvent, msg.data);
          if (decoded.ok) events.set(decoded.value.jobId, [...eventsOf(decoded.value.jobId), decoded.value]);
        },
      });
  }, 1_200_000);

  afterAll(async () => {
    if (engine) await removeContainers();
    await nc?.drain().catch(() => undefined);
    await emulator?.close();
    await nats?.dispose();
    if (outDir) await rm(outDir, { recursive: true, force: true });
    say('outcomes:');
    for (const line of outcomes) say(`  ${line}`);
  });

  it('contains the compiled farm only and runs node as PID 1', async () => {
    const check = await engineRun(engine!, [
      'run',
      '--rm',
      ...engine!.runFlags,
      '--entrypoint',
      'sh',
      IMAGE,
      '-c',
      'test -f dist/deploy/cli/main.js && test -f models/tiny-shapes/manifest.json' +
        ' && test ! -e dist/bot/src/emulator && test ! -e dist/bot/src/playground && test ! -e node_modules/tsx' +
        ' && test ! -e src && test ! -e renderer && echo ok',
    ]);
    expect(check.stdout.trim(), check.stderr).toBe('ok');
  }, 120_000);

  it('two renderers and the bot start; imagine jobs finish; SIGTERM hands a job to the other renderer', async () => {
    await startRenderer(R1, 'smoke-r1');
    await startRenderer(R2, 'smoke-r2');
    await startBot();
    const pid1 = await engineRun(engine!, ['exec', R1, 'cat', '/proc/1/cmdline']);
    expect(pid1.stdout.split('\0')[0]).toMatch(/(^|\/)node$/);

    // Four ordinary jobs at once: both renderers take some.
    const batch = [1, 2, 3, 4].map((seed) =>
      imagine('a red circle on a blue background', ['--seed', String(seed), '--steps', '60']),
    );
    const ids = await Promise.all(batch.map((j) => j.jobId));
    const exits = await Promise.all(batch.map((j) => j.exit));
    for (const [i, id] of ids.entries()) {
      await waitUntil(`${id} to end`, () => terminal(id), 30_000);
      record(id, `imagine #${i + 1} (exit ${exits[i]})`);
      expect(terminal(id)?.type).toBe('done');
      expect(exits[i]).toBe(0);
    }

    // A long job; SIGTERM the renderer that holds it mid-render.
    const long = imagine('a white triangle on a black background', ['--seed', '9', '--steps', '1500']);
    const longId = await long.jobId;
    const first = await waitUntil(
      'the long job to start',
      () => eventsOf(longId).find((e) => e.type === 'started'),
      60_000,
    );
    await waitUntil(
      'a progress event',
      () => eventsOf(longId).find((e) => e.type === 'progress') ?? undefined,
      30_000,
    );
    const holder = first.type === 'started' && first.rendererId === 'smoke-r1' ? R1 : R2;
    const other = holder === R1 ? 'smoke-r2' : 'smoke-r1';
    const t0 = Date.now();
    const stopped = await engineRun(engine!, ['stop', '-t', '30', holder], 60_000);
    const stopMs = Date.now() - t0;
    say(
      `${holder}: SIGTERM mid-job → exited ${await exitCode(engine!, holder)} after ${(stopMs / 1000).toFixed(1)} s`,
    );
    expect(stopped.code).toBe(0);
    expect(await exitCode(engine!, holder)).toBe(0);
    const logs = (await logRecords(engine!, holder)).map((r) => String(r.msg));
    expect(logs).toEqual(expect.arrayContaining(['stopping: no new jobs', 'stopped']));

    const end = await waitUntil(`${longId} to end`, () => terminal(longId), 240_000);
    expect(await long.exit).toBe(0);
    record(longId, 'imagine long (renderer stopped mid-job)');
    expect(end.type).toBe('done');
    expect(end.type === 'done' && end.rendererId).toBe(other);
    const starts = eventsOf(longId).filter((e) => e.type === 'started');
    expect(starts.map((e) => e.type === 'started' && e.rendererId)).toEqual([
      first.type === 'started' && first.rendererId,
      other,
    ]);
  }, 900_000);

  it('the bot container answers /imagine through the remaining renderer', async () => {
    const sent = emulator.sendSlashCommand({
      user: 'alice',
      command: 'imagine',
      options: { prompt: 'a green square', seed: 5, steps: 40 },
    });
    const reply = await sent.response();
    const done = await waitFinished(emulator, reply.id, 120_000);
    const job = [...events.entries()].find(([, evs]) => evs.some((e) => e.type === 'done' && e.seed === 5));
    if (job) record(job[0], '/imagine via the bot');
    expect(done.content).toMatch(/^✅ Done/u);
    expect(done.attachments[0]?.filename).toBe('tessera-5.png');
  }, 180_000);
});
