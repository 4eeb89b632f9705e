/**
 * `createDiscordEmulator()`: a local fake Discord (REST over node:http + gateway over `ws`) that
 * the real discord.js 14 client talks to. It holds one application with its bot, a guild with
 * roles, channels and pretend users, records every message with its edit history, and lets tests
 * (and the playground) inject slash commands and reactions, 429 storms and token expiry.
 *
 * Point discord.js at it with `rest: { api: emulator.apiBase }`; the gateway URL comes from
 * `GET /gateway/bot`.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayIntent, GatewayServer } from './gateway-server.js';
import { buildSlashInteraction, type OptionValue } from './interactions.js';
import {
  DEFAULT_MEMBER_PERMISSIONS,
  Permission,
  type EmulatedGuild,
  type EmulatedUser,
  type StoredInteraction,
  type StoredMessage,
} from './model.js';
import { memberPayload, messagePayload } from './payloads.js';
import { RateLimiter, type Inject429Options, type RouteLimit } from './rate-limits.js';
import { RestServer, type RequestRecord } from './rest-server.js';
import { createSnowflakeGenerator } from './snowflake.js';
import { EmulatorWorld, MessageFlag, type WorldEvents } from './world.js';

export interface PretendUserSpec {
  /** Key in `emulator.users` and the username. */
  name: string;
  displayName?: string;
  /** Role keys from the emulator's roles (`moderator`, `artist`). */
  roles?: string[];
}

export interface DiscordEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  botToken?: string;
  applicationName?: string;
  guildName?: string;
  /** Pretend users; defaults to alice and bob (members), mia (moderator), and olivia (owner). */
  users?: PretendUserSpec[];
  /** Largest file accepted per attachment (Discord's default is 10 MiB). */
  attachmentSizeLimit?: number;
  /** Time to answer an interaction (Discord: 3 s). */
  interactionDeadlineMs?: number;
  /** Lifetime of interaction tokens (Discord: 15 min). */
  interactionTokenTtlMs?: number;
  /** Per-route fixed-window limit, e.g. `{ limit: 5, windowMs: 5000 }`; none by default. */
  routeLimit?: RouteLimit | null;
  /** Delay before each REST answer. */
  latencyMs?: number;
  /** Extra HTTP handler for non-API paths (the playground serves its page through this). */
  httpFallback?: (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;
}

export interface EmulatorGuildInfo {
  id: string;
  name: string;
  /** The channel slash commands come from by default (#general). */
  channelId: string;
  channels: Record<string, string>;
  roles: Record<string, string>;
  raw: EmulatedGuild;
}

export interface SlashCommandOptions {
  /** A key of `emulator.users`, or a user id. */
  user: string;
  command: string;
  subcommand?: string;
  group?: string;
  options?: Record<string, OptionValue | undefined>;
  channelId?: string;
}

export interface SentInteraction {
  id: string;
  token: string;
  record: StoredInteraction;
  /** Resolves with the interaction's original response once the bot answered (or rejects on timeout). */
  response(timeoutMs?: number): Promise<StoredMessage>;
}

export interface DiscordEmulator {
  readonly origin: string;
  readonly apiBase: string;
  readonly gatewayUrl: string;
  readonly botToken: string;
  readonly applicationId: string;
  readonly guild: EmulatorGuildInfo;
  readonly users: Record<string, EmulatedUser>;
  readonly world: EmulatorWorld;
  sendSlashCommand(options: SlashCommandOptions): SentInteraction;
  addReaction(options: { user: string; messageId: string; emoji: string }): void;
  removeReaction(options: { user: string; messageId: string; emoji: string }): void;
  /** Messages in creation order (deleted ones included, flagged), optionally for one channel. */
  messages(filter?: { channelId?: string; includeDeleted?: boolean }): StoredMessage[];
  message(id: string): StoredMessage | undefined;
  /** The Discord JSON of a message, as the API would return it. */
  messageJson(id: string): unknown;
  interaction(id: string): StoredInteraction | undefined;
  /** Makes an interaction's token invalid now: webhook routes answer 401 / 50027. */
  expireInteractionToken(interactionId: string): void;
  inject429(options: Inject429Options): void;
  setRouteLimit(limit: RouteLimit | null): void;
  setLatency(ms: number): void;
  /** Every REST request seen, in order. */
  requests(): readonly RequestRecord[];
  /** Highest number of simultaneous edit requests seen for a message. */
  maxEditsInFlight(messageId: string): number;
  count429(): number;
  /** Number of gateway sessions that identified. */
  connectedBots(): number;
  /** Resolves when `predicate` returns a value other than undefined/false (checked on every change). */
  waitFor<T>(
    predicate: () => T | undefined | false,
    options?: { timeoutMs?: number; what?: string },
  ): Promise<T>;
  on<K extends keyof WorldEvents>(event: K, listener: (...args: WorldEvents[K]) => void): void;
  off<K extends keyof WorldEvents>(event: K, listener: (...args: WorldEvents[K]) => void): void;
  close(): Promise<void>;
}

