import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayServer } from './gateway-server.js';
import type { StoredModal } from './modals.js';
import {
  pretendUserActions,
  sendSlashCommand,
  type ClickOptions,
  type InteractionContext,
  type ModalSubmitOptions,
  type SelectOptions,
  type SentInteraction,
  type SlashCommandOptions,
} from './emulator-interactions.js';
import type { DmChannel, EmulatedGuild, EmulatedUser, StoredInteraction, StoredMessage } from './model.js';
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
  /**
   * Clicks a button of a message as a user: INTERACTION_CREATE type 3. Throws EmulatorInputError
   * (and dispatches nothing) for a disabled, missing or link button.
   */
  clickButton(options: ClickOptions): SentInteraction;
  /** Picks values in a string select of a message as a user (type 3, component_type 3). */
  selectOption(options: SelectOptions): SentInteraction;
  /** The modal an interaction was answered with (callback type 9), if any. */
  modalOf(interactionId: string): StoredModal | undefined;
  /** Submits that modal with values (MODAL_SUBMIT, type 5); throws EmulatorInputError when invalid. */
  submitModal(options: ModalSubmitOptions): SentInteraction;
  /** The DM channel the bot opened with a user (a key of `users` or an id), if any. */
  dmChannel(user: string): DmChannel | undefined;
  /** Messages in the bot's DM channel with a user, in creation order. */
  dmsOf(user: string): StoredMessage[];
  /** "Allow direct messages" off for a user: the bot's posts to their DM fail with 403 / 50007. */
  setDmsClosed(user: string, closed: boolean): void;
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
  const { guild, users } = populate(world, options);

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
  const ictx: InteractionContext = { world, gateway, guild: guild.raw, waitFor };

  const emulator: DiscordEmulator = {
    origin,
    apiBase: `${origin}/api`,
    gatewayUrl: `${origin.replace(/^http/, 'ws')}/gateway`,
    botToken,
    applicationId,
    guild,
    users,
    world,
    sendSlashCommand: (o) =>
      sendSlashCommand(ictx, userByKey(o.user), { ...o, channelId: o.channelId ?? guild.channelId }),
    ...pretendUserActions(ictx, userByKey),
    addReaction({ user, messageId, emoji }) {
      world.addReaction(world.message(null, messageId), userByKey(user).id, emoji);
    },
    removeReaction({ user, messageId, emoji }) {
      world.removeReaction(world.message(null, messageId), userByKey(user).id, emoji);
    },
    ...recordQueries(world),
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

/** Reading the world's record: messages, their Discord JSON, interactions (and expiring a token). */
function recordQueries(
  world: EmulatorWorld,
): Pick<DiscordEmulator, 'messages' | 'message' | 'messageJson' | 'interaction' | 'expireInteractionToken'> {
  return {
    messages(filter = {}) {
      return [...world.messages.values()].filter(
        (m) =>
          (filter.includeDeleted || !m.deleted) && (!filter.channelId || m.channelId === filter.channelId),
      );
    },
    message: (id) => world.messages.get(id),
    messageJson: (id) => {
      const m = world.messages.get(id);
      return m ? messagePayload(m, world) : undefined;
    },
    interaction: (id) => world.interactions.get(id),
    expireInteractionToken(id) {
      const i = world.interactions.get(id);
      if (!i) throw new Error(`emulator: unknown interaction ${id}`);
      i.tokenExpired = true;
      world.emit('interactionUpdate', i);
    },
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
