/**
 * REST routes for guilds, their roles, channels and members.
 */
import { EmulatedApiError } from './errors.js';
import { channelPayload, guildCreatePayload, memberPayload, rolePayload } from './payloads.js';
import type { RouteDef } from './rest-route-types.js';

export const guildRoutes: RouteDef[] = [
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
