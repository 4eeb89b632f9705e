/**
 * Image prompts and blends on the bundled tiny-shapes model, judged by the rules of
 * models/BUNDLE.md (test/support/judge.ts). The prompts are pictures of the shapes world drawn
 * with the judge's own palette; nothing in the request names a colour in words.
 *
 * Measured 2026-12-03 on this repo's 2-core x86-64 machine (200 steps, seeds 1–4):
 * - a red circle on white as the only prompt: red circle on white, 3/3 seeds; on black: 3/3.
 * - blend of "red circle on white" + "white square on blue": red on blue, white on blue, red on
 *   white, white on blue — each render takes the object of one picture and the background of
 *   one, and only their colours appear. A plain blue picture as the second image did not steer
 *   at all (CLIP of a flat colour is weak), nor did a pixel-average start help (it pulled every
 *   render to the averaged colours), which is why `/blend` starts from noise.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WeightedPrompt } from '../../renderer/src/engine/engine.js';
import { createOnnxEngine, type OnnxEngine } from '../../renderer/src/engine/onnx-engine.js';
import { silentLogger } from '../../shared/src/logger.js';
import { drawScene, judgeImage, type Judgement, type PaletteColour, type Shape } from '../support/judge.js';
import { modelsDir, repoRoot } from './fixtures.js';

let engine: OnnxEngine;
const artifacts = path.join(repoRoot, 'test-artifacts', 'quality', 'image-prompts');

beforeAll(async () => {
  engine = await createOnnxEngine({ modelsDir, model: 'tiny-shapes', ep: 'cpu', log: silentLogger() });
  await mkdir(artifacts, { recursive: true });
});

afterAll(async () => {
  await engine?.close();
});

/** A 64×64 PNG of one scene of the shapes world. */
async function picture(colour: PaletteColour, shape: Shape, background: PaletteColour, side = 30) {
  const rgb = drawScene({ colour, shape, background, width: 64, height: 64, cx: 32, cy: 32, side });
  return new Uint8Array(
    await sharp(rgb, { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toBuffer(),
  );
}

/** Renders with image prompts only (default steps) and judges the result. */
async function render(name: string, images: Uint8Array[], seed: number): Promise<Judgement> {
  const prompts: WeightedPrompt[] = images.map((image) => ({ kind: 'image', image, weight: 1 }));
  const { png, width, height } = await engine.render(
    { prompts, seed, width: 64, height: 64, steps: engine.manifest.defaults.steps },
    {},
  );
  await writeFile(path.join(artifacts, `${name}-seed${seed}.png`), png);
  const j = judgeImage(await sharp(png).removeAlpha().raw().toBuffer(), width, height);
  process.stdout.write(`${name} seed ${seed}: ${j.colour ?? '-'} ${j.shape ?? '-'} on ${j.background}\n`);
  return j;
}

describe('image prompts on tiny-shapes (BUNDLE.md judge)', () => {
  it('a picture of a red circle as the only prompt paints a red object on that background', async () => {
    for (const background of ['white', 'black'] as const) {
      const prompt = await picture('red', 'circle', background);
      for (const seed of [1, 2, 3]) {
        const j = await render(`red-circle-on-${background}`, [prompt], seed);
        expect(j.colour, `seed ${seed} on ${background}`).toBe('red');
        expect(j.background, `seed ${seed} on ${background}`).toBe(background);
      }
    }
  }, 300_000);

  it('a blend of a red circle on white and a white square on blue takes from both pictures', async () => {
    const a = await picture('red', 'circle', 'white');
    const b = await picture('white', 'square', 'blue', 16);
    const judged: Judgement[] = [];
    for (const seed of [1, 2, 3, 4])
      judged.push(await render('blend-red-circle-white-square-blue', [a, b], seed));
    const summary = judged.map((j) => `${j.colour} on ${j.background}`).join(', ');
    // Only the pictures' colours appear …
    for (const j of judged) {
      expect(['red', 'white'], summary).toContain(j.colour);
      expect(['white', 'blue'], summary).toContain(j.background);
    }
    // … and each picture steers some renders: the red object of one, the blue background of the other.
    expect(
      judged.some((j) => j.colour === 'red'),
      summary,
    ).toBe(true);
    expect(
      judged.some((j) => j.background === 'blue'),
      summary,
    ).toBe(true);
    expect(
      judged.some((j) => j.colour === 'red' && j.background === 'blue'),
      summary,
    ).toBe(true);
  }, 300_000);
});
