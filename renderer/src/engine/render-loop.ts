/**
 * The VQGAN-CLIP loop of models/BUNDLE.md over loaded graphs: embed prompts, seed the latent,
 * then per step draw cutouts, run the step graph, Adam, clamp; frames on the way and a PNG at
 * the end. Runs wherever its graphs live (the engine's worker thread); knows nothing of threads.
 */
import { formatPromptLine } from '../../../shared/src/prompt-syntax.js';
import type { GraphSession, HostTensor } from '../onnx/onnx-runtime.js';
import { clampPerChannel } from './adam.js';
import { drawReferenceStep, referenceFeeds } from './augment-draws.js';
import type { BundleManifest } from './bundle.js';
import { ModelBundleError } from './bundle.js';
import { checkEttsSupported, type EttsDraws, neutralEtts } from './etts-draws.js';
import { sampleCutouts, sampleNormals } from './cutouts.js';
import { EngineInputError, type RenderRequest, type RenderResult, type WeightedPrompt } from './engine.js';
import {
  decodeImageToTensor,
  encodeFinalPng,
  encodeFrame,
  encodeTimelapse,
  tensorToRgb,
} from './image-io.js';
import { resolveRequest, type ResolvedRender } from './request.js';
import { createOptimiser } from './optimisers.js';
import { initNoiseImage } from './init-noise.js';
import { PlateauDetector } from './plateau.js';
import { rgbToTensor, zoomImage } from './zoom.js';
import { Mulberry32 } from './rng.js';
import type { TextTokenizer } from './words-tokenizer.js';

export interface LoadedModel {
  name: string;
  executionProvider: string;
  manifest: BundleManifest;
  tokenizer: TextTokenizer;
  graphs: {
    step: GraphSession;
    decoder: GraphSession;
    text: GraphSession;
    encoder?: GraphSession;
    image?: GraphSession;
    codes?: GraphSession;
    /** Step interface 2: generate.py's loss (models/BUNDLE.md). */
    stepReference?: GraphSession;
    /** The image tower inside stepReference when it is not `image`'s (models/BUNDLE.md). */
    imageReference?: GraphSession;
  };
}

export interface LoopProgress {
  step: number;
  total: number;
  itPerSec: number;
  frame?: Uint8Array;
}

export interface LoopHooks {
  /** Polled before every step; true ⇒ the loop rejects with an AbortError. */
  aborted(): boolean;
  onProgress(progress: LoopProgress): void;
  now?(): number;
}

export function abortError(): Error {
  return new DOMException('The render was cancelled.', 'AbortError');
}

const f32 = (data: Float32Array, dims: readonly number[]): HostTensor => ({ type: 'float32', data, dims });

async function runGraph(
  model: LoadedModel,
  name: string,
  graph: GraphSession,
  feeds: Record<string, HostTensor>,
  output: string,
): Promise<Float32Array> {
  const out = (await graph.run(feeds))[output];
  if (out?.type !== 'float32')
    throw new ModelBundleError(
      `graph '${name}' of model '${model.name}' has no float32 output '${output}'`,
      model.name,
    );
  return out.data;
}

