/**
 * `tessera commands deploy [--guild ID]`: registers the slash commands with Discord (globally,
 * or in one guild, where changes show up at once). Reads DISCORD_TOKEN, DISCORD_APP_ID (looked up
 * from the token when absent), DISCORD_GUILD_ID and DISCORD_API_BASE.
 */
import { REST, Routes } from 'discord.js';
import { ConfigError, loadConfig, type Config } from '../../../shared/src/index.js';
import { buildCommands } from '../discord/command-definitions.js';
import type { ModelFacts } from '../core/imagine-request.js';
import { loadModelFacts } from '../model-facts.js';

export interface DeployOptions {
  rest: REST;
  applicationId: string;
  guildId?: string;
  model: ModelFacts;
}

/** PUTs the whole command list (Discord replaces the previous one). Returns the command names. */
export async function deployCommands(options: DeployOptions): Promise<string[]> {
  const body = buildCommands(options.model);
  const route = options.guildId
    ? Routes.applicationGuildCommands(options.applicationId, options.guildId)
    : Routes.applicationCommands(options.applicationId);
  const result = (await options.rest.put(route, { body })) as { name: string }[];
  return result.map((c) => c.name);
}

function usage(): string {
  return 'usage: tessera commands deploy [--guild ID]\n\nRegisters /imagine, /blend, /history, /show, /preferences, /quota, /settings and /farm. Without --guild (or DISCORD_GUILD_ID) the commands are global (they can take up to an hour to appear).\n';
}

export async function run(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== 'deploy') {
    process.stderr.write(usage());
    return action === '--help' || action === '-h' ? 0 : 2;
  }
  let guildId: string | undefined;
  for (let k = 0; k < rest.length; k++) {
    const arg = rest[k]!;
    if (arg === '--guild') guildId = rest[++k];
    else if (arg.startsWith('--guild=')) guildId = arg.slice('--guild='.length);
    else {
      process.stderr.write(`tessera commands: unknown option ${arg}\n\n${usage()}`);
      return 2;
    }
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`tessera commands: ${e.message}\n`);
    return 2;
  }
  if (!config.DISCORD_TOKEN) {
    process.stderr.write(
      'tessera commands: DISCORD_TOKEN is not set (the bot token from the Developer Portal, Bot page).\n',
    );
    return 2;
  }
  guildId ??= config.DISCORD_GUILD_ID;
  if (guildId !== undefined && !/^\d{15,25}$/.test(guildId)) {
    process.stderr.write(
      `tessera commands: --guild expects a server id (digits), got ${JSON.stringify(guildId)}\n`,
    );
    return 2;
  }
  const rest2 = new REST(config.DISCORD_API_BASE ? { api: config.DISCORD_API_BASE } : {}).setToken(
    config.DISCORD_TOKEN,
  );
  const applicationId =
    config.DISCORD_APP_ID ?? ((await rest2.get(Routes.currentApplication())) as { id: string }).id;
  const model = await loadModelFacts(config.RENDERER_MODEL, config.RENDERER_MODELS_DIR);
  const names = await deployCommands({ rest: rest2, applicationId, model, guildId });
  process.stdout.write(
    `registered ${names.map((n) => `/${n}`).join(', ')} ${guildId ? `in guild ${guildId}` : 'globally'}\n`,
  );
  return 0;
}
