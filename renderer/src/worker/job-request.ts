/**
 * Turns a `RenderJob` into the engine's `RenderRequest`: text prompts as they are, image prompts
 * and the init image fetched from the object store, story prompts and the loop options as they are.
 */
import { JobFailure, type ImageRef, type RenderJob } from '../../../shared/src/index.js';
import { LoopOptions } from '../../../shared/src/loop-options.js';
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
  // generate.py's options travel as they are (one schema, shared/src/loop-options.ts); the engine
  // applies the bundle's defaults and refuses what the model cannot do.
  const loopOptions = LoopOptions.parse(pickLoopOptions(job));
  return {
    ...loopOptions,
    story: job.story?.map((segment) =>
      segment.map((p): WeightedPrompt => ({ kind: 'text', text: p.text, weight: p.weight, stop: p.stop })),
    ),
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

/** The job's fields that `LoopOptions` names (the rest of the job is not the engine's business). */
function pickLoopOptions(job: RenderJob): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(LoopOptions.shape)) {
    const value = (job as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