/** Unit-norm target embeddings [P, D] for the prompts, text prompts batched in one run. */
export async function embedPrompts(
  model: LoadedModel,
  prompts: readonly WeightedPrompt[],
  loop: 'classic' | 'reference' = 'classic',
): Promise<Float32Array> {
  // image prompts are embedded by the tower the loop's step graph carries
  const image = (loop === 'reference' && model.graphs.imageReference) || model.graphs.image;
  const { embedDim: D, inputSize: S } = model.manifest.clip;
  const targets = new Float32Array(prompts.length * D);
  const texts = prompts.flatMap((p, i) =>
    p.kind === 'text' ? [{ i, ids: model.tokenizer.encode(p.text) }] : [],
  );
  if (texts.length) {
    const L = model.tokenizer.contextLength;
    const tokens = new BigInt64Array(texts.length * L);
    texts.forEach((t, b) => t.ids.forEach((id, j) => (tokens[b * L + j] = BigInt(id))));
    const emb = await runGraph(
      model,
      'text',
      model.graphs.text,
      { tokens: { type: 'int64', data: tokens, dims: [texts.length, L] } },
      'embedding',
    );
    texts.forEach((t, b) => targets.set(emb.subarray(b * D, (b + 1) * D), t.i * D));
  }
  for (const [i, p] of prompts.entries()) {
    if (p.kind !== 'image') continue;
    if (!image)
      throw new EngineInputError(
        `Model '${model.name}' does not take image prompts.`,
        'unsupported-image-prompt',
      );
    const pixels = await decodeImageToTensor(p.image, S, S, `image prompt ${i + 1}`);
    const emb = await runGraph(model, 'image', image, { pixels: f32(pixels, [1, 3, S, S]) }, 'embedding');
    targets.set(emb.subarray(0, D), i * D);
  }
  return targets;
}

/** The starting latent: from the init image (no draws), init noise or random codes (the generator). */
export async function initialLatent(
  model: LoadedModel,
  r: ResolvedRender,
  rng: Mulberry32,
): Promise<Float32Array> {
  const { channels: C, downsample, min, max, init } = model.manifest.latent;
  const h = r.height / downsample;
  const w = r.width / downsample;
  const start = r.initImage
    ? await decodeImageToTensor(r.initImage, r.width, r.height)
    : r.initNoise
      ? rgbToTensor(initNoiseImage(r.initNoise, r.width, r.height, rng), r.width, r.height)
      : undefined;
  if (start) {
    if (!model.graphs.encoder)
      throw new EngineInputError(
        `Model '${model.name}' has no encoder: no init ${r.initImage ? 'image' : 'noise'}.`,
        r.initImage ? 'unsupported-init-image' : 'unsupported-init-noise',
      );
    const image = f32(start, [1, 3, r.height, r.width]);
    return Float32Array.from(await runGraph(model, 'encoder', model.graphs.encoder, { image }, 'z'));
  }
  if (init.kind === 'uniform') {
    const z = new Float32Array(C * h * w);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < h * w; i++) z[c * h * w + i] = min[c]! + rng.next() * (max[c]! - min[c]!);
    }
    return z;
  }
  if (!model.graphs.codes) throw new ModelBundleError(`model '${model.name}' has no codes graph`, model.name);
  const indices = new BigInt64Array(h * w);
  for (let i = 0; i < h * w; i++) indices[i] = BigInt(Math.floor(rng.next() * init.numCodes));
  return Float32Array.from(
    await runGraph(
      model,
      'codes',
      model.graphs.codes,
      { indices: { type: 'int64', data: indices, dims: [1, h, w] } },
      'z',
    ),
  );
}

/** What goes into the PNG's text chunks: everything needed to render the same image again. */
export function renderMetadata(
  model: LoadedModel,
  r: ResolvedRender,
  stepsRun = r.steps,
): Record<string, string> {
  const prompt = r.segments
    .map((prompts) =>
      formatPromptLine(
        prompts.map((p) => ({
          text: p.kind === 'text' ? p.text : '[image]',
          weight: p.weight,
          stop: p.stop,
        })),
      ),
    )
    .join(' ^ ');
  const parameters = {
    model: model.name,
    seed: r.seed,
    steps: r.steps,
    size: `${r.width}x${r.height}`,
    cutn: r.cutn,
    lr: r.lr,
    cutPow: r.cutPow,
    cutMin: r.cutMin,
    noise: r.noise,
    initImage: r.initImage !== undefined,
    initNoise: r.initImage ? undefined : r.initNoise,
    executionProvider: model.executionProvider,
    // Spread: one condition for five keys; plain ternaries would say `r.loop === 'reference'` five times.
    ...(r.loop === 'reference'
      ? {
          loop: r.loop,
          cutMethod: r.cutMethod,
          augments: r.augments,
          cutNoise: r.cutNoise,
          optimiser: r.optimiser,
        }
      : {}),
    // Spread: `optimiser: undefined` would erase the reference loop's optimiser set just above.
    ...(r.optimiser !== 'Adam' && r.loop === 'classic' ? { optimiser: r.optimiser } : {}),
    initWeight: r.initWeight || undefined,
    storyEvery: r.segments.length > 1 ? r.storyEvery : undefined,
    autoStop: r.autoStop,
    stepsRun: r.autoStop ? stepsRun : undefined,
    zoom: r.zoom,
  };
  return { Software: 'tessera', prompt, parameters: JSON.stringify(parameters) };
}

