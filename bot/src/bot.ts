/**
 * Builds and wires the bot: NATS (farm handles, KV stores, job feed), the discord.js client
 * (Guilds + GuildMessageReactions intents, partials for reactions on uncached messages, no
 * pings ever), the render service and the command/reaction handlers. `main.ts` calls this with
 * the environment's configuration; tests and the playground call it with a local emulator's.
 */
import { randomInt } from 'node:crypto';
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
  bindFarm,
  connectNats,
  type ConnectOptions,
  createFarmMetrics,
  jobsQueueDepth,
  startMetricsServer,
  type Farm,
  type FarmMetrics,
  type FarmSettings,
  type NatsConnection,
} from '../../shared/src/index.js';
import { ClickCooldown } from './core/click-cooldown.js';
import { createEditPacer } from './core/frame-editor.js';
import type { ModelFacts } from './core/imagine-request.js';
import { handleButtonClick, type ButtonHandlerDeps } from './discord/buttons.js';
import { clickOf, responderOf } from './discord/buttons-discord.js';
import type { BotContext } from './discord/context.js';
import { handleBlend } from './discord/blend-command.js';
import { handleHistory, handleHistoryButton } from './discord/history-command.js';
import { parseHistoryButton } from './discord/history-view.js';
import { handleImagine } from './discord/imagine-command.js';
import { DiscordMessagePort } from './discord/message-port.js';
import { handleFarm, handleQuota, handleSettings } from './discord/moderator-commands.js';
import { DiscordMembers } from './discord/permissions.js';
import { handlePreferences } from './discord/preferences-command.js';
import { handleReaction } from './discord/reactions.js';
import { handleShow } from './discord/show-command.js';
import { FarmStatus } from './nats/farm-status.js';
import { botConsumerName, startJobFeed, type JobFeed } from './nats/job-feed.js';
import { NatsImageStore, NatsJobQueue } from './nats/job-queue.js';
import { NatsPreferencesStore } from './nats/preferences-store.js';
import { NatsQuotaStore } from './nats/quota-store.js';
import { NatsRenderRecords } from './nats/render-records.js';
import { NatsGuildSettingsStore } from './nats/settings-store.js';
import { RenderService } from './render-service.js';

export interface BotOptions {
  discord: {
    token: string;
    /** REST API base (`http://127.0.0.1:PORT/api` for the local emulator); Discord's by default. */
    apiBase?: string;
  };
  /** Connection settings (`connectOptionsFromConfig`); the bot connects with the `bot` role. */
  nats: Omit<ConnectOptions, 'name' | 'role'>;
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
  /** Per-member pause between renders started from buttons (default 3000 ms; spam protection). */
  buttonCooldownMs?: number;
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

/** The bot's NATS side: the farm handles and the stores behind the ports. */
async function openFarm(options: BotOptions, now: () => number) {
  const nc: NatsConnection = await connectNats({ ...options.nats, name: 'tessera-bot', role: 'bot' });
  // The scheduler's bucket for `/farm` (its status snapshots; the bot may read nothing else there).
  const binding = { botBuckets: true, schedulerBucket: true };
  const farm = await bindFarm(nc, { ...options.farm, models: [] }, binding).catch(async (e: unknown) => {
    await nc.close().catch(() => undefined);
    throw e;
  });
  const settings = new NatsGuildSettingsStore(farm.guildSettings, options.log.child({ part: 'settings' }));
  await settings.start();
  return {
    nc,
    farm,
    jobs: new NatsJobQueue(farm),
    images: new NatsImageStore(farm),
    records: new NatsRenderRecords(farm.renderRecords),
    quotas: new NatsQuotaStore(farm.quotas, now),
    settings,
    preferences: new NatsPreferencesStore(farm.quotas),
    status: new FarmStatus(farm, now),
  };
}

function createClient(options: BotOptions): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions],
    partials: [Partials.Message, Partials.Reaction, Partials.User, Partials.GuildMember],
    allowedMentions: { parse: [] },
    rest: options.discord.apiBase ? { api: options.discord.apiBase } : undefined,
  });
}

