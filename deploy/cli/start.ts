/**
 * `tessera start` (= `npm start`): the whole stack on one machine — nats-server with JetStream
 * (data under ./.tessera/nats), one renderer, and the bot when bot/src/main.ts exists. Ctrl-C
 * stops the bot and the renderer first (the renderer hands its job back), then NATS; nothing is
 * left running.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../../shared/src/index.js';
import type { Playground } from '../../bot/src/playground/index.js';
import { isRunning, startManaged, stopManaged, type ManagedProcess } from './process-group.js';

const DEFAULT_PLAYGROUND_PORT = 8790;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `usage: tessera start [--data DIR] [--no-bot] [--no-renderer] [--playground-port N]

Starts nats-server (JetStream; data under DIR/nats, default ./.tessera), one renderer for
RENDERER_MODEL and, when the bot is built, the bot (it talks to Discord with DISCORD_TOKEN, or
runs its local playground without one). Logs go to DIR/logs/. Ctrl-C stops everything.
If something already listens on NATS_URL's port, that server is used instead.
Without DISCORD_TOKEN the bot talks to a built-in local Discord whose page is printed as
"playground: http://127.0.0.1:PORT" (port from --playground-port or PLAYGROUND_PORT, default
${DEFAULT_PLAYGROUND_PORT}; 0 picks a free one).
`;

/** Where the bot hooks in: started when its entry exists (it decides Discord vs playground itself). */
export function botPlan(root: string, _config: Config): { start: boolean; why: string } {
  const entry = path.join(root, 'bot', 'src', 'main.ts');
  if (!existsSync(entry)) return { start: false, why: 'bot/src/main.ts is not there yet' };
  return {
    start: true,
    why: _config.DISCORD_TOKEN
      ? 'Discord (DISCORD_TOKEN set)'
      : 'no DISCORD_TOKEN: the bot decides (playground)',
  };
}