const DEFAULT_USERS: PretendUserSpec[] = [
  { name: 'alice', displayName: 'Alice' },
  { name: 'bob', displayName: 'Bob', roles: ['artist'] },
  { name: 'mia', displayName: 'Mia (moderator)', roles: ['moderator'] },
  { name: 'olivia', displayName: 'Olivia (owner)' },
];

export async function createDiscordEmulator(options: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
  const nextId = createSnowflakeGenerator(1);
  const applicationId = nextId();
  const botToken = options.botToken ?? `emulator.${applicationId}.${Math.random().toString(36).slice(2)}`;
  const world = new EmulatorWorld({
    applicationId,
    applicationName: options.applicationName ?? 'tessera',
    botToken,
    attachmentSizeLimit: options.attachmentSizeLimit ?? 10 * 1024 * 1024,
    interactionDeadlineMs: options.interactionDeadlineMs ?? 3000,
    interactionTokenTtlMs: options.interactionTokenTtlMs ?? 15 * 60_000,
    nextId,
  });
  const { guild, users } = populate(world, options);

  const limiter = new RateLimiter(options.routeLimit ?? null);
  let latencyMs = options.latencyMs ?? 0;
  let origin = '';
  const rest = new RestServer({
    world,
    limiter,
    gatewayUrl: () => `${origin.replace(/^http/, 'ws')}/gateway`,
    latencyMs: () => latencyMs,
    ...(options.httpFallback ? { fallback: options.httpFallback } : {}),
  });
  const server = createServer(rest.handle);
  const gateway = new GatewayServer({
    world,
    server,
    path: '/gateway',
    resumeUrl: () => `${origin.replace(/^http/, 'ws')}/gateway`,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  origin = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  world.origin = origin;

  wireDispatches(world, gateway);

  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const notify = () => changes.emit('change');
  for (const e of [
    'messageCreate',
    'messageUpdate',
    'messageDelete',
    'reactionAdd',
    'reactionRemove',
    'interactionUpdate',
    'commandsUpdate',
  ] as const) {
    world.on(e, notify);
  }
  gateway.onIdentify = notify;

  const userByKey = (key: string): EmulatedUser => {
    const u = users[key] ?? world.users.get(key);
    if (!u) throw new Error(`emulator: unknown user '${key}'`);
    return u;
  };

  const waitFor = <T>(
    predicate: () => T | undefined | false,
    opts: { timeoutMs?: number; what?: string } = {},
  ): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        let v: T | undefined | false;
        try {
          v = predicate();
        } catch (err) {
          cleanup();
          reject(err instanceof Error ? err : new Error(String(err)));
          return true;
        }
        if (v === undefined || v === false) return false;
        cleanup();
        resolve(v);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `emulator: timed out after ${opts.timeoutMs ?? 30_000} ms waiting for ${opts.what ?? 'condition'}`,
          ),
        );
      }, opts.timeoutMs ?? 30_000);
      // Some conditions (timers in the bot, process restarts) change without an emulator event.
      const poll = setInterval(check, 100);
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(poll);
        changes.off('change', check);
      };
      changes.on('change', check);
      check();
    });

  const emulator: DiscordEmulator = {
    origin,
    apiBase: `${origin}/api`,
    gatewayUrl: `${origin.replace(/^http/, 'ws')}/gateway`,
    botToken,
    applicationId,
    guild,
    users,
    world,
    sendSlashCommand(o) {
      const user = userByKey(o.user);
      const { interaction, payload } = buildSlashInteraction(world, {
        guild: guild.raw,
        user,
        channelId: o.channelId ?? guild.channelId,
        command: o.command,
        ...(o.subcommand ? { subcommand: o.subcommand } : {}),
        ...(o.group ? { group: o.group } : {}),
        ...(o.options ? { options: o.options } : {}),
      });
      world.addInteraction(interaction);
      const deadline = setTimeout(() => {
        if (interaction.state === 'pending') {
          interaction.state = 'failed';
          world.emit('interactionUpdate', interaction);
        }
      }, world.options.interactionDeadlineMs + 50);
      deadline.unref();
      world.emit('interactionCreate', interaction, payload);
      gateway.dispatch('INTERACTION_CREATE', payload);
      return {
        id: interaction.id,
        token: interaction.token,
        record: interaction,
        response: (timeoutMs = 10_000) =>
          waitFor(
            () => {
              if (interaction.state === 'failed')
                throw new Error(`interaction ${interaction.id} was not answered within the deadline`);
              const m = interaction.originalMessageId
                ? world.messages.get(interaction.originalMessageId)
                : undefined;
              return m;
            },
            { timeoutMs, what: `a response to /${interaction.commandName}` },
          ),
      };
    },
    addReaction({ user, messageId, emoji }) {
      world.addReaction(world.message(null, messageId), userByKey(user).id, emoji);
    },
    removeReaction({ user, messageId, emoji }) {
      world.removeReaction(world.message(null, messageId), userByKey(user).id, emoji);
    },
    messages(filter = {}) {
      return [...world.messages.values()].filter(
        (m) =>
          (filter.includeDeleted || !m.deleted) && (!filter.channelId || m.channelId === filter.channelId),
      );
    },
    message: (id) => world.messages.get(id),
    messageJson: (id) => {
      const m = world.messages.get(id);
      return m ? messagePayload(m, world.users, applicationId) : undefined;
    },
    interaction: (id) => world.interactions.get(id),
    expireInteractionToken(id) {
      const i = world.interactions.get(id);
      if (!i) throw new Error(`emulator: unknown interaction ${id}`);
      i.tokenExpired = true;
      world.emit('interactionUpdate', i);
    },
    inject429: (o) => limiter.inject(o),
    setRouteLimit: (l) => {
      limiter.routeLimit = l;
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    requests: () => rest.log,
    maxEditsInFlight: (id) => rest.maxInFlight.get(id) ?? 0,
    count429: () => limiter.total429(),
    connectedBots: () => gateway.connected,
    waitFor,
    on: (event, listener) => void world.on(event, listener as never),
    off: (event, listener) => void world.off(event, listener as never),
    async close() {
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      world.removeAllListeners();
    },
  };
  return emulator;
}

