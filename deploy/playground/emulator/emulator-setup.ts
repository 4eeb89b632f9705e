/**
 * The emulator's set-up pieces: the guild and its pretend users (`populate`), the gateway
 * dispatches that follow world changes (`wireDispatches`) and `waitFor` on world changes.
 */
import { EventEmitter } from 'node:events';
import { createSnowflakeGenerator } from './snowflake.js';
import { GatewayIntent, type GatewayServer } from './gateway-server.js';
import type { DiscordEmulatorOptions, EmulatorGuildInfo, PretendUserSpec } from './emulator.js';
import {
  DEFAULT_MEMBER_PERMISSIONS,
  Permission,
  type EmulatedGuild,
  type EmulatedUser,
  type StoredMessage,
} from './model.js';
import { memberPayload, messagePayload } from './payloads.js';
import { EmulatorWorld, MessageFlag } from './world.js';

/** `waitFor(predicate)`: resolves with the predicate's first truthy value, checked on every change. */
export function createWaiter(changes: EventEmitter) {
  return <T>(
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
}

const DEFAULT_USERS: PretendUserSpec[] = [
  { name: 'alice', displayName: 'Alice' },
  { name: 'bob', displayName: 'Bob', roles: ['artist'] },
  { name: 'mia', displayName: 'Mia (moderator)', roles: ['moderator'] },
  { name: 'olivia', displayName: 'Olivia (owner)' },
];

/** Creates the bot user, the guild (roles, channels, members) and the pretend users. */
export function populate(
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
export function wireDispatches(world: EmulatorWorld, gateway: GatewayServer): void {
  const memberOf = (guildId: string | null, userId: string) => {
    if (guildId === null) return undefined;
    const g = world.guilds.get(guildId);
    const m = g?.members.get(userId);
    const u = world.users.get(userId);
    return m && u ? memberPayload(m, u) : undefined;
  };
  const visible = (m: StoredMessage) => (m.flags & MessageFlag.Ephemeral) === 0;
  const intentOf = (m: StoredMessage) =>
    m.guildId === null ? GatewayIntent.DirectMessages : GatewayIntent.GuildMessages;
  world.on('reactionAdd', ({ message, userId, emoji }) => {
    gateway.dispatch(
      'MESSAGE_REACTION_ADD',
      {
        user_id: userId,
        channel_id: message.channelId,
        message_id: message.id,
        guild_id: message.guildId ?? undefined,
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
        guild_id: message.guildId ?? undefined,
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
          ...(messagePayload(m, world) as object),
          member: memberOf(m.guildId, m.authorId),
        },
        intentOf(m),
      );
  });
  world.on('messageUpdate', (m) => {
    if (visible(m)) gateway.dispatch('MESSAGE_UPDATE', messagePayload(m, world), intentOf(m));
  });
  world.on('messageDelete', (m) => {
    if (visible(m))
      gateway.dispatch(
        'MESSAGE_DELETE',
        { id: m.id, channel_id: m.channelId, guild_id: m.guildId ?? undefined },
        intentOf(m),
      );
  });
}

/** The world: one application and its bot token, limits from the options. */
export function createWorld(options: DiscordEmulatorOptions): EmulatorWorld {
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
  return world;
}

/** One 'change' event for every world change and bot identify (what `waitFor` re-checks on). */
export function watchChanges(world: EmulatorWorld, gateway: GatewayServer): EventEmitter {
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
    'usersUpdate',
  ] as const) {
    world.on(e, notify);
  }
  gateway.onIdentify = notify;
  return changes;
}
