import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayServer } from './gateway-server.js';
import { buildSlashInteraction, type OptionValue } from './interactions.js';
import type { EmulatedGuild, EmulatedUser, StoredInteraction, StoredMessage } from './model.js';
import { messagePayload } from './payloads.js';
import { RateLimiter, type Inject429Options, type RouteLimit } from './rate-limits.js';
import { RestServer, type RequestRecord } from './rest-server.js';
import type { EmulatorWorld, WorldEvents } from './world.js';
import { createWaiter, createWorld, populate, watchChanges, wireDispatches } from './emulator-setup.js';

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
  /** Names of further guilds with the same roles, channels and members (one bot in several servers). */
  moreGuilds?: string[];
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
  /** One of `emulator.guilds` (default: `emulator.guild`). */
  guildId?: string;
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
  /** Every guild: `guild` first, then `moreGuilds`. */
  readonly guilds: readonly EmulatorGuildInfo[];
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

export async function createDiscordEmulator(options: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
  const world = createWorld(options);
  const { applicationId } = world;
  const { botToken } = world.options;
  const { guild, guilds, users } = populate(world, options);
  const limiter = new RateLimiter(options.routeLimit ?? null);
  let latencyMs = options.latencyMs ?? 0;
  let origin = '';
  const rest = new RestServer({
    world,
    limiter,
    gatewayUrl: () => `${origin.replace(/^http/, 'ws')}/gateway`,
    latencyMs: () => latencyMs,
    fallback: options.httpFallback,
  });
  const server = createServer(rest.handle);
  const gateway = new GatewayServer({
    world,
    server,
    path: '/gateway',
    resumeUrl: () => `${origin.replace(/^http/, 'ws')}/gateway`,
  });
  origin = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  world.origin = origin;

  wireDispatches(world, gateway);

  const changes = watchChanges(world, gateway);
  const userByKey = (key: string): EmulatedUser => {
    const u = users[key] ?? world.users.get(key);
    if (!u) throw new Error(`emulator: unknown user '${key}'`);
    return u;
  };

  const waitFor = createWaiter(changes);

  const emulator: DiscordEmulator = {
    origin,
    apiBase: `${origin}/api`,
    gatewayUrl: `${origin.replace(/^http/, 'ws')}/gateway`,
    botToken,
    applicationId,
    guild,
    guilds,
    users,
    world,
    sendSlashCommand: (o) => sendSlashCommand({ world, gateway, guilds, waitFor }, userByKey(o.user), o),
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

/** Builds a slash-command interaction from `user`, dispatches it, and fails it at the deadline. */
function sendSlashCommand(
  ctx: {
    world: EmulatorWorld;
    gateway: GatewayServer;
    /** The first is the default guild. */
    guilds: EmulatorGuildInfo[];
    waitFor: ReturnType<typeof createWaiter>;
  },
  user: EmulatedUser,
  o: SlashCommandOptions,
): SentInteraction {
  const { world, gateway, waitFor } = ctx;
  const guild = o.guildId === undefined ? ctx.guilds[0] : ctx.guilds.find((g) => g.id === o.guildId);
  if (!guild) throw new Error(`emulator: unknown guild '${o.guildId}'`);
  const { interaction, payload } = buildSlashInteraction(world, {
    guild: guild.raw,
    user,
    channelId: o.channelId ?? guild.channelId,
    command: o.command,
    subcommand: o.subcommand || undefined,
    group: o.group || undefined,
    options: o.options,
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
}

/** Listens on host:port (0: a free port) and returns the `http://host:port` origin. */
async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}
