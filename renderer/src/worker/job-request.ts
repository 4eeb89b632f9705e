/**
 * Turns a `RenderJob` into the engine's `RenderRequest`: text prompts as they are, image prompts
 * and the init image fetched from the object store.
 */
import { JobFailure, type ImageRef, type RenderJob } from '../../../shared/src/index.js';
import type { RenderRequest, WeightedPrompt } from '../engine/engine.js';

/** The one thing this needs from the object store. */
export interface ImageSource {
  getBlob(key: string): Promise<Uint8Array | null>;
}

async function fetchImage(
  images: ImageSource,
  ref: ImageRef,
  what: string,
  jobId: string,
): Promise<Uint8Array> {
  const bytes = await images.getBlob(ref.key);
  if (!bytes) {
    throw new JobFailure(
      `The ${what} (${ref.key}) is no longer stored; upload it again.`,
      'missing-image',
      false,
      { jobId },
    );
  }
  return bytes;
}

export async function buildRenderRequest(
  job: RenderJob,
  images: ImageSource,
  frameEvery: number,
): Promise<RenderRequest> {
  const prompts: WeightedPrompt[] = job.prompts.map((p) => ({
    kind: 'text',
    text: p.text,
    weight: p.weight,
    stop: p.stop,
  }));
  for (const [i, p] of job.imagePrompts.entries()) {
    prompts.push({
      kind: 'image',
      image: await fetchImage(images, p.image, `image prompt ${i + 1}`, job.jobId),
      weight: p.weight,
      stop: p.stop,
    });
  }
  return {
    prompts,
    seed: job.seed,
    width: job.width,
    height: job.height,
    steps: job.steps,
    frameEvery,
    cutn: job.cutn,
    lr: job.lr,
    initImage: job.initImage ? await fetchImage(images, job.initImage, 'init image', job.jobId) : undefined,
  };
}
