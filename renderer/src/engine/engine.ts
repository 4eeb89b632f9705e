/**
 * The port between the farm worker and whatever renders. `OnnxEngine` (VQGAN-CLIP on
 * onnxruntime-node, in a worker_thread) is the real one; tests about the queue may pass a
 * small deterministic engine instead.
 */

import type { LoopOptions } from '../../../shared/src/loop-options.js';

/** One weighted prompt, already parsed from `text:weight:stop` (or an image prompt). */
export type WeightedPrompt =
  | { kind: 'text'; text: string; weight: number; stop?: number }
  | { kind: 'image'; image: Uint8Array; weight: number; stop?: number };

/** generate.py's options (shared/src/loop-options.ts): absent ⇒ the bundle's defaults. */
export interface RenderRequest extends LoopOptions {
  prompts: WeightedPrompt[];
  seed: number;
  width: number;
  height: number;
  steps: number;
  cutn?: number;
  lr?: number;
  /** Encoded image bytes (PNG/JPEG/WebP) used as the starting point. */
  initImage?: Uint8Array;
  /** Story: later prompt lists; segment k is used from step k·storyEvery on. */
  story?: WeightedPrompt[][];
  /** Emit a progress frame every N steps (the engine's default when absent). */
  frameEvery?: number;
}

export interface RenderProgress {
  step: number;
  total: number;
  itPerSec: number;
  /** Small WebP of the current image, present on frame steps. */
  frame?: Uint8Array;
}

export interface RenderResult {
  /** Final image as PNG, with the prompt and parameters in its metadata. */
  png: Uint8Array;
  width: number;
  height: number;
  seed: number;
  steps: number;
  elapsedMs: number;
  /** Zoom video (request.zoomEvery): an animated WebP of the frames. */
  video?: Uint8Array;
}

export interface Engine {
  readonly model: string;
  readonly executionProvider: string;
  /** Rejects with an `AbortError` (name) when `signal` aborts; with `EngineInputError` for bad input. */
  render(
    request: RenderRequest,
    options: { signal?: AbortSignal; onProgress?: (progress: RenderProgress) => void },
  ): Promise<RenderResult>;
  close(): Promise<void>;
}

/** Bad input that no retry can fix (unknown words, empty prompt, broken init image …). */
export class EngineInputError extends Error {
  override readonly name = 'EngineInputError';
  constructor(
    message: string,
    readonly identifier: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
