/**
 * `tessera bench` (bot part): 50 concurrent renders streaming frames through the local Discord
 * emulator, to measure the bot alone. The bot runs as its own process (so its CPU time can be
 * read from /proc); jobs come in as real `/imagine` interactions; a synthetic renderer publishes
 * `started`, progress frames (small WebP) and `done` on NATS at a fixed rate. Prints the bot's
 * CPU per frame and the edits it sent against the frames it received.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { REST } from 'discord.js';
import sharp from 'sharp';
import {
  JobEvent,
  allEventsSubject,
  connectNats,
  decodeMessage,
  setupFarm,
  publishJobEvent,
  renderImageKey,
  settleJob,
  loadConfig,
  type Config,
  type Farm,
} from '../../../shared/src/index.js';
import { defaultGuildSettings } from '../core/guild-settings.js';
import { deployCommands } from '../cli/commands.js';
import { createDiscordEmulator, type DiscordEmulator } from '../../../deploy/playground/emulator/index.js';
import { TINY_SHAPES_FACTS } from '../model-facts.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface BotBenchOptions {
  jobs?: number;
  framesPerJob?: number;
  /** Frames per second each synthetic render publishes. */
  fps?: number;
  users?: number;
  out?: (line: string) => void;
  /** NATS_URL and BENCH_USE_NATS_URL come from here (default: `loadConfig()`). */
  config?: Config;
}

