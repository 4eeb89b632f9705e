/**
 * The e2e stack for the bot: a real nats-server, a renderer process, the local Discord emulator
 * and the real bot (discord.js client) connected to it, with slash commands registered in the
 * emulator's guild. The renderer is the real one (`tessera renderer` on the bundled model) when
 * the bundle is present; `TESSERA_E2E_RENDERER=test` (or a missing bundle) uses the farm tests'
 * deterministic engine in a real renderer process instead, and says so on stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REST } from 'discord.js';
import { startBot, type BotHandle, type BotOptions } from '../../bot/src/bot.js';
import { deployCommands } from '../../bot/src/cli/commands.js';
import {
  createDiscordEmulator,
  type DiscordEmulator,
  type DiscordEmulatorOptions,
} from '../../deploy/playground/emulator/index.js';
import { loadModelFacts } from '../../bot/src/model-facts.js';
import type { ModelFacts } from '../../bot/src/core/imagine-request.js';
import {
  bindFarm,
  createLogger,
  readNkeySeed,
  schedulerLeads,
  servedModels,
  type Farm,
  type NatsConnection,
} from '../../shared/src/index.js';
import { openTestFarm } from './farm-harness.js';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';
import { spawnScheduler } from './scheduler-child.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODEL = 'tiny-shapes';

export const farmSettings = {
  ackWaitMs: 10_000,
  maxDeliver: 3,
  duplicateWindowMs: 120_000,
  eventsMaxAgeS: 3600,
  resultsMaxAgeS: 3600,
};

export interface DiscordStack {
  nats: NatsServerHandle;
  emulator: DiscordEmulator;
  bot: BotHandle;
  /** A NATS connection of the test's own, with the bot's credential (to watch events, read KV). */
  farm: Farm;
  model: ModelFacts;
  rendererKind: 'real' | 'test-engine';
  /** Stops the bot abruptly and starts a new one (same emulator, same NATS). */
  restartBot(): Promise<BotHandle>;
  rendererOutput(): string;
  /** Stops the renderer gracefully (the farm then serves no model). */
  stopRenderer(): Promise<void>;
  stop(): Promise<void>;
}

export interface DiscordStackOptions {
  emulator?: DiscordEmulatorOptions;
  bot?: Partial<Pick<BotOptions, 'editMinIntervalMs' | 'editsPerSecond' | 'tokenSwitchAfterMs' | 'now'>>;
  /** Per-step delay of the test engine (ms). */
  testEngineStepMs?: number;
  /** More environment for the renderer process (e.g. `JOB_MAX_QUEUE_S`). */
  rendererEnv?: Record<string, string>;
  /** Changes to the model facts the bot is given (e.g. more sizes, with the test engine). */
  modelFacts?: Partial<ModelFacts>;
  /** Renderer processes (default 1). */
  renderers?: number;
  /** The deterministic test engine even when the model bundle is there. */
  testEngine?: boolean;
  /** Runs the fair-share scheduler (`tessera scheduler`) and the bot with SCHEDULER=on. */
  scheduler?: boolean;
}

function useRealRenderer(options: DiscordStackOptions): boolean {
  if (options.testEngine || process.env.TESSERA_E2E_RENDERER === 'test') return false;
  return existsSync(path.join(repoRoot, 'models', MODEL, 'manifest.json'));
}

function spawnRenderer(
  nats: NatsServerHandle,
  real: boolean,
  stepMs: number,
  extraEnv: Record<string, string> = {},
  index = 0,
): { child: ChildProcess; output: () => string } {
  const env = {
    ...process.env,
    ...nats.env('renderer'),
    RENDERER_MODEL: MODEL,
    RENDERER_ID: index === 0 ? `e2e-${process.pid}` : `e2e-${process.pid}-${index}`,
    RENDERER_EP: 'cpu',
    RENDERER_FRAME_EVERY: '5',
    RENDERER_FRAME_MIN_INTERVAL_MS: '100',
    JOB_ACK_WAIT_MS: String(farmSettings.ackWaitMs),
    LOG_LEVEL: process.env.TESSERA_TEST_LOG ?? 'warn',
    TEST_ENGINE_STEP_MS: String(stepMs),
    ...extraEnv,
  };
  const args = real
    ? [path.join(repoRoot, 'deploy', 'cli', 'tessera.mjs'), 'renderer']
    : ['--import', 'tsx', path.join(repoRoot, 'test', 'support', 'farm-renderer.ts')];
  const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => out };
}