/** Creates the bot user, the guild (roles, channels, members) and the pretend users. */
function populate(
  world: EmulatorWorld,
  options: DiscordEmulatorOptions,
): { guild: EmulatorGuildInfo; users: Record<string, EmulatedUser> } {
  const bot: EmulatedUser = {
    id: world.applicationId,
    username: options.applicationName ?? 'tessera',
    globalName: null,
    bot: true,
  };
  world.users.set(bot.id, bot);
  const guildId = world.nextId();
  const joinedAt = new Date().toISOString();
  const guild: EmulatedGuild = {
    id: guildId,
    name: options.guildName ?? 'tessera playground',
    ownerId: '',
    roles: new Map(),
    members: new Map(),
    channels: new Map(),
  };
  const roleIds: Record<string, string> = { everyone: guildId };
  guild.roles.set(guildId, {
    id: guildId,
    name: '@everyone',
    permissions: DEFAULT_MEMBER_PERMISSIONS,
    position: 0,
    color: 0,
  });
  const addRole = (key: string, name: string, permissions: bigint, position: number, color: number) => {
    const id = world.nextId();
    roleIds[key] = id;
    guild.roles.set(id, { id, name, permissions, position, color });
  };
  addRole('moderator', 'Moderator', Permission.ManageGuild | Permission.ManageMessages, 2, 0x3498db);
  addRole('artist', 'Artist', 0n, 1, 0xe67e22);
  addRole(
    'bot',
    'tessera',
    Permission.ViewChannel |
      Permission.SendMessages |
      Permission.AddReactions |
      Permission.AttachFiles |
      Permission.EmbedLinks |
      Permission.ReadMessageHistory |
      Permission.UseExternalEmojis,
    3,
    0,
  );
  const channelIds: Record<string, string> = {};
  ['general', 'art', 'off-topic'].forEach((name, position) => {
    const id = world.nextId();
    channelIds[name] = id;
    guild.channels.set(id, { id, guildId, name, type: 0, position });
  });
  guild.members.set(bot.id, { userId: bot.id, roleIds: [roleIds.bot!], nick: null, joinedAt });

  const users: Record<string, EmulatedUser> = {};
  for (const spec of options.users ?? DEFAULT_USERS) {
    const user: EmulatedUser = {
      id: world.nextId(),
      username: spec.name,
      globalName: spec.displayName ?? spec.name,
      bot: false,
    };
    world.users.set(user.id, user);
    users[spec.name] = user;
    const roles = (spec.roles ?? []).map((r) => {
      const id = roleIds[r];
      if (!id) throw new Error(`emulator: unknown role '${r}' for user ${spec.name}`);
      return id;
    });
    guild.members.set(user.id, { userId: user.id, roleIds: roles, nick: null, joinedAt });
  }
  guild.ownerId = users.olivia?.id ?? Object.values(users)[0]?.id ?? bot.id;
  world.guilds.set(guildId, guild);
  return {
    guild: {
      id: guildId,
      name: guild.name,
      channelId: channelIds.general!,
      channels: channelIds,
      roles: roleIds,
      raw: guild,
    },
    users,
  };
}

