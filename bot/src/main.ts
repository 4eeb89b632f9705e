/**
 * `tessera bot`: the Discord bot process. Configuration comes from the environment (see
 * shared/src/config.ts); `--register` also registers the slash commands at start (in
 * DISCORD_GUILD_ID when set, else globally). SIGINT/SIGTERM stop it gracefully.
 */
import { REST } from 'discord.js';
import { createLogger, loadConfig } from '../../shared/src/index.js';
import { BotLoginError, startBot } from './bot.js';
import { deployCommands } from './cli/commands.js';
import { loadModelFacts } from './model-facts.js';

export async function run(argv: string[]): Promise<number> {
  const register = argv.includes('--register');
  const unknown = argv.filter((a) => a !== '--register');
  if (unknown.length > 0) {
    process.stderr.write(`usage: tessera bot [--register]\nunknown option: ${unknown.join(' ')}\n`);
    return 2;
  }
  const config = loadConfig();
  const log = createLogger({ level: config.LOG_LEVEL, name: 'bot' });
  if (!config.DISCORD_TOKEN) {
    process.stderr.write(
      'tessera bot: DISCORD_TOKEN is not set. Create a bot in the Discord Developer Portal (see README), or run `npm start` for the local playground.\n',
    );
    return 2;
  }
  const model = await loadModelFacts(config.RENDERER_MODEL, config.RENDERER_MODELS_DIR);
  const started = startBot({
    discord: {
      token: config.DISCORD_TOKEN,
      ...(config.DISCORD_API_BASE ? { apiBase: config.DISCORD_API_BASE } : {}),
    },
    nats: {
      url: config.NATS_URL,
      ...(config.NATS_USER ? { user: config.NATS_USER } : {}),
      ...(config.NATS_PASSWORD ? { password: config.NATS_PASSWORD } : {}),
      ...(config.NATS_TOKEN ? { token: config.NATS_TOKEN } : {}),
    },
    farm: {
      ackWaitMs: config.JOB_ACK_WAIT_MS,
      maxDeliver: config.JOB_MAX_DELIVER,
      duplicateWindowMs: config.JOB_DUPLICATE_WINDOW_MS,
      eventsMaxAgeS: config.EVENTS_MAX_AGE_S,
      resultsMaxAgeS: config.RESULTS_MAX_AGE_S,
      replicas: config.NATS_REPLICAS,
    },
    model,
    metricsPort: config.METRICS_PORT,
    log,
  });
  const bot = await started.catch((err: unknown) => {
    if (!(err instanceof BotLoginError)) throw err;
    process.stderr.write(`tessera bot: ${err.message}. Check DISCORD_TOKEN (and DISCORD_API_BASE if set).\n`);
    return undefined;
  });
  if (!bot) return 1;
  if (register) {
    const rest = new REST(config.DISCORD_API_BASE ? { api: config.DISCORD_API_BASE } : {}).setToken(
      config.DISCORD_TOKEN,
    );
    const names = await deployCommands({
      rest,
      applicationId: config.DISCORD_APP_ID ?? bot.applicationId,
      model,
      ...(config.DISCORD_GUILD_ID ? { guildId: config.DISCORD_GUILD_ID } : {}),
    });
    log.info({ commands: names, guildId: config.DISCORD_GUILD_ID }, 'slash commands registered');
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log.info('stopping');
  await bot.stop();
  return 0;
}
