/**
 * `tessera <command>`: a thin dispatcher. Each command lives in the package that owns it and
 * exports `run(argv): Promise<number>` (the exit code); it is imported only when used so that
 * `tessera render` does not pay for loading discord.js.
 */
type CommandModule = { run(argv: string[]): Promise<number> };

/**
 * Started by `tessera.mjs` with an IPC channel: when the wrapper goes away (even by SIGKILL) the
 * channel closes, and we stop as on SIGTERM (graceful where the command handles SIGTERM). The
 * channel does not keep us alive.
 */
function stopWithWrapper(): void {
  if (process.send === undefined) return;
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  process.channel?.unref();
}

const commands: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  start: {
    summary: 'run the local stack: nats-server, a renderer, the bot (playground without DISCORD_TOKEN)',
    load: () => import('./start.js'),
  },
  setup: {
    summary: 'admin: create or update the farm on NATS (streams, buckets, consumers for FARM_MODELS)',
    load: () => import('./setup.js'),
  },
  credentials: {
    summary: 'admin: generate or --rotate the nkey per role and the nats-server auth file',
    load: () => import('./credentials.js'),
  },
  imagine: {
    summary: 'submit a render to the farm over NATS and save frames + image under ./out/',
    load: () => import('./imagine.js'),
  },
  farm: { summary: 'renderers online, queue depth, jobs in flight', load: () => import('./farm.js') },
  render: {
    summary: 'render locally with the engine, no NATS',
    load: () => import('../../renderer/src/cli/render.js'),
  },
  tokenize: {
    summary: 'print CLIP BPE token ids for a text',
    load: () => import('../../renderer/src/cli/tokenize.js'),
  },
  renderer: {
    summary: 'run one renderer process (connects to NATS_URL)',
    load: () => import('../../renderer/src/main.js'),
  },
  scheduler: {
    summary: 'run a fair-share scheduler between intake and the renderers (SCHEDULER=on; run two for HA)',
    load: () => import('../../renderer/src/scheduler/main.js'),
  },
  bot: {
    summary: 'run the Discord bot (connects to NATS_URL and Discord)',
    load: () => import('../../bot/src/main.js'),
  },
  commands: {
    summary: 'register slash commands: commands deploy [--guild ID]',
    load: () => import('../../bot/src/cli/commands.js'),
  },
  bench: {
    summary: 'benchmarks: engine steps/s vs PyTorch eager, bot CPU per frame',
    load: () => import('./bench.js'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: tessera <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`tessera: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const mod = await command.load();
  return mod.run(rest);
}

stopWithWrapper();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tessera: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
