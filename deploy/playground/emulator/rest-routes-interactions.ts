/**
 * REST routes for interactions: the callback (the first and only response, within the deadline)
 * and the interaction webhooks (the original response and follow-ups, authorised by the token alone).
 */
import { EmulatedApiError, alreadyAcknowledged, unknownInteraction, unknownMessage } from './errors.js';
import { asMessageBody } from './http-util.js';
import type { StoredInteraction, StoredMessage } from './model.js';
import { MessageFlag } from './world.js';
import { msg, type RouteContext, type RouteDef } from './rest-route-types.js';

/** The message an interaction webhook route refers to (`@original` or a follow-up id). */
function webhookMessage(ctx: RouteContext, interaction: StoredInteraction, id: string): StoredMessage {
  const messageId = id === '@original' ? interaction.originalMessageId : id;
  if (!messageId) throw unknownMessage();
  const m = ctx.world.message(null, messageId);
  if (m.interactionId !== interaction.id) throw unknownMessage();
  return m;
}

export const interactionRoutes: RouteDef[] = [
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
];
