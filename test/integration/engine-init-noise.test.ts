/**
 * Init noise (generate.py's -in pixels|gradient) in the real engine on the bundled tiny-shapes
 * model: the same seed and options give the same PNG bytes; each kind starts elsewhere; an init
 * image wins over init noise, as in generate.py.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RenderRequest } from '../../renderer/src/engine/engine.js';
import { createOnnxEngine, type OnnxEngine } from '../../renderer/src/engine/onnx-engine.js';
import { readPngText } from '../../renderer/src/engine/png-text.js';
import { silentLogger } from '../../shared/src/logger.js';
import { modelsDir } from '../quality/fixtures.js';

let engine: OnnxEngine;

const request = (over: Partial<RenderRequest> = {}): RenderRequest => ({
  prompts: [{ kind: 'text', text: 'a red square on a blue background', weight: 1 }],
  seed: 21,
  width: 64,
  height: 64,
  steps: 3,
  ...over,
});
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

beforeAll(async () => {
  engine = await createOnnxEngine({ modelsDir, model: 'tiny-shapes', ep: 'cpu', log: silentLogger() });
});

afterAll(async () => {
  await engine?.close();
});

describe('init noise', () => {
  it('is deterministic: same seed and kind, same bytes; another seed or kind, another picture', {
    timeout: 120_000,
  }, async () => {
    const pixels = await engine.render(request({ initNoise: 'pixels' }), {});
    expect(same(pixels.png, (await engine.render(request({ initNoise: 'pixels' }), {})).png)).toBe(true);
    const gradient = await engine.render(request({ initNoise: 'gradient' }), {});
    expect(same(gradient.png, (await engine.render(request({ initNoise: 'gradient' }), {})).png)).toBe(true);
    const plain = await engine.render(request(), {});
    const otherSeed = await engine.render(request({ initNoise: 'pixels', seed: 22 }), {});
    for (const other of [gradient, plain, otherSeed]) expect(same(pixels.png, other.png)).toBe(false);
    expect(same(gradient.png, plain.png)).toBe(false);
    expect(JSON.parse(readPngText(gradient.png).parameters!)).toMatchObject({ initNoise: 'gradient' });
    // the reference loop takes it too
    const ref = request({ initNoise: 'gradient', loop: 'reference' });
    expect(same((await engine.render(ref, {})).png, (await engine.render(ref, {})).png)).toBe(true);
  });

  it('gives way to an init image, as in generate.py', { timeout: 120_000 }, async () => {
    const initImage = new Uint8Array(
      await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3050a0' } })
        .png()
        .toBuffer(),
    );
    const withImage = await engine.render(request({ initImage }), {});
    const both = await engine.render(request({ initImage, initNoise: 'pixels' }), {});
    expect(same(withImage.png, both.png)).toBe(true);
  });
});