function portOpen(host: string, port: number): Promise<boolean> {
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

/** A path as the user would type it: relative when under the working directory. */
function show(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') ? p : rel;
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** The local Discord + its page on `port`, or on a free port when that one is taken. */
async function openPlayground(port: number, say: (line: string) => void): Promise<Playground> {
  const { startPlayground } = await import('../../bot/src/playground/index.js');
  const botToken = `playground.${randomBytes(18).toString('base64url')}`;
  try {
    return await startPlayground({ port, botToken });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw e;
    say(`tessera start: port ${port} is taken; the playground uses a free port instead.`);
    return startPlayground({ port: 0, botToken });
  }
}

/** `node --import tsx deploy/cli/main.ts <command>`, the way `tessera <command>` runs. */
function tesseraArgs(command: string): string[] {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return ['--import', tsx, path.join(repoRoot, 'deploy', 'cli', 'main.ts'), command];
}

export async function run(argv: string[]): Promise<number> {
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
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`tessera start: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const dataDir = path.resolve(values.data);
  const logsDir = path.join(dataDir, 'logs');
  await mkdir(path.join(dataDir, 'nats'), { recursive: true });
  await mkdir(logsDir, { recursive: true });

  const firstUrl = new URL(config.NATS_URL.split(',')[0]!.trim());
  const host = firstUrl.hostname || '127.0.0.1';
  const port = Number(firstUrl.port || 4222);
  const started: ManagedProcess[] = [];
  let playground: Playground | undefined;
  const say = (line: string) => process.stderr.write(`${line}\n`);

  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      say('\ntessera: stopping…');
      for (const p of [...started].reverse()) {
        await stopManaged(p, p.name === 'nats' ? 5000 : config.RENDERER_SHUTDOWN_GRACE_MS + 5000);
        say(`  ${p.name} stopped`);
      }
      if (playground) {
        await playground.close();
        say('  playground stopped');
      }
    })());
  // If this process dies some other way, take the children along.
  process.once('exit', () => {
    for (const p of started) if (isRunning(p)) p.child.kill('SIGTERM');
  });

  // 1. NATS
  let natsNote: string;
  if (await portOpen(host, port)) {
    natsNote = `${config.NATS_URL} (already running; not started by tessera)`;
  } else {
    if (spawnSync('nats-server', ['--version']).error) {
      say(
        'tessera start: nats-server is not on PATH. Run `npm start` (installs it when root) or `sudo apt-get install -y nats-server`.',
      );
      return 1;
    }
    const nats = startManaged({
      name: 'nats',
      command: 'nats-server',
      args: ['-js', '-a', host, '-p', String(port), '-sd', path.join(dataDir, 'nats'), '-n', 'tessera-local'],
      logFile: path.join(logsDir, 'nats.log'),
    });
    started.push(nats);
    if (!(await waitFor(() => portOpen(host, port) || !isRunning(nats), 15_000)) || !isRunning(nats)) {
      say(`tessera start: nats-server did not start:\n${nats.tail().slice(-10).join('\n')}`);
      await stopAll();
      return 1;
    }
    natsNote = `nats://${host}:${port}  (JetStream data: ${show(path.join(dataDir, 'nats'))}, log: ${show(nats.logFile)})`;
  }
  // The fair-share scheduler is on for the local stack unless the operator says SCHEDULER=off.
  const childEnv = { ...process.env, NATS_URL: config.NATS_URL, SCHEDULER: process.env.SCHEDULER || 'on' };
  let schedulerNote = 'off (SCHEDULER=off): jobs go straight to the work queue';
  if (childEnv.SCHEDULER === 'on') {
    const scheduler = startManaged({
      name: 'scheduler',
      command: process.execPath,
      args: tesseraArgs('scheduler'),
      env: childEnv,
      cwd: process.cwd(),
      logFile: path.join(logsDir, 'scheduler.log'),
    });
    started.push(scheduler);
    schedulerNote = `pid ${scheduler.child.pid}, fair share, log: ${show(scheduler.logFile)}`;
  }

  // 2. renderer
  let rendererNote = 'not started (--no-renderer)';
  if (!values['no-renderer']) {
    const renderer = startManaged({
      name: 'renderer',
      command: process.execPath,
      args: tesseraArgs('renderer'),
      env: childEnv,
      cwd: process.cwd(),
      logFile: path.join(logsDir, 'renderer.log'),
    });
    started.push(renderer);
    const ready = await waitFor(
      () => renderer.tail().some((l) => l.includes('"renderer ready"')) || !isRunning(renderer),
      120_000,
    );
    if (!ready || !isRunning(renderer)) {
      say(`tessera start: the renderer did not start (log: ${show(renderer.logFile)}).`);
      await stopAll();
      return 1;
    }
    rendererNote = `pid ${renderer.child.pid}, model ${config.RENDERER_MODEL}, log: ${show(renderer.logFile)}`;
  }

  // 3. bot
  let botNote: string;
  const plan = botPlan(repoRoot, config);
  if (values['no-bot'] || !plan.start) {
    botNote = `not started (${values['no-bot'] ? '--no-bot' : plan.why})`;
  } else {
    let botEnv: NodeJS.ProcessEnv = childEnv;
    let botArgs = tesseraArgs('bot');
    if (!config.DISCORD_TOKEN) {
      // No Discord account: the same bot process, pointed at the playground's local Discord.
      const portText =
        values['playground-port'] ?? process.env.PLAYGROUND_PORT ?? String(DEFAULT_PLAYGROUND_PORT);
      const wanted = Number(portText);
      if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65535) {
        say(
          `tessera start: --playground-port / PLAYGROUND_PORT expects a port number (0 = any free one), got ${JSON.stringify(portText)}`,
        );
        await stopAll();
        return 2;
      }
      playground = await openPlayground(wanted, say);
      const emu = playground.emulator;
      botEnv = {
        ...childEnv,
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
      logFile: path.join(logsDir, 'bot.log'),
    });
    started.push(bot);
    botNote = `pid ${bot.child.pid}, ${playground ? 'playground (no DISCORD_TOKEN): the local Discord below' : plan.why}, log: ${show(bot.logFile)}`;
  }

  say(`tessera is running
  NATS      ${natsNote}
  renderer  ${rendererNote}
  scheduler ${schedulerNote}
  bot       ${botNote}
Try:  npx tessera imagine "a red circle on a blue background" --seed 1   (frames and image under ./out/)
      npx tessera farm
Ctrl-C stops everything.`);
  // On stdout and on its own line, for people and for scripts (`npm start | grep playground:`).
  if (playground) process.stdout.write(`playground: ${playground.url}\n`);

  // Run until Ctrl-C / SIGTERM, or until a child dies on its own.
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const died = Promise.race(started.map((p) => p.exited.then((how) => ({ p, how }))));
  const first = await Promise.race([signalled.then((s) => ({ signal: s })), died]);
  let code = 0;
  if ('p' in first) {
    say(
      `tessera: ${first.p.name} exited (${first.how.signal ?? `code ${first.how.code}`}); see ${show(first.p.logFile)}`,
    );
    code = 1;
  }
  await stopAll();
  return code;
}