/** targets, weights and stops of one prompt list. */
async function promptFeeds(
  model: LoadedModel,
  prompts: WeightedPrompt[],
  loop: 'classic' | 'reference',
): Promise<Record<string, HostTensor>> {
  const P = prompts.length;
  return {
    targets: f32(await embedPrompts(model, prompts, loop), [P, model.manifest.clip.embedDim]),
    weights: f32(
      Float32Array.from(prompts, (p) => p.weight),
      [P],
    ),
    stops: f32(
      Float32Array.from(prompts, (p) => p.stop ?? -1),
      [P],
    ),
  };
}

/** A zoom-video frame: the current image (returned), zoomed and shifted, re-encoded into `z`. */
async function zoomInPlace(
  model: LoadedModel,
  r: ResolvedRender,
  z: Float32Array,
  dims: number[],
): Promise<Uint8Array> {
  if (!model.graphs.encoder)
    throw new EngineInputError(`Model '${model.name}' has no encoder: no zoom video.`, 'unsupported-zoom');
  const rgb = tensorToRgb(
    await runGraph(model, 'decoder', model.graphs.decoder, { z: f32(z, dims) }, 'image'),
    r.width,
    r.height,
  );
  const next = rgbToTensor(await zoomImage(rgb, r.width, r.height, r.zoom!), r.width, r.height);
  z.set(
    await runGraph(
      model,
      'encoder',
      model.graphs.encoder,
      { image: f32(next, [1, 3, r.height, r.width]) },
      'z',
    ),
  );
  return rgb;
}

/** One step's random inputs, drawn in the order of models/BUNDLE.md for the render's loop. */
function stepDraws(
  rng: Mulberry32,
  r: ResolvedRender,
  S: number,
  inputs: readonly string[],
  ettsNeutral: EttsDraws | undefined,
): Record<string, HostTensor> {
  const N = r.cutn;
  if (r.loop === 'classic') {
    const { cuts, noise } = sampleCutouts(rng, r);
    const feeds = { cuts: f32(cuts, [N, 4]), noise: f32(noise, [N, 1, 1, 1]) };
    // eps only when the graph has it (the classic draw order of models/BUNDLE.md)
    return inputs.includes('eps')
      ? { ...feeds, eps: f32(sampleNormals(rng, N * 3 * S * S), [N, 3, S, S]) }
      : feeds;
  }
  return referenceFeeds(drawReferenceStep(rng, { ...r, S, ettsNeutral }), N, S);
}

/** generate.py's init weight: + mse(z, 0)·initWeight/(2i+1)/2, i.e. gradient z·w/((2i+1)·numel). */
export function withInitWeight(grad: Float32Array, z: Float32Array, weight: number, i: number): Float32Array {
  if (!weight) return grad;
  const c = weight / ((2 * i + 1) * z.length);
  return grad.map((g, j) => g + c * z[j]!);
}

