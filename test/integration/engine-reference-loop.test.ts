/**
 * The reference loop (step interface 2, generate.py's) in the real engine on the bundled
 * tiny-shapes model: same seed and options ⇒ the same PNG bytes; options change the result;
 * bad options are refused before any step runs.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RenderRequest } from '../../renderer/src/engine/engine.js';
import { createOnnxEngine, type OnnxEngine } from '../../renderer/src/engine/onnx-engine.js';
import { readPngText } from '../../renderer/src/engine/png-text.js';
import { silentLogger } from '../../shared/src/logger.js';
import { modelsDir } from '../quality/fixtures.js';

let engine: OnnxEngine;

function request(over: Partial<RenderRequest> = {}): RenderRequest {
  return {
    prompts: [{ kind: 'text', text: 'a red square on a blue background', weight: 1 }],
    seed: 11,
    width: 64,
    height: 64,
    steps: 6,
    loop: 'reference',
    ...over,
  };
}

beforeAll(async () => {
  engine = await createOnnxEngine({ modelsDir, model: 'tiny-shapes', ep: 'cpu', log: silentLogger() });
});

afterAll(async () => {
  await engine?.close();
});

describe('reference loop', () => {
  it('same seed and options give the same bytes; another seed does not', { timeout: 120_000 }, async () => {
    const opts = {
      augments: ['Af', 'Pe', 'Ji', 'Er', 'Sh', 'Gn'] as RenderRequest['augments'],
      optimiser: 'RAdam' as const,
    };
    const a = await engine.render(request(opts), {});
    const b = await engine.render(request(opts), {});
    const c = await engine.render(request({ ...opts, seed: 12 }), {});
    expect(Buffer.from(a.png).equals(Buffer.from(b.png))).toBe(true);
    expect(Buffer.from(a.png).equals(Buffer.from(c.png))).toBe(false);
    const params = JSON.parse(readPngText(a.png).parameters!) as Record<string, unknown>;
    expect(params).toMatchObject({ loop: 'reference', optimiser: 'RAdam', augments: opts.augments });
    // the bundle's reference defaults carry generate.py's init weight (models/train-tiny.sh, session 14)
    expect(params.initWeight).toBe(engine.manifest.reference!.initWeight);
    expect(params.initWeight).toBeGreaterThan(0);
  });

  it('Et and Ts: the same seed gives the same bytes, and they change the image', {
    timeout: 120_000,
  }, async () => {
    const augments: RenderRequest['augments'] = ['Af', 'Pe', 'Ji', 'Er', 'Et', 'Ts'];
    const a = await engine.render(request({ augments }), {});
    const b = await engine.render(request({ augments }), {});
    const plain = await engine.render(request({ augments: ['Af', 'Pe', 'Ji', 'Er'] }), {});
    expect(Buffer.from(a.png).equals(Buffer.from(b.png))).toBe(true);
    expect(Buffer.from(a.png).equals(Buffer.from(plain.png))).toBe(false);
  });

  it('the cut method, the augments and the init weight change the image', { timeout: 120_000 }, async () => {
    const base = await engine.render(request(), {});
    for (const over of [{ cutMethod: 'original' as const }, { augments: [] }, { initWeight: 50 }]) {
      const other = await engine.render(request(over), {});
      expect(Buffer.from(other.png).equals(Buffer.from(base.png)), JSON.stringify(over)).toBe(false);
    }
  });

  it('the classic loop stays available and deterministic, its metadata unchanged', {
    timeout: 120_000,
  }, async () => {
    const a = await engine.render(request({ loop: 'classic' }), {});
    const b = await engine.render(request({ loop: 'classic' }), {});
    expect(Buffer.from(a.png).equals(Buffer.from(b.png))).toBe(true);
    expect(JSON.parse(readPngText(a.png).parameters!)).not.toHaveProperty('loop');
  });

  it('a story switches prompts every storyEvery steps and says so in the PNG', {
    timeout: 120_000,
  }, async () => {
    const story = [[{ kind: 'text' as const, text: 'a green circle on a yellow background', weight: 1 }]];
    const early = await engine.render(request({ story, storyEvery: 6 }), {}); // switches after the last step
    const plain = await engine.render(request(), {});
    const switched = await engine.render(request({ story, storyEvery: 2 }), {});
    expect(readPngText(switched.png).prompt).toBe(
      'a red square on a blue background ^ a green circle on a yellow background',
    );
    const pixels = async (png: Uint8Array) => Buffer.from(await sharp(png).raw().toBuffer());
    expect((await pixels(early.png)).equals(await pixels(plain.png))).toBe(true);
    expect((await pixels(switched.png)).equals(await pixels(plain.png))).toBe(false);
  });

  it('auto-stop ends the render on a plateau and says where', { timeout: 120_000 }, async () => {
    const r = await engine.render(request({ steps: 400, autoStopWindow: 10, autoStopDelta: 0.01 }), {});
    expect(r.steps).toBeLessThan(400);
    expect(r.steps).toBeGreaterThanOrEqual(20);
    expect(JSON.parse(readPngText(r.png).parameters!)).toMatchObject({ stepsRun: r.steps });
  });

  it('a zoom video: a frame every zoomEvery steps plus the last, the same bytes each time', {
    timeout: 120_000,
  }, async () => {
    const opts = { steps: 12, zoomEvery: 4, zoomScale: 1.05, zoomShiftX: 1 };
    const a = await engine.render(request(opts), {});
    const b = await engine.render(request(opts), {});
    expect(a.video).toBeDefined();
    expect(Buffer.from(a.video!).equals(Buffer.from(b.video!))).toBe(true);
    expect((await sharp(a.video!).metadata()).pages).toBe(4);
    const plain = await engine.render(request({ steps: 12 }), {});
    expect(plain.video).toBeUndefined();
    expect(Buffer.from(plain.png).equals(Buffer.from(a.png))).toBe(false);
  });

  it('refuses a bad option with its identifier', async () => {
    await expect(engine.render(request({ augments: ['Af', 'Nope'] as never }), {})).rejects.toMatchObject({
      name: 'EngineInputError',
      identifier: 'bad-augments',
    });
    await expect(engine.render(request({ cutn: 1000 }), {})).rejects.toMatchObject({
      identifier: 'bad-cutn',
    });
  });
});
