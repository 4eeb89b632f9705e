/**
 * A small deterministic `Engine` for farm tests: sleeps `stepMs` per step (asynchronously, so
 * like the real engine it leaves the event loop free), reports progress every step with a tiny
 * WebP frame every `frameEvery` steps, and returns a small PNG whose colour depends on the seed.
 * Prompts steer failures: a prompt containing `explode` throws a transient error on every
 * delivery; `gibberish` is bad input (`EngineInputError`).
 */
import sharp from 'sharp';
import {
  EngineInputError,
  type Engine,
  type RenderProgress,
  type RenderRequest,
  type RenderResult,
} from '../../renderer/src/engine/engine.js';

export interface TestEngineOptions {
  model?: string;
  stepMs?: number;
}

function abortError(): Error {
  const e = new Error('The render was aborted');
  e.name = 'AbortError';
  return e;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function colour(seed: number, step: number): { r: number; g: number; b: number } {
  return { r: (seed * 37 + step) % 256, g: (seed * 91) % 256, b: (seed * 13 + 2 * step) % 256 };
}

async function solid(
  width: number,
  height: number,
  c: { r: number; g: number; b: number },
  format: 'webp' | 'png',
): Promise<Uint8Array> {
  const img = sharp({ create: { width, height, channels: 3, background: c } });
  const buf = format === 'webp' ? await img.webp({ quality: 50 }).toBuffer() : await img.png().toBuffer();
  return new Uint8Array(buf);
}

export class TestEngine implements Engine {
  readonly model: string;
  readonly executionProvider = 'test';
  readonly #stepMs: number;
  renders = 0;

  constructor(options: TestEngineOptions = {}) {
    this.model = options.model ?? 'tiny-shapes';
    this.#stepMs = options.stepMs ?? 20;
  }

  async render(
    request: RenderRequest,
    options: { signal?: AbortSignal; onProgress?: (p: RenderProgress) => void },
  ): Promise<RenderResult> {
    const started = Date.now();
    this.renders += 1;
    const texts = request.prompts.flatMap((p) => (p.kind === 'text' ? [p.text] : []));
    if (texts.some((t) => t.includes('gibberish'))) {
      throw new EngineInputError(
        'Unknown words in the prompt: gibberish. Known words: red, green, blue, disc, square.',
        'unknown-words',
      );
    }
    const frameEvery = request.frameEvery ?? 10;
    const size = { w: Math.min(request.width, 32), h: Math.min(request.height, 32) };
    for (let step = 1; step <= request.steps; step++) {
      await sleep(this.#stepMs, options.signal);
      if (step === 1 && texts.some((t) => t.includes('explode')))
        throw new Error('the test engine exploded (as asked)');
      const itPerSec = step / ((Date.now() - started) / 1000);
      const frame =
        step % frameEvery === 0 ? await solid(size.w, size.h, colour(request.seed, step), 'webp') : undefined;
      options.onProgress?.({ step, total: request.steps, itPerSec, frame });
    }
    const png = await solid(request.width, request.height, colour(request.seed, request.steps), 'png');
    return {
      png,
      width: request.width,
      height: request.height,
      seed: request.seed,
      steps: request.steps,
      elapsedMs: Date.now() - started,
    };
  }

  async close(): Promise<void> {}
}
