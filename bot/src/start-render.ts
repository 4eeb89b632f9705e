/**
 * Starting a render, the one way every entry point does it (`/imagine`, 🔁, the render buttons):
 * charge the quota (compare-and-set; a refusal comes back before anything is shown), open the
 * render message, store the init image, write the render record, submit the job, follow it.
 * When anything after the charge fails, the charge is refunded and the record marked failed.
 */
import type { Logger } from 'pino';
import type { ImageRef } from '../../shared/src/index.js';
import { memberWeight, type QuotaRule } from './core/guild-settings.js';
import type {
  GuildSettingsStore,
  ImageStore,
  JobQueue,
  Members,
  MessagePort,
  QuotaStore,
  RenderRecords,
  RenderTracker,
} from './core/ports.js';
import type { ChargeRefusal, QueuedLimit } from './core/quota.js';
import type { InteractionReply, RenderOrigin, RenderParams, RenderRecord } from './core/render-record.js';
import { jobInput } from './render-job.js';

export const CANCEL_EMOJI = '❌';

export interface StartRenderDeps {
  jobs: JobQueue;
  images: ImageStore;
  records: RenderRecords;
  quotas: QuotaStore;
  renders: Pick<RenderTracker, 'track' | 'progressOf'>;
  port: Pick<MessagePort, 'react'>;
  settings: Pick<GuildSettingsStore, 'get'>;
  members: Pick<Members, 'roleIds'>;
  log: Logger;
  now: () => number;
}

/** Where the render message is, once opened; `reply` when it is an interaction's reply. */
export interface OpenedMessage {
  messageId: string;
  reply?: InteractionReply;
}

export interface RenderOrder {
  jobId: string;
  guildId: string;
  channelId: string;
  applicationId: string;
  requester: { id: string; name: string; interactionId?: string };
  /** The member's role ids when the caller has them (an interaction); else they are looked up. */
  roleIds?: readonly string[];
  params: RenderParams;
  quota: { rule: QuotaRule; maxConcurrent: number };
  /** The render this one comes from, and how (lineage). */
  parent?: { jobId: string; messageId: string; origin: RenderOrigin };
  attachmentSizeLimit?: number;
  /** New init image bytes to store under `params.initImageKey` before the job is submitted. */
  initImage?: { contentType: string; load: () => Promise<Uint8Array> };
  /** New image prompt bytes, one per `params.imagePrompts` entry (same order), stored before the job. */
  imagePrompts?: { contentType: string; load: () => Promise<Uint8Array> }[];
  /** Shows the render message (called only once the charge went through). */
  openMessage: () => Promise<OpenedMessage>;
}

export type StartRenderOutcome =
  | { ok: true; jobId: string; messageId: string }
  /** Over quota or too many running: nothing was shown or charged. */
  | { ok: false; stage: 'quota'; refusal: ChargeRefusal }
  /** The message could not be opened: the charge was refunded. */
  | { ok: false; stage: 'message'; error: unknown }
  /** The message is there, the job is not: the charge was refunded, the record marked failed. */
  | { ok: false; stage: 'submit'; error: unknown; messageId: string };

export async function startRender(deps: StartRenderDeps, order: RenderOrder): Promise<StartRenderOutcome> {
  const { jobId, guildId } = order;
  const userId = order.requester.id;
  const member = await memberFacts(deps, order);
  const charged = await deps.quotas.charge(
    guildId,
    userId,
    jobId,
    order.quota.rule,
    order.quota.maxConcurrent,
    member.queuedLimit,
  );
  if (!charged.ok) return { ok: false, stage: 'quota', refusal: charged.refusal };

  let opened: OpenedMessage;
  try {
    opened = await order.openMessage();
  } catch (error) {
    await deps.quotas.settle(guildId, userId, jobId, true);
    return { ok: false, stage: 'message', error };
  }

  const record = renderRecord(order, opened.messageId, deps.now());
  try {
    const initImage = await storeInitImage(deps, order);
    await storeImagePrompts(deps, order);
    // The record comes first: a job that ends at once must find its message.
    await deps.records.put(record);
    const submitted = await deps.jobs.submit(
      jobInput(record, initImage, {
        interactionId: order.requester.interactionId,
        username: order.requester.name,
        weight: member.weight,
      }),
    );
    deps.renders.track({ ...record, queueSeq: submitted.seq }, opened.reply);
  } catch (error) {
    await deps.quotas.settle(guildId, userId, jobId, true);
    await deps.records.finish(jobId, 'failed').catch(() => false);
    return { ok: false, stage: 'submit', error, messageId: opened.messageId };
  }
  await deps.port
    .react(record.channelId, record.messageId, CANCEL_EMOJI)
    .catch((err: unknown) => deps.log.warn({ err, jobId }, `could not add ${CANCEL_EMOJI}`));
  return { ok: true, jobId, messageId: opened.messageId };
}

/**
 * What the server's settings say about this member for a new render: their fair-share weight
 * (role weights) and the limit on renders waiting in the queue, with their renders known to have started.
 */
async function memberFacts(
  deps: StartRenderDeps,
  order: RenderOrder,
): Promise<{ weight: number; queuedLimit: QueuedLimit }> {
  const settings = await deps.settings.get(order.guildId);
  const needRoles = Object.keys(settings.roleWeights).length > 0;
  const roleIds = !needRoles
    ? []
    : (order.roleIds ?? (await deps.members.roleIds(order.guildId, order.requester.id).catch(() => [])));
  const started = deps.renders
    .progressOf(order.requester.id)
    .filter((p) => p.started)
    .map((p) => p.record.jobId);
  return {
    weight: memberWeight(settings, roleIds),
    queuedLimit: { max: settings.maxQueuedPerUser, started: new Set(started) },
  };
}

function renderRecord(order: RenderOrder, messageId: string, now: number): RenderRecord {
  return {
    v: 1,
    jobId: order.jobId,
    guildId: order.guildId,
    channelId: order.channelId,
    messageId,
    applicationId: order.applicationId,
    attachmentSizeLimit: order.attachmentSizeLimit,
    requesterId: order.requester.id,
    requesterName: order.requester.name.slice(0, 100),
    params: order.params,
    parentJobId: order.parent?.jobId,
    parentMessageId: order.parent?.messageId,
    origin: order.parent?.origin,
    state: 'active',
    createdAt: new Date(now).toISOString(),
  };
}

/** The job's image reference: a new image is stored first; a reroll reuses the stored one. */
async function storeInitImage(deps: StartRenderDeps, order: RenderOrder): Promise<ImageRef | undefined> {
  const key = order.params.initImageKey;
  if (!key) return undefined;
  if (!order.initImage) return { key };
  const bytes = await order.initImage.load();
  await deps.images.put(key, bytes);
  return { key, contentType: order.initImage.contentType, bytes: bytes.byteLength };
}

/** New image prompts go to the object store before the job that names them (a reroll reuses them). */
async function storeImagePrompts(deps: StartRenderDeps, order: RenderOrder): Promise<void> {
  const keys = order.params.imagePrompts ?? [];
  const uploads = order.imagePrompts ?? [];
  for (const [i, upload] of uploads.entries()) {
    const key = keys[i]?.key;
    if (!key) throw new Error(`image prompt ${i + 1} has no object-store key`);
    await deps.images.put(key, await upload.load());
  }
}