async function waitForRenderer(
  nc: NatsConnection,
  renderer: { child: ChildProcess; output: () => string },
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await servedModels(nc, { timeoutMs: 300 })).has(MODEL)) {
    if (Date.now() > deadline || renderer.child.exitCode !== null)
      throw new Error(`the renderer did not come up:\n${renderer.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startDiscordStack(options: DiscordStackOptions = {}): Promise<DiscordStack> {
  const nats = await startNatsServer();
  const emulator = await createDiscordEmulator(options.emulator);
  const farm = await openTestFarm(nats, { ...farmSettings, models: [MODEL] });
  const nc = farm.nc;
  const botSeedFile = nats.env('bot').NATS_NKEY_FILE;
  const botSeed = botSeedFile ? await readNkeySeed(botSeedFile) : undefined;
  const real = useRealRenderer(options);
  if (!real)
    process.stderr.write(
      '[discord-stack] using the deterministic test engine in the renderer process (no models/tiny-shapes bundle or TESSERA_E2E_RENDERER=test)\n',
    );
  const renderers = Array.from({ length: options.renderers ?? 1 }, (_, i) =>
    spawnRenderer(nats, real, options.testEngineStepMs ?? 25, options.rendererEnv, i),
  );
  const renderer = renderers[0]!;
  // The bot refuses models no renderer serves: start it once the renderer has announced itself.
  for (const r of renderers) await waitForRenderer(nc, r);
  const scheduler = options.scheduler ? await startScheduler(nats) : undefined;
  const model = { ...(await loadModelFacts(MODEL, path.join(repoRoot, 'models'))), ...options.modelFacts };
  const rest = new REST({ api: emulator.apiBase }).setToken(emulator.botToken);
  await deployCommands({ rest, applicationId: emulator.applicationId, guildId: emulator.guild.id, model });

  const log = createLogger({
    level: (process.env.TESSERA_TEST_LOG as 'info' | undefined) ?? 'silent',
    name: 'bot',
  });
  const launch = () =>
    startBot({
      discord: { token: emulator.botToken, apiBase: emulator.apiBase },
      nats: { url: nats.url, nkeySeed: botSeed },
      farm: { ...farmSettings, scheduler: options.scheduler === true },
      model,
      log,
      editMinIntervalMs: options.bot?.editMinIntervalMs ?? 150,
      editsPerSecond: options.bot?.editsPerSecond,
      tokenSwitchAfterMs: options.bot?.tokenSwitchAfterMs,
      now: options.bot?.now,
    });
  const stack: DiscordStack = {
    nats,
    emulator,
    bot: await launch(),
    farm,
    model,
    rendererKind: real ? 'real' : 'test-engine',
    async restartBot() {
      await stack.bot.kill();
      stack.bot = await launch();
      return stack.bot;
    },
    rendererOutput: renderer.output,
    stopRenderer,
    async stop() {
      await stack.bot.stop().catch(() => undefined);
      await Promise.all(renderers.slice(1).map((r) => stopProcess(r.child)));
      if (scheduler) await stopProcess(scheduler);
      await stopRenderer();
      await nc.close().catch(() => undefined);
      await emulator.close();
      await nats.dispose();
    },
  };
  return stack;

  function stopRenderer(): Promise<void> {
    return stopProcess(renderer.child);
  }
}

/** SIGTERM, then SIGKILL after 5 s. */
async function stopProcess(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

/** `tessera scheduler` with the scheduler credential; resolves once it holds the lease. */
async function startScheduler(nats: NatsServerHandle): Promise<ChildProcess> {
  const scheduler = spawnScheduler(nats, { LOG_LEVEL: process.env.TESSERA_TEST_LOG ?? 'warn' });
  const admin = await nats.connect('admin', { name: 'e2e-scheduler-wait' });
  try {
    const farm = await bindFarm(admin, { ...farmSettings, models: [] }, { schedulerBucket: true });
    const deadline = Date.now() + 30_000;
    while (!(await schedulerLeads(farm, 5000))) {
      if (Date.now() > deadline || scheduler.child.exitCode !== null)
        throw new Error(`the scheduler did not take the lease:\n${scheduler.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.close();
  }
  return scheduler.child;
}
