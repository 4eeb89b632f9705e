/**
 * `tessera bot`: the Discord bot process. Configuration comes from the environment (see
 * shared/src/config.ts); a bad value exits 2 with a message naming it. `--register` also
 * registers the slash commands at start (in DISCORD_GUILD_ID when set, else globally).
 * SIGINT/SIGTERM stop it gracefully.
 */
import { REST } from 'discord.js';
import {
  ConfigError,
  connectOptionsFromConfig,
  createLogger,
  farmSettingsFromConfig,
  loadConfig,
  type Config,
} from '../../shared/src/index.js';
import { BotLoginError, startBot, type BotOptions } from './bot.js';
import { deployCommands } from './cli/commands.js';
import type { ModelFacts } from './core/imagine-request.js';
import { loadModelFacts } from './model-facts.js';

const USAGE = 'usage: tessera bot [--register]';

/** The configuration, or a message for stderr (exit 2) when the environment is not usable. */
function configFromEnv():
  | { ok: true; config: Config & { DISCORD_TOKEN: string } }
  | { ok: false; message: string } {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      // One line for the whole list: "invalid configuration: A: expected …; B: expected …".
      const [head, ...problems] = e.message.split('\n');
      return { ok: false, message: `${head} ${problems.map((p) => p.trim()).join('; ')}` };
    }
    throw e;
  }
  const token = config.DISCORD_TOKEN;
  if (!token)
    return {
      ok: false,
      message:
        'DISCORD_TOKEN is not set. Create a bot in the Discord Developer Portal (see README), or run `npm start` for the local playground.',
    };
  return { ok: true, config: { ...config, DISCORD_TOKEN: token } };
}

async function botOptions(
  config: Config & { DISCORD_TOKEN: string },
  model: ModelFacts,
): Promise<BotOptions> {
  return {
    discord: { token: config.DISCORD_TOKEN, apiBase: config.DISCORD_API_BASE || undefined },
    nats: await connectOptionsFromConfig(config),
    // The same farm settings every process reads (replicas, the scheduler's intake when SCHEDULER=on).
    farm: farmSettingsFromConfig(config, []),
    model,
    metricsPort: config.METRICS_PORT,
    log: createLogger({ level: config.LOG_LEVEL, name: 'bot' }),
  };
}

export async function run(argv: string[]): Promise<number> {
  const register = argv.includes('--register');
  const unknown = argv.filter((a) => a !== '--register');
  if (unknown.length > 0) {
    process.stderr.write(`${USAGE}\nunknown option: ${unknown.join(' ')}\n`);
    return 2;
  }
  const loaded = configFromEnv();
  if (!loaded.ok) {
    process.stderr.write(`tessera bot: ${loaded.message}\n`);
    return 2;
  }
  const { config } = loaded;
  const model = await loadModelFacts(config.RENDERER_MODEL, config.RENDERER_MODELS_DIR);
  const options = await botOptions(config, model);
  const log = options.log;
  const bot = await startBot(options).catch((err: unknown) => {
    if (!(err instanceof BotLoginError)) throw err;
    process.stderr.write(`tessera bot: ${err.message}. Check DISCORD_TOKEN (and DISCORD_API_BASE if set).\n`);
    return undefined;
  });
  if (!bot) return 1;
  if (register) {
    // REST spreads its options over the defaults: an `api` key set to undefined would erase Discord's.
    const api = config.DISCORD_API_BASE ? { api: config.DISCORD_API_BASE } : {};
    const rest = new REST(api).setToken(config.DISCORD_TOKEN);
    const names = await deployCommands({
      rest,
      applicationId: config.DISCORD_APP_ID ?? bot.applicationId,
      model,
      guildId: config.DISCORD_GUILD_ID || undefined,
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
