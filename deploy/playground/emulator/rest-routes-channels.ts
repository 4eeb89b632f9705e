/**
 * REST routes for channels and their messages, reactions and typing, with the bot token.
 */
import { notAuthor, unknownMessage } from './errors.js';
import { asMessageBody } from './http-util.js';
import { channelPayload, dmChannelPayload, userPayload } from './payloads.js';
import { MessageFlag } from './world.js';
import { msg, type RouteDef } from './rest-route-types.js';

export const channelRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/channels/:channel',
    auth: true,
    major: 'channel',
    handle: (ctx, req) => {
      const target = ctx.world.anyChannel(req.params.channel!);
      if ('dm' in target)
        return [200, dmChannelPayload(target.dm, ctx.world.users.get(target.dm.recipientId))];
      return [200, channelPayload(target.channel)];
    },
  },
  {
    method: 'GET',
    path: '/channels/:channel/messages',
    auth: true,
    major: 'channel',
    handle: (ctx, req) => {
      ctx.world.anyChannel(req.params.channel!);
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
];
