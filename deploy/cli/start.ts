/**
 * `tessera start` (= `npm start`): the whole stack on one machine — nats-server with JetStream
 * (data under ./.tessera/nats, `local-nats.ts`), one renderer, the fair-share scheduler (unless
 * SCHEDULER=off), and the bot (against Discord with
 * DISCORD_TOKEN, else against the playground's local Discord). Ctrl-C stops the bot and the
 * renderer first (the renderer hands its job back), then NATS; nothing is left running.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../../shared/src/index.js';
import type { Playground } from '../playground/index.js';
import {
  hasExplicitCredentials,
  prepareLocalAuth,
  roleEnv,
  setupLocalFarm,
  withLocalCredentials,
  type LocalAuth,
} from './credentials.js';
import { startLocalNats, waitFor } from './local-nats.js';
import { isRunning, startManaged, stopManaged, type ManagedProcess } from './process-group.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `usage: tessera start [--data DIR] [--no-bot] [--no-renderer] [--playground-port N]

Starts nats-server (JetStream; data under DIR/nats, default ./.tessera), one renderer for
RENDERER_MODEL, the fair-share scheduler (SCHEDULER=off: none, jobs go straight to the work
queue) and the bot (it talks to Discord with DISCORD_TOKEN, or runs its local
playground without one). Logs go to DIR/logs/. Ctrl-C stops everything.
If something already listens on NATS_URL's port, that server is used instead.
Without DISCORD_TOKEN the bot talks to a built-in local Discord whose page is printed as
"playground: http://127.0.0.1:PORT" (port from --playground-port or PLAYGROUND_PORT, default
8790; 0 picks a free one).
`;

type Options = { data: string; 'no-bot': boolean; 'no-renderer': boolean; 'playground-port'?: string };

/** What `tessera start` started, and how to stop it (once, in reverse order). */
interface Stack {
  readonly started: ManagedProcess[];
  playground: Playground | undefined;
  readonly logsDir: string;
  readonly env: NodeJS.ProcessEnv;
  /** The role credentials generated under the data dir (undefined when the environment names its own). */
  readonly auth: LocalAuth | undefined;
  say(line: string): void;
  stopAll(): Promise<void>;
}

function createStack(config: Config, logsDir: string, auth: LocalAuth | undefined): Stack {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  let stopping: Promise<void> | undefined;
  const stack: Stack = {
    started: [],
    playground: undefined,
    logsDir,
    auth,
    // The local stack runs a scheduler unless the operator says SCHEDULER=off.
    env: {
      ...process.env,
      NATS_URL: config.NATS_URL,
      SCHEDULER: process.env.SCHEDULER === 'off' ? 'off' : 'on',
    },
    say,
    stopAll: () =>
      (stopping ??= (async () => {
        say('\ntessera: stopping…');
        for (const p of [...stack.started].reverse()) {
          await stopManaged(p, p.name === 'nats' ? 5000 : config.RENDERER_SHUTDOWN_GRACE_MS + 5000);
          say(`  ${p.name} stopped`);
        }
        if (stack.playground) {
          await stack.playground.close();
          say('  playground stopped');
        }
      })()),
  };
  // If this process dies some other way, take the children along.
  process.once('exit', () => {
    for (const p of stack.started) if (isRunning(p)) p.child.kill('SIGTERM');
  });
  return stack;
}

/** A path as the user would type it: relative when under the working directory. */
function show(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') ? p : rel;
}

/** `node --import tsx deploy/cli/main.ts <command>`, the way `tessera <command>` runs. */
function tesseraArgs(command: string): string[] {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return ['--import', tsx, path.join(repoRoot, 'deploy', 'cli', 'main.ts'), command];
}

