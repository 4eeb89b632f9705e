/**
 * 🔁 and ❌ on render messages, including messages from before a restart (the render record is
 * looked up by message id; the gateway event is enough, nothing needs to be cached).
 */
import { effectiveQuota } from '../core/guild-settings.js';
import type { RenderRecord } from '../core/render-record.js';
import { renderPayload, type RenderFacts } from '../core/render-view.js';
import { messageLink, paramsFacts } from '../render-state.js';
import { CANCEL_EMOJI, startRender } from '../start-render.js';
import type { BotContext } from './context.js';
import { refusalText } from './quota-text.js';

export const REROLL = '🔁';
export const CANCEL = CANCEL_EMOJI;
/** How long a reroll refusal stays in the channel (a reaction has no private reply). */
export const REFUSAL_NOTICE_MS = 30_000;

export interface ReactionInput {
  guildId: string;
  channelId: string;
  messageId: string;
  userId: string;
  emoji: string | null;
}

export async function handleReaction(input: ReactionInput, ctx: BotContext): Promise<void> {
  if (input.userId === ctx.botUserId()) return;
  if (input.emoji !== REROLL && input.emoji !== CANCEL) return;
  const record = await ctx.records.byMessage(input.messageId);
  if (!record || record.guildId !== input.guildId) return;
  const log = ctx.log.child({ jobId: record.jobId, userId: input.userId, emoji: input.emoji });
  if (input.emoji === CANCEL) return cancel(record, input, ctx, log);
  return reroll(record, input, ctx, log);
}

/** ❌: the requester or a moderator cancels a running render, or deletes a finished one. */
async function cancel(
  record: RenderRecord,
  input: ReactionInput,
  ctx: BotContext,
  log: BotContext['log'],
): Promise<void> {
  const allowed =
    input.userId === record.requesterId || (await ctx.members.isModerator(input.guildId, input.userId));
  if (!allowed) {
    log.info('❌ from someone who may not cancel this render; removing the reaction');
    await ctx.port
      .removeReaction(input.channelId, input.messageId, CANCEL, input.userId)
      .catch(() => undefined);
    return;
  }
  if (record.state === 'active') {
    const outcome = await ctx.jobs.cancel({ jobId: record.jobId, by: input.userId }, record.params.model);
    log.info({ outcome: outcome.status }, 'cancel requested');
    if (outcome.status !== 'already-finished') {
      ctx.renders.markCancelling(record.jobId, input.userId);
      return;
    }
    // It finished just now: let its message settle, then treat ❌ as "delete".
    await ctx.renders.whenEnded(record.jobId);
    if (outcome.result?.type !== 'done') return;
  }
  if (record.state !== 'deleted') {
    await ctx.port
      .delete(record.channelId, record.messageId)
      .catch((err: unknown) => log.warn({ err }, 'could not delete the render message'));
    await ctx.records.finish(record.jobId, 'deleted');
    log.info('finished render deleted');
  }
}

/** 🔁 on a finished render: the same render with a new seed, in a new message, charged to the reactor. */
async function reroll(
  record: RenderRecord,
  input: ReactionInput,
  ctx: BotContext,
  log: BotContext['log'],
): Promise<void> {
  if (record.state !== 'done') return;
  const settings = await ctx.settings.get(input.guildId);
  const rule = effectiveQuota(settings, input.userId, await ctx.members.roleIds(input.guildId, input.userId));
  const params = { ...record.params, seed: ctx.randomSeed() };
  const facts: RenderFacts = {
    ...paramsFacts(params, input.userId),
    parentLink: messageLink(record.guildId, record.channelId, record.messageId),
  };
  const outcome = await startRender(ctx, {
    // One job per (message, user, moment); a retried publish of it is one job.
    jobId: `rr-${record.messageId}-${input.userId}-${ctx.now().toString(36)}`,
    guildId: record.guildId,
    channelId: record.channelId,
    applicationId: record.applicationId,
    requester: { id: input.userId, name: ctx.members.username(input.userId) ?? input.userId },
    params,
    quota: { rule, maxConcurrent: settings.maxConcurrentPerUser },
    parent: { jobId: record.jobId, messageId: record.messageId, origin: 'reroll' },
    attachmentSizeLimit: record.attachmentSizeLimit,
    openMessage: async () => ({
      messageId: await ctx.port.post(
        record.channelId,
        renderPayload(facts, { kind: 'queued', position: undefined, etaMs: undefined }),
        record.messageId,
      ),
    }),
  });
  if (outcome.ok) {
    log.info({ rerollJobId: outcome.jobId, seed: params.seed }, 'reroll submitted');
    return;
  }
  if (outcome.stage === 'quota') {
    log.info({ refusal: outcome.refusal.identifier }, 'reroll refused by quota');
    await refuseInChannel(ctx, input, record, refusalText(outcome.refusal));
    return;
  }
  log.error({ err: outcome.error, stage: outcome.stage }, 'reroll could not be started');
  if (outcome.stage === 'submit')
    await ctx.port.delete(record.channelId, outcome.messageId).catch(() => undefined);
}

/** A short public notice that goes away after a while, and the 🔁 taken back. */
async function refuseInChannel(
  ctx: BotContext,
  input: ReactionInput,
  record: RenderRecord,
  text: string,
): Promise<void> {
  const noticeId = await ctx.port
    .say(input.channelId, `<@${input.userId}> ${text}`, record.messageId)
    .catch(() => undefined);
  if (noticeId)
    setTimeout(
      () => void ctx.port.delete(input.channelId, noticeId).catch(() => undefined),
      REFUSAL_NOTICE_MS,
    ).unref();
  await ctx.port
    .removeReaction(input.channelId, input.messageId, REROLL, input.userId)
    .catch(() => undefined);
}
