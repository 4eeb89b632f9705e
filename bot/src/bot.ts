/**
 * Builds and wires the bot: NATS (farm handles, KV stores, job feed), the discord.js client
 * (Guilds + GuildMessageReactions intents, partials for reactions on uncached messages, no
 * pings ever), the render service and the command/reaction handlers. `main.ts` calls this with
 * the environment's configuration; tests and the playground call it with a local emulator's.
 */
import { randomInt } from 'node:crypto';
import { Kvm } from '@nats-io/kv';
import {
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Partials,
  type ChatInputCommandInteraction,
} from 'discord.js';
import type { Logger } from 'pino';
import {
  connectNats,
  createFarmMetrics,
  ensureFarm,
  jobsQueueDepth,
  startMetricsServer,
  type Farm,
  type FarmMetrics,
  type FarmSettings,
  type NatsConnection,
} from '../../shared/src/index.js';
import { createEditPacer } from './core/frame-editor.js';
import type { ModelFacts } from './core/imagine-request.js';
import type { BotContext } from './discord/context.js';
import { handleImagine } from './discord/imagine-command.js';
import { DiscordMessagePort } from './discord/message-port.js';
import { handleFarm, handleQuota, handleSettings } from './discord/moderator-commands.js';
import { handleReaction } from './discord/reactions.js';
import { FarmStatus } from './nats/farm-status.js';
import { botConsumerName, startJobFeed, type JobFeed } from './nats/job-feed.js';
import { NatsQuotaStore } from './nats/quota-store.js';
import { openRenderRecords } from './nats/render-records.js';
import { NatsGuildSettingsStore } from './nats/settings-store.js';
import { RenderService } from './render-service.js';

export interface BotOptions {
  discord: {
    token: string;
    /** REST API base (`http://127.0.0.1:PORT/api` for the local emulator); Discord's by default. */
    apiBase?: string;
  };
  nats: { url: string; user?: string; password?: string; token?: string };
  farm: Omit<FarmSettings, 'models'>;
  model: ModelFacts;
  log: Logger;
  /** Minimum time between edits of one message (default 1000 ms). */
  editMinIntervalMs?: number;
  /** Edits per second across all messages (default 20). */
  editsPerSecond?: number;
  /** Switch from the interaction token to the channel message after this long (default 14 min). */
  tokenSwitchAfterMs?: number;
  now?: () => number;
  /** Port of the Prometheus `/metrics` endpoint (METRICS_PORT); 0 or absent: off. */
  metricsPort?: number;
}

export interface BotHandle {
  readonly client: Client;
  readonly farm: Farm;
  readonly renders: RenderService;
  readonly applicationId: string;
  readonly metrics: FarmMetrics;
  /** Graceful: stop taking events, let edits in flight land, disconnect. */
  stop(): Promise<void>;
  /** Abrupt, like a killed process: drops everything in flight (for restart tests). */
  kill(): Promise<void>;
}

