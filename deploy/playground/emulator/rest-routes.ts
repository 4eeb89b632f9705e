/**
 * The REST routes discord.js 14 uses for a slash-command bot, answered from the emulator's world.
 * Each handler gets the path parameters and the parsed request; it returns `[status, json]` or
 * throws an `EmulatedApiError`.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding
 */
import {
  EmulatedApiError,
  alreadyAcknowledged,
  notAuthor,
  unknownInteraction,
  unknownMessage,
} from './errors.js';
import { asMessageBody } from './http-util.js';
import type { RegisteredCommand, RegisteredOption, StoredInteraction, StoredMessage } from './model.js';
import {
  channelPayload,
  guildCreatePayload,
  memberPayload,
  messagePayload,
  rolePayload,
  userPayload,
} from './payloads.js';
import { MessageFlag, type EmulatorWorld, type UploadedFile } from './world.js';

export interface RouteRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  files: UploadedFile[];
  /** The bot token from `Authorization: Bot …`, when present and valid. */
  authed: boolean;
}

export interface RouteContext {
  world: EmulatorWorld;
  gatewayUrl: () => string;
}

export type RouteResult = [status: number, body: unknown];

export interface RouteDef {
  method: string;
  /** Path template after `/api/v10`, `:name` for parameters. */
  path: string;
  /** Bot routes need `Authorization: Bot <token>`; webhook and callback routes carry none. */
  auth: boolean;
  /** The parameter Discord buckets by. */
  major?: string;
  handle: (ctx: RouteContext, req: RouteRequest) => RouteResult | Promise<RouteResult>;
}

const msg = (ctx: RouteContext, m: StoredMessage): unknown =>
  messagePayload(m, ctx.world.users, ctx.world.applicationId);

/** The message an interaction webhook route refers to (`@original` or a follow-up id). */
function webhookMessage(ctx: RouteContext, interaction: StoredInteraction, id: string): StoredMessage {
  const messageId = id === '@original' ? interaction.originalMessageId : id;
  if (!messageId) throw unknownMessage();
  const m = ctx.world.message(null, messageId);
  if (m.interactionId !== interaction.id) throw unknownMessage();
  return m;
}

function commandFromBody(
  ctx: RouteContext,
  raw: Record<string, unknown>,
  guildId: string | null,
): RegisteredCommand {
  const name = String(raw.name ?? '');
  if (!/^[-_\p{L}\p{N}]{1,32}$/u.test(name))
    throw new EmulatedApiError(400, 50035, 'Invalid Form Body', {
      name: { _errors: [{ code: 'APPLICATION_COMMAND_INVALID_NAME', message: 'Command name is invalid' }] },
    });
  const existing = [...ctx.world.commands.values()].find((c) => c.name === name && c.guildId === guildId);
  const perms = raw.default_member_permissions;
  return {
    id: existing?.id ?? ctx.world.nextId(),
    applicationId: ctx.world.applicationId,
    guildId,
    name,
    description: String(raw.description ?? ''),
    options: (raw.options as RegisteredOption[] | undefined) ?? [],
    defaultMemberPermissions: perms === undefined || perms === null ? null : String(perms),
    type: Number(raw.type ?? 1),
    version: ctx.world.nextId(),
  };
}

function commandPayload(c: RegisteredCommand) {
  return {
    id: c.id,
    application_id: c.applicationId,
    guild_id: c.guildId ?? undefined,
    name: c.name,
    description: c.description,
    options: c.options,
    default_member_permissions: c.defaultMemberPermissions,
    type: c.type,
    version: c.version,
    nsfw: false,
    contexts: null,
    integration_types: [0],
  };
}

function putCommands(ctx: RouteContext, req: RouteRequest, guildId: string | null): RouteResult {
  if (!Array.isArray(req.body)) throw new EmulatedApiError(400, 50035, 'Invalid Form Body');
  const next = (req.body as Record<string, unknown>[]).map((raw) => commandFromBody(ctx, raw, guildId));
  for (const [id, c] of ctx.world.commands) if (c.guildId === guildId) ctx.world.commands.delete(id);
  for (const c of next) ctx.world.commands.set(c.id, c);
  ctx.world.emit('commandsUpdate', [...ctx.world.commands.values()]);
  return [200, next.map(commandPayload)];
}