/** Routes slash commands, buttons, modals and reactions to their handlers; a failure gets a private apology. */
function listen(client: Client, ctx: BotContext, buttons: ButtonHandlerDeps): void {
  const log = ctx.log;
  client.on(Events.InteractionCreate, (interaction) => {
    let handled: Promise<unknown>;
    if (interaction.isChatInputCommand()) handled = dispatchCommand(interaction, ctx);
    else if (interaction.isButton() && parseHistoryButton(interaction.customId))
      handled = handleHistoryButton(interaction, ctx);
    else if (interaction.isButton() || interaction.isModalSubmit())
      handled = handleButtonClick(clickOf(interaction), responderOf(interaction), buttons);
    else return;
    void handled.catch(async (err: unknown) => {
      log.error({ err, interactionId: interaction.id }, 'interaction failed');
      const answer = {
        content: '⚠️ Something went wrong on our side. Please try again.',
        flags: MessageFlags.Ephemeral,
        allowedMentions: { parse: [] },
      } as const;
      try {
        if (interaction.deferred || interaction.replied) await interaction.followUp(answer);
        else await interaction.reply(answer);
      } catch {
        // The interaction is gone; nothing more to tell.
      }
    });
  });
  client.on(Events.MessageReactionAdd, (reaction, user) => {
    const message = reaction.message;
    if (!message.guildId) return;
    const input = {
      guildId: message.guildId,
      channelId: message.channelId,
      messageId: message.id,
      userId: user.id,
      emoji: reaction.emoji.name,
    };
    void handleReaction(input, ctx).catch((err: unknown) =>
      log.error({ err, messageId: message.id }, 'reaction handling failed'),
    );
  });
  client.on(Events.Error, (err) => log.error({ err }, 'discord client error'));
}

export async function startBot(options: BotOptions): Promise<BotHandle> {
  const log = options.log;
  const now = options.now ?? Date.now;
  const nats = await openFarm(options, now);
  const client = createClient(options);
  // Prometheus metrics (METRICS_PORT): Discord edits and 429s from every REST response, queue depth.
  const metrics = createFarmMetrics({ role: 'bot', queueDepth: jobsQueueDepth(nats.farm.jsm) });
  client.rest.on('response', (request, response) => metrics.recordDiscordResponse(request, response.status));
  const metricsServer = await startMetricsServer(options.metricsPort ?? 0, metrics.registry);
  const port = new DiscordMessagePort(client.rest);
  const renders = new RenderService({
    ...nats,
    port,
    log: log.child({ part: 'renders' }),
    pacer: createEditPacer({ perSecond: options.editsPerSecond ?? 20 }),
    editMinIntervalMs: options.editMinIntervalMs,
    tokenSwitchAfterMs: options.tokenSwitchAfterMs,
    now,
    model: options.model,
  });
  const ctx: BotContext = {
    ...nats,
    renders,
    port,
    members: new DiscordMembers(client),
    botUserId: () => client.user?.id,
    model: options.model,
    log,
    now,
    randomSeed: () => randomInt(0, 2 ** 32),
  };
  listen(client, ctx, { ctx, cooldown: new ClickCooldown(options.buttonCooldownMs ?? 3000, now) });

  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    await client.login(options.discord.token);
    await ready;
  } catch (err) {
    // A bad token or an unreachable Discord: release NATS and the settings watch so the process can exit.
    nats.settings.stop();
    await client.destroy();
    await nats.nc.close().catch(() => undefined);
    await metricsServer?.close();
    throw new BotLoginError(err);
  }
  const applicationId = client.application?.id ?? client.user?.id ?? '';

  renders.start();
  const feed: JobFeed = await startJobFeed({
    farm: nats.farm,
    log: log.child({ part: 'feed' }),
    consumerName: botConsumerName(applicationId),
    handler: renders,
  });
  const resumed = await renders.resume();
  log.info({ user: client.user?.tag, applicationId, resumed }, 'bot ready');
  return botHandle(
    { client, farm: nats.farm, renders, applicationId, metrics },
    {
      async stop() {
        await feed.stop();
        await renders.stop();
        nats.settings.stop();
        await client.destroy();
        await nats.nc.drain().catch(() => undefined);
        await metricsServer?.close();
      },
      async kill() {
        nats.settings.stop();
        await client.destroy();
        await nats.nc.close().catch(() => undefined);
        await renders.stop().catch(() => undefined);
        await metricsServer?.close();
      },
    },
  );
}

/** The handle, with `stop` and `kill` each running at most once (whichever comes first). */
function botHandle(
  parts: Pick<BotHandle, 'client' | 'farm' | 'renders' | 'applicationId' | 'metrics'>,
  shutdown: Pick<BotHandle, 'stop' | 'kill'>,
): BotHandle {
  let stopped = false;
  const once = (how: () => Promise<void>) => async () => {
    if (stopped) return;
    stopped = true;
    await how();
  };
  return { ...parts, stop: once(shutdown.stop), kill: once(shutdown.kill) };
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
    case 'blend':
      return handleBlend(i, ctx);
    case 'history':
      return handleHistory(i, ctx);
    case 'show':
      return handleShow(i, ctx);
    case 'preferences':
      return handlePreferences(i, ctx);
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
