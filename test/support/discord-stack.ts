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
  createLogger,
  readNkeySeed,
  servedModels,
  type Farm,
  type NatsConnection,
} from '../../shared/src/index.js';
import { openTestFarm } from './farm-harness.js';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';

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
  /** `test-engine`: the deterministic test engine whatever the environment says. */
  renderer?: 'test-engine';
  /** Changes to the model facts the bot is given (e.g. more sizes, with the test engine). */
  modelFacts?: Partial<ModelFacts>;
}

function useRealRenderer(): boolean {
  if (process.env.TESSERA_E2E_RENDERER === 'test') return false;
  return existsSync(path.join(repoRoot, 'models', MODEL, 'manifest.json'));
}

function spawnRenderer(
  nats: NatsServerHandle,
  real: boolean,
  stepMs: number,
  extraEnv: Record<string, string> = {},
): { child: ChildProcess; output: () => string } {
  const env = {
    ...process.env,
    ...nats.env('renderer'),
    RENDERER_MODEL: MODEL,
    RENDERER_ID: `e2e-${process.pid}`,
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
  const real = options.renderer !== 'test-engine' && useRealRenderer();
  if (!real)
    process.stderr.write(
      '[discord-stack] using the deterministic test engine in the renderer process (no models/tiny-shapes bundle or TESSERA_E2E_RENDERER=test)\n',
    );
  const renderer = spawnRenderer(nats, real, options.testEngineStepMs ?? 25, options.rendererEnv);
  // The bot refuses models no renderer serves: start it once the renderer has announced itself.
  await waitForRenderer(nc, renderer);
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
      farm: farmSettings,
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
      await stopRenderer();
      await nc.close().catch(() => undefined);
      await emulator.close();
      await nats.dispose();
    },
  };
  return stack;

  async function stopRenderer(): Promise<void> {
    const exited = new Promise<void>((resolve) =>
      renderer.child.exitCode !== null || renderer.child.signalCode !== null
        ? resolve()
        : renderer.child.once('exit', () => resolve()),
    );
    renderer.child.kill('SIGTERM');
    const t = setTimeout(() => renderer.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}