function requireApp(ctx: RouteContext, app: string | undefined): void {
  if (app !== ctx.world.applicationId) throw new EmulatedApiError(404, 10002, 'Unknown Application');
}

export const routes: RouteDef[] = [
  {
    method: 'GET',
    path: '/gateway/bot',
    auth: true,
    handle: (ctx) => [
      200,
      {
        url: ctx.gatewayUrl(),
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
      },
    ],
  },
  { method: 'GET', path: '/gateway', auth: false, handle: (ctx) => [200, { url: ctx.gatewayUrl() }] },
  {
    method: 'GET',
    path: '/users/@me',
    auth: true,
    handle: (ctx) => [200, userPayload(ctx.world.users.get(ctx.world.applicationId)!)],
  },
  {
    method: 'GET',
    path: '/users/:user',
    auth: true,
    handle: (ctx, req) => {
      const u = ctx.world.users.get(req.params.user!);
      if (!u) throw new EmulatedApiError(404, 10013, 'Unknown User');
      return [200, userPayload(u)];
    },
  },
  {
    method: 'GET',
    path: '/applications/@me',
    auth: true,
    handle: (ctx) => [
      200,
      {
        id: ctx.world.applicationId,
        name: ctx.world.options.applicationName,
        description: '',
        flags: 0,
        bot_public: true,
        bot_require_code_grant: false,
        verify_key: '0',
        team: null,
        icon: null,
      },
    ],
  },
  {
    method: 'GET',
    path: '/applications/:app/commands',
    auth: true,
    handle: (ctx, req) => (
      requireApp(ctx, req.params.app),
      [200, [...ctx.world.commands.values()].filter((c) => c.guildId === null).map(commandPayload)]
    ),
  },
  {
    method: 'PUT',
    path: '/applications/:app/commands',
    auth: true,
    handle: (ctx, req) => (requireApp(ctx, req.params.app), putCommands(ctx, req, null)),
  },
  {
    method: 'GET',
    path: '/applications/:app/guilds/:guild/commands',
    auth: true,
    major: 'guild',
    handle: (ctx, req) => (
      requireApp(ctx, req.params.app),
      [
        200,
        [...ctx.world.commands.values()].filter((c) => c.guildId === req.params.guild).map(commandPayload),
      ]
    ),
  },
  {
    method: 'PUT',
    path: '/applications/:app/guilds/:guild/commands',
    auth: true,
    major: 'guild',
    handle: (ctx, req) => {
      requireApp(ctx, req.params.app);
      if (!ctx.world.guilds.has(req.params.guild!)) throw new EmulatedApiError(404, 10004, 'Unknown Guild');
      return putCommands(ctx, req, req.params.guild!);
    },
  },

  // Interaction callback: the first (and only) response, within the deadline.
  {
    method: 'POST',
    path: '/interactions/:interaction/:token/callback',
    auth: false,
    major: 'interaction',
    handle: (ctx, req) => {
      const i = ctx.world.interaction(req.params.interaction!, req.params.token!);
      if (i.state === 'failed') throw unknownInteraction();
      if (ctx.world.now() - i.createdAt > ctx.world.options.interactionDeadlineMs) {
        i.state = 'failed';
        ctx.world.emit('interactionUpdate', i);
        throw unknownInteraction();
      }
      if (i.state !== 'pending') throw alreadyAcknowledged();
      const type = Number(req.body.type);
      const data = asMessageBody((req.body.data as Record<string, unknown> | undefined) ?? {});
      let message: StoredMessage;
      if (type === 4) {
        message = ctx.world.createMessage({
          channelId: i.channelId,
          authorId: ctx.world.applicationId,
          body: data,
          files: req.files,
          via: 'interaction-callback',
          interactionId: i.id,
        });
        i.state = 'replied';
      } else if (type === 5) {
        const flags = (data.flags ?? 0) & MessageFlag.Ephemeral;
        message = ctx.world.createMessage({
          channelId: i.channelId,
          authorId: ctx.world.applicationId,
          body: { content: '' },
          files: [],
          via: 'interaction-callback',
          interactionId: i.id,
          extraFlags: flags | MessageFlag.Loading,
        });
        i.state = 'deferred';
        i.deferredFlags = flags;
      } else {
        throw new EmulatedApiError(
          400,
          50035,
          `Interaction callback type ${type} is not supported by the emulator`,
        );
      }
      i.originalMessageId = message.id;
      ctx.world.emit('interactionUpdate', i);
      if (req.query.get('with_response') !== 'true') return [204, null];
      return [
        200,
        {
          interaction: {
            id: i.id,
            type: 2,
            response_message_id: message.id,
            response_message_loading: type === 5,
            response_message_ephemeral: (message.flags & MessageFlag.Ephemeral) !== 0,
          },
          resource: { type, message: msg(ctx, message) },
        },
      ];
    },
  },

  // Interaction webhooks: the original response and follow-ups, authorised by the token alone.
  {
    method: 'POST',
    path: '/webhooks/:app/:token',
    auth: false,
    major: 'token',
    handle: (ctx, req) => {
      const i = ctx.world.interactionByToken(req.params.app!, req.params.token!);
      const body = asMessageBody(req.body);
      const original = i.originalMessageId ? ctx.world.messages.get(i.originalMessageId) : undefined;
      // The first follow-up after a deferred reply replaces the "thinking…" placeholder.
      if (original && !original.deleted && (original.flags & MessageFlag.Loading) !== 0) {
        return [200, msg(ctx, ctx.world.editMessage(original, body, req.files, 'webhook'))];
      }
      const m = ctx.world.createMessage({
        channelId: i.channelId,
        authorId: ctx.world.applicationId,
        body,
        files: req.files,
        via: 'webhook',
        interactionId: i.id,
      });
      return [200, msg(ctx, m)];
    },
  },
  {
    method: 'GET',
    path: '/webhooks/:app/:token/messages/:message',
    auth: false,
    major: 'token',
    handle: (ctx, req) => {
      const i = ctx.world.interactionByToken(req.params.app!, req.params.token!);
      return [200, msg(ctx, webhookMessage(ctx, i, req.params.message!))];
    },
  },
  {
    method: 'PATCH',
    path: '/webhooks/:app/:token/messages/:message',
    auth: false,
    major: 'token',
    handle: (ctx, req) => {
      const i = ctx.world.interactionByToken(req.params.app!, req.params.token!);
      const m = webhookMessage(ctx, i, req.params.message!);
      return [200, msg(ctx, ctx.world.editMessage(m, asMessageBody(req.body), req.files, 'webhook'))];
    },
  },
  {
    method: 'DELETE',
    path: '/webhooks/:app/:token/messages/:message',
    auth: false,
    major: 'token',
    handle: (ctx, req) => {
      const i = ctx.world.interactionByToken(req.params.app!, req.params.token!);
      ctx.world.deleteMessage(webhookMessage(ctx, i, req.params.message!));
      return [204, null];
    },
  },

  // Channels and their messages, with the bot token.
  {
    method: 'GET',
    path: '/channels/:channel',
    auth: true,
    major: 'channel',
    handle: (ctx, req) => [200, channelPayload(ctx.world.channel(req.params.channel!).channel)],
  },
  {
    method: 'GET',
    path: '/channels/:channel/messages',
    auth: true,
    major: 'channel',
    handle: (ctx, req) => {
      ctx.world.channel(req.params.channel!);
      const limit = Math.min(100, Number(req.query.get('limit') ?? 50));
      const list = [...ctx.world.messages.values()]
        .filter(
          (m) => m.channelId === req.params.channel && !m.deleted && (m.flags & MessageFlag.Ephemeral) === 0,
        )
        .reverse()
        .slice(0, limit);
      return [200, list.map((m) => msg(ctx, m))];
    },
  },
  {
    method: 'POST',
    path: '/channels/:channel/messages',
    auth: true,
    major: 'channel',
    handle: (ctx, req) => {
      const m = ctx.world.createMessage({
        channelId: req.params.channel!,
        authorId: ctx.world.applicationId,
        body: asMessageBody(req.body),
        files: req.files,
        via: 'channel',
      });
      return [200, msg(ctx, m)];
    },
  },
  {
    method: 'GET',
    path: '/channels/:channel/messages/:message',
    auth: true,
    major: 'channel',
    handle: (ctx, req) => {
      const m = ctx.world.message(req.params.channel!, req.params.message!);
      if ((m.flags & MessageFlag.Ephemeral) !== 0) throw unknownMessage();
      return [200, msg(ctx, m)];
    },
  },
  {
    method: 'PATCH',
    path: '/channels/:channel/messages/:message',
    auth: true,
    major: 'channel',
    handle: (ctx, req) => {
      const m = ctx.world.message(req.params.channel!, req.params.message!);
      if ((m.flags & MessageFlag.Ephemeral) !== 0) throw unknownMessage();
      if (m.authorId !== ctx.world.applicationId) throw notAuthor();
      return [200, msg(ctx, ctx.world.editMessage(m, asMessageBody(req.body), req.files, 'channel'))];
    },
  },
  {
    method: 'DELETE',
    path: '/channels/:channel/messages/:message',
    auth: true,
    major: 'channel',
    handle: (ctx, req) => {
      ctx.world.deleteMessage(ctx.world.message(req.params.channel!, req.params.message!));
      return [204, null];
    },
  },
  {
    method: 'PUT',
    path: '/channels/:channel/messages/:message/reactions/:emoji/@me',
    auth: true,
    major: 'channel',
    handle: (ctx, req) => {
      ctx.world.addReaction(
        ctx.world.message(req.params.channel!, req.params.message!),
        ctx.world.applicationId,
        decodeURIComponent(req.params.emoji!),
      );
      return [204, null];
    },
  },
  {
    method: 'DELETE',
    path: '/channels/:channel/messages/:message/reactions/:emoji/:user',
    auth: true,
    major: 'channel',
    handle: (ctx, req) => {
      const user = req.params.user === '@me' ? ctx.world.applicationId : req.params.user!;
      ctx.world.removeReaction(
        ctx.world.message(req.params.channel!, req.params.message!),
        user,
        decodeURIComponent(req.params.emoji!),
      );
      return [204, null];
    },
  },
  {
    method: 'GET',
    path: '/channels/:channel/messages/:message/reactions/:emoji',
    auth: true,
    major: 'channel',
    handle: (ctx, req) => {
      const m = ctx.world.message(req.params.channel!, req.params.message!);
      const who = [...(m.reactions.get(decodeURIComponent(req.params.emoji!)) ?? [])];
      return [
        200,
        who.flatMap((id) => {
          const u = ctx.world.users.get(id);
          return u ? [userPayload(u)] : [];
        }),
      ];
    },
  },
  {
    method: 'POST',
    path: '/channels/:channel/typing',
    auth: true,
    major: 'channel',
    handle: () => [204, null],
  },

  // Guilds.
  {
    method: 'GET',
    path: '/guilds/:guild',
    auth: true,
    major: 'guild',
    handle: (ctx, req) => {
      const g = ctx.world.guilds.get(req.params.guild!);
      if (!g) throw new EmulatedApiError(404, 10004, 'Unknown Guild');
      const { members: _m, channels: _c, ...rest } = guildCreatePayload(g, ctx.world.users);
      return [200, rest];
    },
  },
  {
    method: 'GET',
    path: '/guilds/:guild/roles',
    auth: true,
    major: 'guild',
    handle: (ctx, req) => {
      const g = ctx.world.guilds.get(req.params.guild!);
      if (!g) throw new EmulatedApiError(404, 10004, 'Unknown Guild');
      return [200, [...g.roles.values()].map(rolePayload)];
    },
  },
  {
    method: 'GET',
    path: '/guilds/:guild/channels',
    auth: true,
    major: 'guild',
    handle: (ctx, req) => {
      const g = ctx.world.guilds.get(req.params.guild!);
      if (!g) throw new EmulatedApiError(404, 10004, 'Unknown Guild');
      return [200, [...g.channels.values()].map(channelPayload)];
    },
  },
  {
    method: 'GET',
    path: '/guilds/:guild/members/:user',
    auth: true,
    major: 'guild',
    handle: (ctx, req) => {
      const g = ctx.world.guilds.get(req.params.guild!);
      const member = g?.members.get(req.params.user!);
      const user = ctx.world.users.get(req.params.user!);
      if (!g || !member || !user) throw new EmulatedApiError(404, 10007, 'Unknown Member');
      return [200, memberPayload(member, user)];
    },
  },
];
