/**
 * The real engine (worker thread + onnxruntime-node CPU) on the bundled tiny-shapes model:
 * determinism, progress, cancellation and every bad input of the Engine issue.
 */
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EngineInputError,
  type RenderProgress,
  type RenderRequest,
} from '../../renderer/src/engine/engine.js';
import { drawScene } from '../support/judge.js';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerInit } from '../../renderer/src/engine/worker-protocol.js';
import {
  createOnnxEngine,
  EngineCrashedError,
  spawnWorker,
  type OnnxEngine,
} from '../../renderer/src/engine/onnx-engine.js';
import { readPngText } from '../../renderer/src/engine/png-text.js';
import { silentLogger } from '../../shared/src/logger.js';
import { hugePngHeader, modelsDir, repoRoot } from '../quality/fixtures.js';

let engine: OnnxEngine;
const log = silentLogger();

function request(over: Partial<RenderRequest> = {}): RenderRequest {
  return {
    prompts: [{ kind: 'text', text: 'a red circle on a blue background', weight: 1 }],
    seed: 7,
    width: 64,
    height: 64,
    steps: 12,
    frameEvery: 4,
    ...over,
  };
}

async function inputError(p: Promise<unknown>): Promise<EngineInputError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EngineInputError);
  return err as EngineInputError;
}

beforeAll(async () => {
  engine = await createOnnxEngine({ modelsDir, model: 'tiny-shapes', ep: 'cpu', log });
});

afterAll(async () => {
  await engine?.close();
});