/** Turns world changes into gateway dispatches, honouring intents like Discord. */
function wireDispatches(world: EmulatorWorld, gateway: GatewayServer): void {
  const memberOf = (guildId: string, userId: string) => {
    const g = world.guilds.get(guildId);
    const m = g?.members.get(userId);
    const u = world.users.get(userId);
    return m && u ? memberPayload(m, u) : undefined;
  };
  const visible = (m: StoredMessage) => (m.flags & MessageFlag.Ephemeral) === 0;
  world.on('reactionAdd', ({ message, userId, emoji }) => {
    gateway.dispatch(
      'MESSAGE_REACTION_ADD',
      {
        user_id: userId,
        channel_id: message.channelId,
        message_id: message.id,
        guild_id: message.guildId,
        member: memberOf(message.guildId, userId),
        emoji: { id: null, name: emoji },
        message_author_id: message.authorId,
        burst: false,
        burst_colors: [],
        type: 0,
      },
      GatewayIntent.GuildMessageReactions,
    );
  });
  world.on('reactionRemove', ({ message, userId, emoji }) => {
    gateway.dispatch(
      'MESSAGE_REACTION_REMOVE',
      {
        user_id: userId,
        channel_id: message.channelId,
        message_id: message.id,
        guild_id: message.guildId,
        emoji: { id: null, name: emoji },
        burst: false,
        type: 0,
      },
      GatewayIntent.GuildMessageReactions,
    );
  });
  world.on('messageCreate', (m) => {
    if (visible(m))
      gateway.dispatch(
        'MESSAGE_CREATE',
        {
          ...(messagePayload(m, world.users, world.applicationId) as object),
          member: memberOf(m.guildId, m.authorId),
        },
        GatewayIntent.GuildMessages,
      );
  });
  world.on('messageUpdate', (m) => {
    if (visible(m))
      gateway.dispatch(
        'MESSAGE_UPDATE',
        messagePayload(m, world.users, world.applicationId),
        GatewayIntent.GuildMessages,
      );
  });
  world.on('messageDelete', (m) => {
    if (visible(m))
      gateway.dispatch(
        'MESSAGE_DELETE',
        { id: m.id, channel_id: m.channelId, guild_id: m.guildId },
        GatewayIntent.GuildMessages,
      );
  });
}