async function startNatsStep(stack: Stack, config: Config, dataDir: string): Promise<string | undefined> {
  const nats = await startLocalNats({
    natsUrl: config.NATS_URL,
    dataDir,
    logsDir: stack.logsDir,
    configFile: stack.auth?.serverConfig,
  });
  if (nats.process) stack.started.push(nats.process);
  if (!nats.ok) {
    stack.say(`tessera start: ${nats.problem}`);
    return undefined;
  }
  try {
    // The admin step: streams, buckets and consumers, made once here; the others only bind.
    await setupLocalFarm(withLocalCredentials(config, 'admin', dataDir));
  } catch (e) {
    stack.say(`tessera start: cannot set up the farm on ${config.NATS_URL}: ${(e as Error).message}`);
    return undefined;
  }
  if (!nats.process) return `${config.NATS_URL} (already running; not started by tessera)`;
  return `nats://${nats.host}:${nats.port}  (JetStream data: ${show(path.join(dataDir, 'nats'))}, log: ${show(nats.process.logFile)})`;
}

async function startRendererStep(stack: Stack, config: Config): Promise<string | undefined> {
  const renderer = startManaged({
    name: 'renderer',
    command: process.execPath,
    args: tesseraArgs('renderer'),
    env: { ...stack.env, ...roleEnv(stack.auth, 'renderer') },
    cwd: process.cwd(),
    logFile: path.join(stack.logsDir, 'renderer.log'),
  });
  stack.started.push(renderer);
  const ready = await waitFor(
    () => renderer.tail().some((l) => l.includes('"renderer ready"')) || !isRunning(renderer),
    120_000,
  );
  if (!ready || !isRunning(renderer)) {
    stack.say(`tessera start: the renderer did not start (log: ${show(renderer.logFile)}).`);
    return undefined;
  }
  return `pid ${renderer.child.pid}, model ${config.RENDERER_MODEL}, log: ${show(renderer.logFile)}`;
}

/**
 * The fair-share scheduler with its own credential (unless SCHEDULER=off): the bot then submits to
 * intake (`stack.env.SCHEDULER` is `on`), and so does `tessera imagine`, which finds its lease.
 */
async function startSchedulerStep(stack: Stack): Promise<string | undefined> {
  if (stack.env.SCHEDULER !== 'on') return 'off (SCHEDULER=off): jobs go straight to the work queue';
  const scheduler = startManaged({
    name: 'scheduler',
    command: process.execPath,
    args: tesseraArgs('scheduler'),
    env: { ...stack.env, ...roleEnv(stack.auth, 'scheduler') },
    cwd: process.cwd(),
    logFile: path.join(stack.logsDir, 'scheduler.log'),
  });
  stack.started.push(scheduler);
  const ready = await waitFor(
    () => scheduler.tail().some((l) => l.includes('"scheduler ready"')) || !isRunning(scheduler),
    60_000,
  );
  if (!ready || !isRunning(scheduler)) {
    stack.say(`tessera start: the scheduler did not start (log: ${show(scheduler.logFile)}).`);
    return undefined;
  }
  return `pid ${scheduler.child.pid}, fair share across servers and members, log: ${show(scheduler.logFile)}`;
}

/** The local Discord + its page on `port`, or on a free port when that one is taken. */
async function openPlayground(port: number, say: (line: string) => void): Promise<Playground> {
  const { startPlayground } = await import('../playground/index.js');
  const botToken = `playground.${randomBytes(18).toString('base64url')}`;
  try {
    return await startPlayground({ port, botToken });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw e;
    say(`tessera start: port ${port} is taken; the playground uses a free port instead.`);
    return startPlayground({ port: 0, botToken });
  }
}