export async function startBot(options: BotOptions): Promise<BotHandle> {
  const log = options.log;
  const now = options.now ?? Date.now;
  const nc: NatsConnection = await connectNats({
    url: options.nats.url,
    name: 'tessera-bot',
    ...(options.nats.user ? { user: options.nats.user } : {}),
    ...(options.nats.password ? { password: options.nats.password } : {}),
    ...(options.nats.token ? { token: options.nats.token } : {}),
  });
  const farm = await ensureFarm(nc, { ...options.farm, models: [] });
  const records = await openRenderRecords(new Kvm(farm.js), options.farm.resultsMaxAgeS * 1000);
  const quotas = new NatsQuotaStore(farm.quotas, now);
  const settings = new NatsGuildSettingsStore(farm.guildSettings, log.child({ part: 'settings' }));
  await settings.start();
  const status = new FarmStatus(farm, now);

  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions],
    partials: [Partials.Message, Partials.Reaction, Partials.User, Partials.GuildMember],
    allowedMentions: { parse: [] },
    ...(options.discord.apiBase ? { rest: { api: options.discord.apiBase } } : {}),
  });
  const metrics = createFarmMetrics({ role: 'bot', queueDepth: jobsQueueDepth(farm.jsm) });
  client.rest.on('response', (request, response) => metrics.recordDiscordResponse(request, response.status));
  const metricsServer = await startMetricsServer(options.metricsPort ?? 0, metrics.registry);
  const port = new DiscordMessagePort(client.rest);
  const renders = new RenderService({
    farm,
    records,
    quotas,
    port,
    status,
    log: log.child({ part: 'renders' }),
    pacer: createEditPacer({ perSecond: options.editsPerSecond ?? 20 }),
    ...(options.editMinIntervalMs !== undefined ? { editMinIntervalMs: options.editMinIntervalMs } : {}),
    ...(options.tokenSwitchAfterMs !== undefined ? { tokenSwitchAfterMs: options.tokenSwitchAfterMs } : {}),
    now,
  });
  const ctx: BotContext = {
    client,
    farm,
    records,
    quotas,
    settings,
    renders,
    port,
    status,
    model: options.model,
    log,
    now,
    randomSeed: () => randomInt(0, 2 ** 32),
  };

  client.on(Events.InteractionCreate, (interaction) => {
    if (!interaction.isChatInputCommand()) return;
    void dispatchCommand(interaction, ctx).catch(async (err: unknown) => {
      log.error({ err, command: interaction.commandName }, 'command failed');
      const content = '⚠️ Something went wrong on our side. Please try again.';
      try {
        if (interaction.deferred || interaction.replied)
          await interaction.followUp({
            content,
            flags: MessageFlags.Ephemeral,
            allowedMentions: { parse: [] },
          });
        else
          await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
      } catch {
        // The interaction is gone; nothing more to tell.
      }
    });
  });
  client.on(Events.MessageReactionAdd, (reaction, user) => {
    const message = reaction.message;
    if (!message.guildId) return;
    void handleReaction(
      {
        guildId: message.guildId,
        channelId: message.channelId,
        messageId: message.id,
        userId: user.id,
        emoji: reaction.emoji.name,
      },
      ctx,
    ).catch((err: unknown) => log.error({ err, messageId: message.id }, 'reaction handling failed'));
  });
  client.on(Events.Error, (err) => log.error({ err }, 'discord client error'));

  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    await client.login(options.discord.token);
    await ready;
  } catch (err) {
    // A bad token or an unreachable Discord: release NATS and the settings watch so the process can exit.
    settings.stop();
    await client.destroy();
    await nc.close().catch(() => undefined);
    await metricsServer?.close();
    throw new BotLoginError(err);
  }
  const applicationId = client.application?.id ?? client.user?.id ?? '';

  renders.start();
  const feed: JobFeed = await startJobFeed({
    farm,
    log: log.child({ part: 'feed' }),
    consumerName: botConsumerName(applicationId),
    handler: renders,
  });
  const resumed = await renders.resume();
  log.info({ user: client.user?.tag, applicationId, resumed }, 'bot ready');

  let stopped = false;
  return {
    client,
    farm,
    renders,
    applicationId,
    metrics,
    async stop() {
      if (stopped) return;
      stopped = true;
      await feed.stop();
      await renders.stop();
      settings.stop();
      await client.destroy();
      await nc.drain().catch(() => undefined);
      await metricsServer?.close();
    },
    async kill() {
      if (stopped) return;
      stopped = true;
      settings.stop();
      await client.destroy();
      await nc.close().catch(() => undefined);
      await renders.stop().catch(() => undefined);
      await metricsServer?.close();
    },
  };
}

async function dispatchCommand(i: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  switch (i.commandName) {
    case 'imagine':
      return handleImagine(i, ctx);
    case 'quota':
      return handleQuota(i, ctx);
    case 'settings':
      return handleSettings(i, ctx);
    case 'farm':
      return handleFarm(i, ctx);
    default:
      await i.reply({ content: 'Unknown command.', flags: MessageFlags.Ephemeral });
  }
}

/** Discord refused the login (bad token) or could not be reached. */
export class BotLoginError extends Error {
  override readonly name = 'BotLoginError';
  constructor(cause: unknown) {
    super(`could not log in to Discord: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}
