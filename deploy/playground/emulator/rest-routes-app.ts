/**
 * REST routes for the gateway URL, users and the application's slash commands.
 */
import { EmulatedApiError } from './errors.js';
import type { RegisteredCommand, RegisteredOption } from './model.js';
import { dmChannelPayload, userPayload } from './payloads.js';
import type { RouteContext, RouteDef, RouteRequest, RouteResult } from './rest-route-types.js';

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

export const appRoutes: RouteDef[] = [
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
    // Opens (or returns) the DM channel with a user; whether the user accepts DMs shows on send.
    method: 'POST',
    path: '/users/@me/channels',
    auth: true,
    handle: (ctx, req) => {
      const id = req.body.recipient_id;
      const recipient = typeof id === 'string' ? ctx.world.users.get(id) : undefined;
      if (!recipient) throw new EmulatedApiError(404, 10013, 'Unknown User');
      return [200, dmChannelPayload(ctx.world.openDm(recipient.id), recipient)];
    },
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
];