/** The bot's note for the summary, or an exit code when the playground port is not a port. */
async function startBotStep(
  stack: Stack,
  config: Config,
  portFlag: string | undefined,
): Promise<string | number> {
  let botEnv: NodeJS.ProcessEnv = { ...stack.env, ...roleEnv(stack.auth, 'bot') };
  let botArgs = tesseraArgs('bot');
  if (!config.DISCORD_TOKEN) {
    // No Discord account: the same bot process, pointed at the playground's local Discord.
    const wanted = portFlag === undefined ? config.PLAYGROUND_PORT : Number(portFlag);
    if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65535) {
      stack.say(
        `tessera start: --playground-port expects a port number (0 = any free one), got ${JSON.stringify(portFlag)}`,
      );
      return 2;
    }
    stack.playground = await openPlayground(wanted, stack.say);
    const emu = stack.playground.emulator;
    botEnv = {
      ...botEnv,
      DISCORD_TOKEN: emu.botToken,
      DISCORD_API_BASE: emu.apiBase,
      DISCORD_APP_ID: emu.applicationId,
      DISCORD_GUILD_ID: emu.guild.id,
    };
    botArgs = [...botArgs, '--register'];
  }
  const bot = startManaged({
    name: 'bot',
    command: process.execPath,
    args: botArgs,
    env: botEnv,
    cwd: process.cwd(),
    logFile: path.join(stack.logsDir, 'bot.log'),
  });
  stack.started.push(bot);
  const how = stack.playground
    ? 'playground (no DISCORD_TOKEN): the local Discord below'
    : 'Discord (DISCORD_TOKEN set)';
  return `pid ${bot.child.pid}, ${how}, log: ${show(bot.logFile)}`;
}

/** Runs until Ctrl-C / SIGTERM / SIGHUP (a repeated signal while stopping is ignored) or a child dies. */
async function runUntilStopped(stack: Stack): Promise<number> {
  let onSignal!: (signal: NodeJS.Signals) => void;
  const signalled = new Promise<{ signal: NodeJS.Signals }>((resolve) => {
    let seen = false;
    onSignal = (signal) => {
      if (seen) stack.say(`tessera: ${signal} again; already stopping`);
      seen = true;
      resolve({ signal });
    };
  });
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  const died = Promise.race(stack.started.map((p) => p.exited.then((how) => ({ p, how }))));
  const first = await Promise.race([signalled, died]);
  let code = 0;
  if ('p' in first) {
    stack.say(
      `tessera: ${first.p.name} exited (${first.how.signal ?? `code ${first.how.code}`}); see ${show(first.p.logFile)}`,
    );
    code = 1;
  }
  await stack.stopAll();
  for (const s of signals) process.off(s, onSignal);
  return code;
}

function parseStartArgs(argv: string[]): Options & { help: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: '.tessera' },
      'no-bot': { type: 'boolean', default: false },
      'no-renderer': { type: 'boolean', default: false },
      'playground-port': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  return values;
}

export async function run(argv: string[]): Promise<number> {
  const values = parseStartArgs(argv);
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`tessera start: ${e.message}\n`);
    return 2;
  }
  const dataDir = path.resolve(values.data);
  const logsDir = path.join(dataDir, 'logs');
  await mkdir(path.join(dataDir, 'nats'), { recursive: true });
  await mkdir(logsDir, { recursive: true });
  // Auth is on: an nkey per role under DATA/credentials (generated once), unless the environment names its own.
  const auth = hasExplicitCredentials(config) ? undefined : await prepareLocalAuth(dataDir);
  const stack = createStack(config, logsDir, auth);
  const fail = async (code: number) => (await stack.stopAll(), code);

  const natsNote = await startNatsStep(stack, config, dataDir);
  if (natsNote === undefined) return fail(1);
  let rendererNote = 'not started (--no-renderer)';
  if (!values['no-renderer']) {
    const note = await startRendererStep(stack, config);
    if (note === undefined) return fail(1);
    rendererNote = note;
  }
  const schedulerNote = await startSchedulerStep(stack);
  if (schedulerNote === undefined) return fail(1);
  let botNote = 'not started (--no-bot)';
  if (!values['no-bot']) {
    const note = await startBotStep(stack, config, values['playground-port']);
    if (typeof note === 'number') return fail(note);
    botNote = note;
  }

  stack.say(`tessera is running
  NATS      ${natsNote}
  renderer  ${rendererNote}
  scheduler ${schedulerNote}
  bot       ${botNote}
Try:  npx tessera imagine "a red circle on a blue background" --seed 1   (frames and image under ./out/)
      npx tessera farm
Ctrl-C stops everything.`);
  // On stdout and on its own line, for people and for scripts (`npm start | grep playground:`).
  if (stack.playground) process.stdout.write(`playground: ${stack.playground.url}\n`);
  return runUntilStopped(stack);
}