describe('OnnxEngine on tiny-shapes (CPU)', () => {
  it('renders a PNG of the requested size with the prompt and parameters in its metadata', async () => {
    const progress: RenderProgress[] = [];
    const result = await engine.render(request(), { onProgress: (p) => progress.push(p) });
    const meta = await sharp(result.png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 64, 64]);
    expect(result).toMatchObject({ width: 64, height: 64, seed: 7, steps: 12 });
    const text = readPngText(result.png);
    expect(text.prompt).toBe('a red circle on a blue background');
    expect(JSON.parse(text.parameters!)).toMatchObject({
      model: 'tiny-shapes',
      seed: 7,
      steps: 12,
      size: '64x64',
      executionProvider: 'cpu',
    });
    expect(progress.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(progress.every((p) => p.total === 12 && p.itPerSec > 0)).toBe(true);
    const frames = progress.filter((p) => p.frame);
    expect(frames.map((p) => p.step)).toEqual([1, 5, 9]); // steps 0, 4, 8 (0-based) every 4
    expect((await sharp(frames[0]!.frame!).metadata()).format).toBe('webp');
  });

  it('gives byte-identical PNGs for the same prompt, seed and parameters, also from a fresh engine', async () => {
    const a = await engine.render(request({ seed: 123 }), {});
    const b = await engine.render(request({ seed: 123 }), {});
    const other = await createOnnxEngine({ modelsDir, model: 'tiny-shapes', ep: 'cpu', log });
    const c = await other.render(request({ seed: 123 }), {}).finally(() => other.close());
    expect(Buffer.from(a.png).equals(Buffer.from(b.png))).toBe(true);
    expect(Buffer.from(a.png).equals(Buffer.from(c.png))).toBe(true);
    const d = await engine.render(request({ seed: 124 }), {});
    expect(Buffer.from(a.png).equals(Buffer.from(d.png))).toBe(false);
  });

  it('stops within one step when the signal aborts, rejects with AbortError, and keeps working', async () => {
    const controller = new AbortController();
    let after = 0;
    const err = await engine
      .render(request({ steps: 200 }), {
        signal: controller.signal,
        onProgress: (p) => {
          if (controller.signal.aborted) after++;
          if (p.step === 3) controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(after).toBeLessThanOrEqual(1);
    const next = await engine.render(request({ steps: 2 }), {});
    expect(next.steps).toBe(2);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const err = await engine.render(request(), { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
  });

  it('names unknown words and lists the words it knows', async () => {
    const err = await inputError(
      engine.render(request({ prompts: [{ kind: 'text', text: 'a mauve dodecahedron', weight: 1 }] }), {}),
    );
    expect(err.identifier).toBe('unknown-words');
    expect(err.message).toMatch(/'mauve', 'dodecahedron'/);
    expect(err.message).toMatch(/It knows: .*red.*circle/);
  });

  it.each([
    ['no prompts', { prompts: [] }, 'empty-prompt'],
    ['an empty prompt', { prompts: [{ kind: 'text' as const, text: '  ', weight: 1 }] }, 'empty-prompt'],
    [
      'a 10 000-character prompt',
      { prompts: [{ kind: 'text' as const, text: 'red '.repeat(2500), weight: 1 }] },
      'prompt-too-long',
    ],
    [
      'weights that sum to 0',
      {
        prompts: [
          { kind: 'text' as const, text: 'red', weight: 1 },
          { kind: 'text' as const, text: 'blue', weight: -1 },
        ],
      },
      'weights-not-positive',
    ],
    [
      'a negative weight alone',
      { prompts: [{ kind: 'text' as const, text: 'red', weight: -2 }] },
      'weights-not-positive',
    ],
    ['a non-image init file', { initImage: new TextEncoder().encode('{"not": "an image"}') }, 'bad-image'],
    ['a 30000×30000 PNG header', { initImage: hugePngHeader(30000, 30000) }, 'image-too-large'],
    ['a size the model lacks', { width: 512, height: 512 }, 'unsupported-size'],
    ['zero steps', { steps: 0 }, 'bad-steps'],
    ['a fractional seed', { seed: 1.5 }, 'bad-seed'],
  ])('rejects %s with a clear EngineInputError', async (_name, over, identifier) => {
    const started = performance.now();
    const err = await inputError(engine.render(request(over as Partial<RenderRequest>), {}));
    expect(err.identifier).toBe(identifier);
    expect(err.message.length).toBeGreaterThan(10);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('starts from an init image and takes image prompts', async () => {
    const scene = drawScene({
      colour: 'yellow',
      shape: 'square',
      background: 'purple',
      width: 64,
      height: 64,
      cx: 32,
      cy: 32,
      side: 30,
    });
    const png = await sharp(scene, { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toBuffer();
    const fromInit = await engine.render(request({ initImage: png, steps: 2 }), {});
    const fromNoise = await engine.render(request({ steps: 2 }), {});
    expect(Buffer.from(fromInit.png).equals(Buffer.from(fromNoise.png))).toBe(false);
    expect(JSON.parse(readPngText(fromInit.png).parameters!).initImage).toBe(true);
    const withImagePrompt = await engine.render(
      request({ prompts: [{ kind: 'image', image: png, weight: 1 }], steps: 2 }),
      {},
    );
    expect(readPngText(withImagePrompt.png).prompt).toBe('[image]');
  });

  it('fails the render in flight when its worker dies, then starts a new worker for the next', async () => {
    // The first worker dies from the inside, between two steps (process.exit after it posts the
    // progress of step 2). Terminating it from outside would land in the middle of a native
    // onnxruntime run, which aborts the whole process (Napi::Error → std::terminate).
    const workers: Worker[] = [];
    const spawn = (init: WorkerInit): Worker =>
      workers[workers.push(workers.length === 0 ? spawnDyingWorker(init) : spawnWorker(init)) - 1]!;
    const crashy = await createOnnxEngine({
      modelsDir,
      model: 'tiny-shapes',
      ep: 'cpu',
      log,
      spawnWorker: spawn,
    });
    try {
      const err = await crashy.render(request({ steps: 500 }), {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EngineCrashedError);
      const again = await crashy.render(request({ seed: 123 }), {});
      expect(workers).toHaveLength(2);
      const reference = await engine.render(request({ seed: 123 }), {});
      expect(Buffer.from(again.png).equals(Buffer.from(reference.png))).toBe(true);
    } finally {
      await crashy.close();
    }
  });
});

/** The real engine worker, made to exit (code 13) right after it reports step 2 of a render. */
function spawnDyingWorker(init: WorkerInit): Worker {
  const entry = pathToFileURL(path.resolve(repoRoot, 'renderer/src/engine/engine-worker.ts')).href;
  const tsxDir = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(path.join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const boot = `
    const wt = require('node:worker_threads');
    const post = wt.parentPort.postMessage.bind(wt.parentPort);
    wt.parentPort.postMessage = (m, t) => { post(m, t); if (m && m.type === 'progress' && m.progress.step >= 2) process.exit(13); };
    import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: init, execArgv: [] });
}
