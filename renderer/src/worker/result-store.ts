/**
 * Stores what a render produced in the images object store, under per-attempt keys so a late
 * duplicate never overwrites the winner: the final PNG and, for a zoom video, its animated WebP.
 * The `done` event references both; an attempt that loses the settle deletes both (terminal.ts).
 */
import type { Logger } from 'pino';
import { type Farm, type ImageRef, renderImageKey, renderVideoKey } from '../../../shared/src/index.js';
import type { RenderResult } from '../engine/engine.js';
import { withRetry } from './retry.js';

export interface StoredResult {
  image: ImageRef;
  video?: ImageRef;
}

async function put(
  farm: Pick<Farm, 'images'>,
  key: string,
  bytes: Uint8Array,
  what: string,
  ctx: { log: Logger; signal: AbortSignal },
): Promise<void> {
  await withRetry(() => farm.images.putBlob({ name: key, options: { max_chunk_size: 128 * 1024 } }, bytes), {
    log: ctx.log,
    what,
    signal: ctx.signal,
  });
}

export async function storeRenderResult(
  farm: Pick<Farm, 'images'>,
  job: { jobId: string; attempt: number },
  result: Pick<RenderResult, 'png' | 'video'>,
  ctx: { log: Logger; signal: AbortSignal },
): Promise<StoredResult> {
  const imageKey = renderImageKey(job.jobId, job.attempt);
  await put(farm, imageKey, result.png, 'storing the image', ctx);
  const image: ImageRef = { key: imageKey, contentType: 'image/png', bytes: result.png.byteLength };
  if (!result.video) return { image };
  const videoKey = renderVideoKey(job.jobId, job.attempt);
  await put(farm, videoKey, result.video, 'storing the zoom video', ctx);
  return { image, video: { key: videoKey, contentType: 'image/webp', bytes: result.video.byteLength } };
}
