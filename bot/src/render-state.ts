/**
 * What a render message shows, from the bot's record: the facts under every state, and the final
 * state a terminal event leads to (the finished picture, or the zoom video, fitted to the channel's
 * attachment limit; failed or cancelled with the refund).
 */
import type { Logger } from 'pino';
import type { TerminalJobEvent } from '../../shared/src/index.js';
import type { ModelFacts } from './core/imagine-request.js';
import type { ImageStore } from './core/ports.js';
import { nextLargerSize } from './core/render-buttons.js';
import type { RenderParams, RenderRecord } from './core/render-record.js';
import { optionFacts, type RenderFacts, type RenderState } from './core/render-view.js';
import { fitFinalMedia } from './image-fit.js';

export function messageLink(guildId: string, channelId: string, messageId: string): string {
  return `https://discord.com/channels/${guildId}/${channelId}/${messageId}`;
}

/** The facts of a render's parameters, as its message (or a new child's) shows them. */
export function paramsFacts(p: RenderParams, requesterId: string): RenderFacts {
  return {
    promptText: p.promptText,
    avoidText: p.avoidText || undefined,
    imageWeights: p.imagePrompts?.map((x) => x.weight),
    requesterId,
    seed: p.seed,
    steps: p.steps,
    width: p.width,
    height: p.height,
    quality: p.quality,
    model: p.model,
    ...optionFacts(p),
  };
}

/**
 * The facts a render message shows in every state, with its buttons (the same custom ids wherever
 * the message is: under the original, a `/show` re-post or a DM); `model` decides Upscale.
 */
export function renderFacts(record: RenderRecord, model: ModelFacts | undefined): RenderFacts {
  return {
    ...paramsFacts(record.params, record.requesterId),
    parentLink: record.parentMessageId
      ? messageLink(record.guildId, record.channelId, record.parentMessageId)
      : undefined,
    origin: record.origin,
    buttons: { jobId: record.jobId, canUpscale: canUpscale(record, model) },
  };
}

function canUpscale(record: RenderRecord, model: ModelFacts | undefined): boolean {
  const p = record.params;
  return model?.name === p.model && nextLargerSize(model, p.width, p.height) !== undefined;
}

/** The zoom video of a finished render, if it has one and it is still stored. */
async function video(
  o: { images: ImageStore; log: Logger },
  event: Extract<TerminalJobEvent, { type: 'done' }>,
): Promise<Uint8Array | undefined> {
  if (!event.video) return undefined;
  const data = await o.images.get(event.video.key).catch(() => undefined);
  if (!data) o.log.warn({ jobId: event.jobId, key: event.video.key }, 'zoom video not found');
  return data;
}

/** The message's final state for a terminal event, and whether the quota charge goes back. */
export async function finalRenderState(
  o: { images: ImageStore; log: Logger },
  record: RenderRecord,
  frame: Uint8Array | undefined,
  event: TerminalJobEvent,
): Promise<{ state: RenderState; refund: boolean }> {
  if (event.type === 'failed')
    return { state: { kind: 'failed', reason: event.reason, refunded: true, frame }, refund: true };
  if (event.type === 'cancelled')
    return { state: { kind: 'cancelled', by: event.by, refunded: true, frame }, refund: true };
  const png = await o.images.get(event.image.key);
  if (!png) {
    const reason = 'The finished picture could not be found in the farm’s store.';
    return { state: { kind: 'failed', reason, refunded: true }, refund: true };
  }
  const fitted = await fitFinalMedia(
    png,
    await video(o, event),
    record.attachmentSizeLimit ?? 10 * 1024 * 1024,
    `tessera-${event.seed}`,
  );
  const state: RenderState = {
    kind: 'done',
    image: fitted.data,
    imageName: fitted.name,
    elapsedMs: event.elapsedMs,
    stepsRun: event.steps,
    animated: fitted.animated,
    note: fitted.note,
  };
  return { state, refund: false };
}
