/**
 * REST routes for interactions: the callback (the first and only response, within the deadline)
 * and the interaction webhooks (the original response and follow-ups, authorised by the token alone).
 */
import { validateModal } from './modals.js';
import { alreadyAcknowledged, invalidFormBody, unknownInteraction, unknownMessage } from './errors.js';
import { asMessageBody } from './http-util.js';
import type { StoredInteraction, StoredMessage } from './model.js';
import { MessageFlag, type MessageBody } from './world.js';
import {
  msg,
  type RouteContext,
  type RouteDef,
  type RouteRequest,
  type RouteResult,
} from './rest-route-types.js';

/**
 * The message an interaction webhook route refers to (`@original` or a follow-up id). After a
 * DEFERRED_UPDATE_MESSAGE or UPDATE_MESSAGE answer, `@original` is the message the component is on.
 */
function webhookMessage(ctx: RouteContext, interaction: StoredInteraction, id: string): StoredMessage {
  const messageId = id === '@original' ? interaction.originalMessageId : id;
  if (!messageId) throw unknownMessage();
  const m = ctx.world.message(null, messageId);
  const isSource = messageId === interaction.sourceMessageId && messageId === interaction.originalMessageId;
  if (m.interactionId !== interaction.id && !isSource) throw unknownMessage();
  return m;
}

/** Callback types Discord accepts per interaction type (4 reply, 5 deferred, 6/7 update, 9 modal). */
function allowedCallbacks(i: StoredInteraction): number[] {
  if (i.type === 2) return [4, 5, 9];
  if (i.type === 3) return [4, 5, 6, 7, 9];
  return i.sourceMessageId ? [4, 5, 6, 7] : [4, 5];
}

/** Checks the deadline and acknowledgement, then applies the bot's answer (the callback). */
function answerInteraction(ctx: RouteContext, req: RouteRequest): RouteResult {
  const { world } = ctx;
  const i = world.interaction(req.params.interaction!, req.params.token!);
  if (i.state === 'failed') throw unknownInteraction();
  if (world.now() - i.createdAt > world.options.interactionDeadlineMs) {
    i.state = 'failed';
    world.emit('interactionUpdate', i);
    throw unknownInteraction();
  }
  if (i.state !== 'pending') throw alreadyAcknowledged();
  const type = Number(req.body.type);
  if (!allowedCallbacks(i).includes(type))
    throw invalidFormBody(
      'type',
      'INTERACTION_CALLBACK_TYPE_INVALID',
      `Callback type ${type} is not valid here`,
    );
  const data = (req.body.data as Record<string, unknown> | undefined) ?? {};
  const message = applyCallback(ctx, i, type, data, req);
  i.responseType = type;
  i.originalMessageId = message?.id;
  world.emit('interactionUpdate', i);
  if (req.query.get('with_response') !== 'true') return [204, null];
  return [
    200,
    {
      interaction: {
        id: i.id,
        type: i.type,
        response_message_id: message?.id,
        response_message_loading: message ? type === 5 : undefined,
        response_message_ephemeral: message ? (message.flags & MessageFlag.Ephemeral) !== 0 : undefined,
      },
      resource: { type, message: message && type !== 6 ? msg(ctx, message) : undefined },
    },
  ];
}

/** Applies one callback type; returns the message that is now the interaction's original response. */
function applyCallback(
  ctx: RouteContext,
  i: StoredInteraction,
  type: number,
  data: Record<string, unknown>,
  req: RouteRequest,
): StoredMessage | undefined {
  const { world } = ctx;
  const reply = (body: MessageBody, files: RouteRequest['files'], extraFlags?: number) =>
    world.createMessage({
      channelId: i.channelId,
      authorId: world.applicationId,
      body,
      files,
      via: 'interaction-callback',
      interactionId: i.id,
      extraFlags,
    });
  if (type === 4) {
    i.state = 'replied';
    return reply(asMessageBody(data), req.files);
  }
  if (type === 5) {
    const flags = (Number(data.flags) || 0) & MessageFlag.Ephemeral;
    i.state = 'deferred';
    i.deferredFlags = flags;
    return reply({ content: '' }, [], flags | MessageFlag.Loading);
  }
  if (type === 9) {
    i.modal = validateModal(data);
    i.state = 'replied';
    return undefined;
  }
  // 6 and 7: the message the component is on.
  const source = world.message(null, i.sourceMessageId!);
  if (type === 7) {
    world.editMessage(source, asMessageBody(data), req.files, 'interaction-callback');
    i.state = 'replied';
  } else i.state = 'deferred';
  return source;
}

export const interactionRoutes: RouteDef[] = [
  {
    method: 'POST',
    path: '/interactions/:interaction/:token/callback',
    auth: false,
    major: 'interaction',
    handle: (ctx, req) => answerInteraction(ctx, req),
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