export interface BotBenchResult {
  jobs: number;
  framesReceived: number;
  editsSent: number;
  rateLimited: number;
  botCpuMs: number;
  cpuPerFrameMs: number;
  maxEditsInFlightPerMessage: number;
  wallMs: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function startNats(config: Config): Promise<{ url: string; stop: () => Promise<void> }> {
  if (config.BENCH_USE_NATS_URL) return { url: config.NATS_URL, stop: async () => {} };
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-bench-nats-'));
  const child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], {
    stdio: 'ignore',
  });
  const url = `nats://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const open = await new Promise<boolean>((r) => {
      const sock = net.connect(port, '127.0.0.1', () => (sock.destroy(), r(true)));
      sock.on('error', () => r(false));
    });
    if (open) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** utime + stime of a process, in milliseconds (Linux /proc). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

async function noiseFrames(count: number): Promise<string[]> {
  const frames: string[] = [];
  for (let k = 0; k < count; k++) {
    const raw = Buffer.alloc(64 * 64 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 31 + k * 97 + ((i * k) % 13)) & 0xff;
    frames.push(
      (
        await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } })
          .webp({ quality: 80 })
          .toBuffer()
      ).toString('base64'),
    );
  }
  return frames;
}

function spawnBot(env: NodeJS.ProcessEnv): ChildProcess {
  // The bot runs as its own process (not through tessera.mjs) so its pid is the bot's.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return spawn(process.execPath, ['--import', tsx, path.join(repoRoot, 'deploy', 'cli', 'main.ts'), 'bot'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** Streams one synthetic render: started, `frames` progress events at `fps`, then done. */
async function fakeRender(
  farm: Farm,
  jobId: string,
  frames: string[],
  count: number,
  fps: number,
  png: Uint8Array,
): Promise<void> {
  const at = () => new Date().toISOString();
  await publishJobEvent(farm, {
    v: 1,
    type: 'started',
    jobId,
    at: at(),
    rendererId: 'bench',
    attempt: 1,
    total: count,
  });
  for (let step = 1; step <= count; step++) {
    await new Promise((r) => setTimeout(r, 1000 / fps));
    await publishJobEvent(farm, {
      v: 1,
      type: 'progress',
      jobId,
      at: at(),
      rendererId: 'bench',
      attempt: 1,
      step,
      total: count,
      itPerSec: fps,
      frame: frames[step % frames.length]!,
    });
  }
  const key = renderImageKey(jobId, 1);
  await farm.images.putBlob({ name: key }, png);
  await settleJob(farm, {
    v: 1,
    type: 'done',
    jobId,
    at: at(),
    rendererId: 'bench',
    attempt: 1,
    image: { key, contentType: 'image/png' },
    width: 64,
    height: 64,
    seed: 1,
    steps: count,
    elapsedMs: (count / fps) * 1000,
  });
}

interface BenchShape {
  jobs: number;
  framesPerJob: number;
  fps: number;
  userCount: number;
}

/** The emulator with bench users, and a farm whose guild settings let every bench job in. */
async function benchWorld(
  natsUrl: string,
  userCount: number,
): Promise<{ emulator: DiscordEmulator; nc: Awaited<ReturnType<typeof connectNats>>; farm: Farm }> {
  const emulator: DiscordEmulator = await createDiscordEmulator({
    users: Array.from({ length: userCount }, (_, k) => ({ name: `user${k}` })),
    // Discord-like per-message limit: 5 edits per 5 s.
    routeLimit: { limit: 5, windowMs: 5000 },
  });
  const nc = await connectNats({ url: natsUrl, name: 'bot-bench' });
  const farm = await setupFarm(nc, {
    models: [TINY_SHAPES_FACTS.name],
    ackWaitMs: 30_000,
    maxDeliver: 3,
    duplicateWindowMs: 120_000,
    eventsMaxAgeS: 3600,
    resultsMaxAgeS: 3600,
  });
  const settings = {
    ...defaultGuildSettings(),
    defaultQuota: { limit: 10_000, per: 'day' as const },
    maxConcurrentPerUser: 50,
  };
  await farm.guildSettings.put(emulator.guild.id, new TextEncoder().encode(JSON.stringify(settings)));
  await deployCommands({
    rest: new REST({ api: emulator.apiBase }).setToken(emulator.botToken),
    applicationId: emulator.applicationId,
    guildId: emulator.guild.id,
    model: TINY_SHAPES_FACTS,
  });
  return { emulator, nc, farm };
}

/**
 * Sends the `/imagine`s, answers each queued job with a synthetic render, and waits until every
 * render message shows its final image; the figures, read from the emulator and /proc.
 */
async function measure(
  shape: BenchShape,
  world: { emulator: DiscordEmulator; nc: Awaited<ReturnType<typeof connectNats>>; farm: Farm },
  botPid: number,
): Promise<BotBenchResult> {
  const { emulator, nc, farm } = world;
  const { jobs, framesPerJob, fps, userCount } = shape;
  const frames = await noiseFrames(8);
  const png = new Uint8Array(
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer(),
  );
  const queued = new Set<string>();
  const renders: Promise<void>[] = [];
  const events = nc.subscribe(allEventsSubject(), {
    callback: (_e, msg) => {
      const d = decodeMessage(JobEvent, msg.data);
      if (!d.ok || d.value.type !== 'queued' || queued.has(d.value.jobId)) return;
      queued.add(d.value.jobId);
      renders.push(fakeRender(farm, d.value.jobId, frames, framesPerJob, fps, png));
    },
  });
  const cpuBefore = await cpuMs(botPid);
  const t0 = Date.now();
  const sent = Array.from({ length: jobs }, (_, k) =>
    emulator.sendSlashCommand({
      user: `user${k % userCount}`,
      command: 'imagine',
      options: { prompt: `bench ${k}`, seed: k },
    }),
  );
  await emulator.waitFor(() => queued.size >= jobs || undefined, {
    timeoutMs: 60_000,
    what: `${jobs} jobs queued`,
  });
  await Promise.all(renders);
  const messageIds = sent.map((s) => s.record.originalMessageId!);
  await emulator.waitFor(
    () => messageIds.every((id) => /^✅/u.test(emulator.message(id)?.content ?? '')) || undefined,
    { timeoutMs: 120_000, what: 'every render message to finish' },
  );
  const wallMs = Date.now() - t0;
  const botCpuMs = (await cpuMs(botPid)) - cpuBefore;
  events.unsubscribe();

  const ids = new Set(messageIds);
  const edits = emulator
    .requests()
    .filter((r) => r.method === 'PATCH' && r.messageId !== undefined && ids.has(r.messageId));
  return {
    jobs,
    framesReceived: jobs * framesPerJob,
    editsSent: edits.filter((r) => r.status === 200).length,
    rateLimited: edits.filter((r) => r.status === 429).length,
    botCpuMs,
    cpuPerFrameMs: botCpuMs / (jobs * framesPerJob),
    maxEditsInFlightPerMessage: Math.max(...messageIds.map((id) => emulator.maxEditsInFlight(id))),
    wallMs,
  };
}

function printResult(out: (line: string) => void, shape: BenchShape, result: BotBenchResult): void {
  out(
    `bot bench: ${shape.jobs} concurrent renders × ${shape.framesPerJob} frames at ${shape.fps} fps through the local Discord emulator (5 edits / 5 s per message)`,
  );
  out(`  frames streamed to the bot : ${result.framesReceived}`);
  out(
    `  message edits sent         : ${result.editsSent} (${((result.editsSent / result.framesReceived) * 100).toFixed(1)} % of frames; ${result.rateLimited} answered 429)`,
  );
  out(
    `  bot CPU                    : ${result.botCpuMs.toFixed(0)} ms total, ${result.cpuPerFrameMs.toFixed(3)} ms per frame received, ${(result.botCpuMs / Math.max(1, result.editsSent)).toFixed(2)} ms per edit`,
  );
  out(`  max edits in flight / msg  : ${result.maxEditsInFlightPerMessage}`);
  out(`  wall time                  : ${(result.wallMs / 1000).toFixed(1)} s`);
}

export async function runBotBench(options: BotBenchOptions = {}): Promise<BotBenchResult> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const shape: BenchShape = {
    jobs: options.jobs ?? 50,
    framesPerJob: options.framesPerJob ?? 40,
    fps: options.fps ?? 5,
    userCount: options.users ?? 10,
  };
  const nats = await startNats(options.config ?? loadConfig());
  const world = await benchWorld(nats.url, shape.userCount);
  const { emulator, nc } = world;
  const bot = spawnBot({
    ...process.env,
    NATS_URL: nats.url,
    DISCORD_TOKEN: emulator.botToken,
    DISCORD_APP_ID: emulator.applicationId,
    DISCORD_API_BASE: emulator.apiBase,
    LOG_LEVEL: 'warn',
    RENDERER_MODEL: TINY_SHAPES_FACTS.name,
  });
  let botErr = '';
  bot.stderr?.on('data', (b: Buffer) => (botErr = (botErr + b.toString()).slice(-4000)));
  try {
    await emulator.waitFor(() => emulator.connectedBots() > 0 || undefined, {
      timeoutMs: 60_000,
      what: 'the bot to connect',
    });
    // The bot resumes and starts its feed right after it connected.
    await new Promise((r) => setTimeout(r, 1500));
    const result = await measure(shape, world, bot.pid!);
    printResult(out, shape, result);
    return result;
  } catch (e) {
    if (botErr) out(`bot stderr:\n${botErr}`);
    throw e;
  } finally {
    bot.kill('SIGTERM');
    await new Promise((r) => (bot.exitCode !== null ? r(undefined) : bot.once('exit', r)));
    await nc.close();
    await emulator.close();
    await nats.stop();
  }
}