/** Runs one render to the end (or until `hooks.aborted()`). */
export async function runRender(
  model: LoadedModel,
  request: RenderRequest,
  hooks: LoopHooks,
): Promise<RenderResult> {
  const now = hooks.now ?? (() => performance.now());
  const started = now();
  const r = resolveRequest(model.manifest, request);
  const graph = r.loop === 'reference' ? model.graphs.stepReference! : model.graphs.step;
  const stepInputs = graph.inputs.map((i) => i.name);
  checkEttsSupported(model.name, r.augments, stepInputs);
  const { channels: C, downsample, min, max } = model.manifest.latent;
  const S = model.manifest.clip.inputSize;
  const dims = [1, C, r.height / downsample, r.width / downsample];

  const bases = [];
  for (const prompts of r.segments) bases.push(await promptFeeds(model, prompts, r.loop));
  const rng = new Mulberry32(r.seed);
  const z = await initialLatent(model, r, rng);
  // bundles exported before Et and Ts lack their inputs
  const ettsNeutral = stepInputs.includes('tps') ? neutralEtts(r.cutn, S) : undefined;
  let optimiser = createOptimiser(r.optimiser, z.length, r.lr);
  const videoFrames: Uint8Array[] = [];
  const loopStart = now();
  const plateau = r.autoStop ? new PlateauDetector(r.autoStop.window, r.autoStop.delta) : undefined;
  let stepsRun = r.steps;

  for (let i = 0; i < r.steps; i++) {
    if (hooks.aborted()) throw abortError();
    if (r.zoom && i % r.zoom.every === 0) {
      videoFrames.push(await zoomInPlace(model, r, z, dims));
      optimiser = createOptimiser(r.optimiser, z.length, r.lr); // generate.py re-creates it
    }
    const base = bases[Math.floor(i / r.storyEvery) % bases.length]!; // a story cycles, like -cpe
    const feeds: Record<string, HostTensor> = {
      ...base,
      z: f32(z, dims),
      ...stepDraws(rng, r, S, stepInputs, ettsNeutral),
    };
    const missing = stepInputs.filter((n) => !(n in feeds));
    if (missing.length)
      throw new ModelBundleError(
        `step graph of '${model.name}' wants inputs the engine does not know: ${missing.join(', ')}`,
        model.name,
      );
    const out = await graph.run(Object.fromEntries(stepInputs.map((n) => [n, feeds[n]!])));
    const grad = out.grad;
    if (grad?.type !== 'float32' || grad.data.length !== z.length)
      throw new ModelBundleError(`step graph of '${model.name}' gave no usable 'grad'`, model.name);
    let frame: Uint8Array | undefined;
    if (i % r.frameEvery === 0) {
      const image = out.image;
      if (image?.type === 'float32')
        frame = await encodeFrame(tensorToRgb(image.data, r.width, r.height), r.width, r.height);
    }
    optimiser.step(z, withInitWeight(grad.data, z, r.initWeight, i));
    clampPerChannel(z, C, min, max);
    const elapsed = (now() - loopStart) / 1000;
    hooks.onProgress({
      step: i + 1,
      total: r.steps,
      itPerSec: elapsed > 0 ? (i + 1) / elapsed : 0,
      frame,
    });
    const loss = out.loss;
    if (plateau && loss?.type === 'float32' && plateau.push(loss.data[0]!)) {
      stepsRun = i + 1;
      break;
    }
  }
  if (hooks.aborted()) throw abortError();

  const image = await runGraph(model, 'decoder', model.graphs.decoder, { z: f32(z, dims) }, 'image');
  const png = await encodeFinalPng(
    tensorToRgb(image, r.width, r.height),
    r.width,
    r.height,
    renderMetadata(model, r, stepsRun),
  );
  if (r.zoom) videoFrames.push(tensorToRgb(image, r.width, r.height));
  return {
    png,
    video: r.zoom ? await encodeTimelapse(videoFrames, r.width, r.height, 100) : undefined,
    width: r.width,
    height: r.height,
    seed: r.seed,
    steps: stepsRun,
    elapsedMs: Math.round(now() - started),
  };
}
