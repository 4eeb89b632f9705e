/**
 * 🔁 and ❌ on render messages, including messages from before a restart (the render record is
 * looked up in KV by message id; the gateway event is enough, nothing needs to be cached).
 */
import { requestCancel, submitJob } from '../../../shared/src/index.js';
import { effectiveQuota } from '../core/guild-settings.js';
import { renderPayload } from '../core/render-view.js';
import type { RenderRecord } from '../nats/render-records.js';
import { messageLink } from '../render-service.js';
import type { BotContext } from './context.js';
import { jobInput } from '../render-job.js';
import { isModerator, memberRoleIds } from './permissions.js';
import { refusalText } from './quota-text.js';

export const REROLL = '🔁';
export const CANCEL = '❌';

export interface ReactionInput {
  guildId: string;
  channelId: string;
  messageId: string;
  userId: string;
  emoji: string | null;
}

export async function handleReaction(input: ReactionInput, ctx: BotContext): Promise<void> {
  if (input.userId === ctx.client.user?.id) return;
  if (input.emoji !== REROLL && input.emoji !== CANCEL) return;
  const record = await ctx.records.byMessage(input.messageId);
  if (!record || record.guildId !== input.guildId) return;
  const log = ctx.log.child({ jobId: record.jobId, userId: input.userId, emoji: input.emoji });
  if (input.emoji === CANCEL) return cancel(record, input, ctx, log);
  return reroll(record, input, ctx, log);
}

async function cancel(
  record: RenderRecord,
  input: ReactionInput,
  ctx: BotContext,
  log: BotContext['log'],
): Promise<void> {
  const allowed =
    input.userId === record.requesterId || (await isModerator(ctx.client, input.guildId, input.userId));
  if (!allowed) {
    log.info('❌ from someone who may not cancel this render; removing the reaction');
    await ctx.port
      .removeReaction(input.channelId, input.messageId, CANCEL, input.userId)
      .catch(() => undefined);
    return;
  }
  if (record.state === 'active') {
    const outcome = await requestCancel(ctx.farm, { jobId: record.jobId, by: input.userId });
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

async function reroll(
  record: RenderRecord,
  input: ReactionInput,
  ctx: BotContext,
  log: BotContext['log'],
): Promise<void> {
  if (record.state !== 'done') return;
  const guild = ctx.client.guilds.cache.get(input.guildId);
  const member = guild ? await guild.members.fetch(input.userId).catch(() => undefined) : undefined;
  const settings = await ctx.settings.get(input.guildId);
  const rule = effectiveQuota(settings, input.userId, memberRoleIds(member));
  // Reaction-derived job id: one per (message, user, moment); a retried publish of it is one job.
  const jobId = `rr-${record.messageId}-${input.userId}-${ctx.now().toString(36)}`;
  const charged = await ctx.quotas.charge(
    input.guildId,
    input.userId,
    jobId,
    rule,
    settings.maxConcurrentPerUser,
  );
  if (!charged.ok) {
    log.info({ refusal: charged.refusal.identifier }, 'reroll refused by quota');
    const noticeId = await ctx.port
      .say(input.channelId, `<@${input.userId}> ${refusalText(charged.refusal)}`, record.messageId)
      .catch(() => undefined);
    // A reaction has no private reply: the notice goes away after a while.
    if (noticeId)
      setTimeout(
        () => void ctx.port.delete(input.channelId, noticeId).catch(() => undefined),
        30_000,
      ).unref();
    await ctx.port
      .removeReaction(input.channelId, input.messageId, REROLL, input.userId)
      .catch(() => undefined);
    return;
  }
  const params = { ...record.params, seed: ctx.randomSeed() };
  const facts = {
    promptText: params.promptText,
    ...(params.avoidText ? { avoidText: params.avoidText } : {}),
    requesterId: input.userId,
    seed: params.seed,
    steps: params.steps,
    width: params.width,
    height: params.height,
    quality: params.quality,
    model: params.model,
    parentLink: messageLink(record.guildId, record.channelId, record.messageId),
  };
  let messageId: string;
  try {
    messageId = await ctx.port.post(
      record.channelId,
      renderPayload(facts, { kind: 'queued', position: undefined, etaMs: undefined }),
      record.messageId,
    );
  } catch (err) {
    log.warn({ err }, 'could not post the reroll message');
    await ctx.quotas.settle(input.guildId, input.userId, jobId, true);
    return;
  }
  const user = ctx.client.users.cache.get(input.userId);
  const child: RenderRecord = {
    v: 1,
    jobId,
    guildId: record.guildId,
    channelId: record.channelId,
    messageId,
    applicationId: record.applicationId,
    requesterId: input.userId,
    requesterName: (user?.username ?? input.userId).slice(0, 100),
    params,
    parentJobId: record.jobId,
    parentMessageId: record.messageId,
    state: 'active',
    createdAt: new Date(ctx.now()).toISOString(),
  };
  try {
    await ctx.records.put(child);
    const initImage = params.initImageKey ? { key: params.initImageKey } : undefined;
    const submitted = await submitJob(
      ctx.farm,
      jobInput(child, initImage, { username: child.requesterName }),
    );
    ctx.renders.track({ ...child, queueSeq: submitted.seq });
    await ctx.port.react(child.channelId, messageId, CANCEL).catch(() => undefined);
    log.info({ rerollJobId: jobId, seed: params.seed }, 'reroll submitted');
  } catch (err) {
    log.error({ err }, 'reroll could not be submitted');
    await ctx.quotas.settle(input.guildId, input.userId, jobId, true);
    await ctx.records.finish(jobId, 'failed').catch(() => false);
    await ctx.port.delete(record.channelId, messageId).catch(() => undefined);
  }
}
