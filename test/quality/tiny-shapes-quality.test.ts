/**
 * Quality of the bundled tiny-shapes model with the engine's default settings, judged by the
 * rules of models/BUNDLE.md (renderer/src/engine/judge.ts) over 24 "a <colour> <shape> on a
 * <bg> background" prompts that use every colour three times as object and three times as
 * background, and every shape eight times. Renders land in test-artifacts/quality/.
 *
 * The Engine issue's target is background and object colour right in ≥ 90 % and shape in ≥ 70 %.
 * The bundled model does not reach it yet (measured 2026-11-27: 75 % and 42 %; shape is limited by
 * the tiny CLIP, see the issue note). So this file asserts two things, both able to fail:
 * - the measured level as a floor, so a change that makes renders worse is caught;
 * - `it.fails` on the target: it starts failing the day the model reaches the target, and then
 *   becomes a plain `it` (and the floor goes up to the target).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLOURS, judgeImage, SHAPES, type Judgement, type PaletteColour, type Shape } from '../../renderer/src/engine/judge.js';
import { createOnnxEngine, type OnnxEngine } from '../../renderer/src/engine/onnx-engine.js';
import { silentLogger } from '../../shared/src/logger.js';
import { modelsDir, repoRoot } from './fixtures.js';

interface Case {
  colour: PaletteColour;
  shape: Shape;
  background: PaletteColour;
  seed: number;
}

/** 24 distinct (colour, shape) pairs; background offsets 1, 3, 5 keep it different from the colour. The same prompts and seeds as `quality_prompts(24)` in models/tessera_models/reference_loop.py, so the figures compare. */
export function qualityCases(): Case[] {
  return Array.from({ length: 24 }, (_, i) => ({
    colour: COLOURS[i % 8]!,
    shape: SHAPES[i % 3]!,
    background: COLOURS[(i + 1 + 2 * Math.floor(i / 8)) % 8]!,
    seed: i + 1,
  }));
}

let engine: OnnxEngine;
const artifacts = path.join(repoRoot, 'test-artifacts', 'quality');

beforeAll(async () => {
  engine = await createOnnxEngine({ modelsDir, model: 'tiny-shapes', ep: 'cpu', log: silentLogger() });
  await mkdir(artifacts, { recursive: true });
});

afterAll(async () => {
  await engine?.close();
});

interface Scores {
  n: number;
  colour: number;
  shape: number;
  summary: string;
}

/** Floors: the level measured when the bundle was committed, minus one prompt of slack. */
const FLOOR = { colour: 0.7, shape: 0.375 };
/** The Engine issue's target. */
const TARGET = { colour: 0.9, shape: 0.7 };

let scores: Scores;

async function measure(): Promise<Scores> {
  const cases = qualityCases();
  const rows: { c: Case; j: Judgement }[] = [];
  const started = performance.now();
  for (const c of cases) {
    const prompt = `a ${c.colour} ${c.shape} on a ${c.background} background`;
    const { png, width, height } = await engine.render({ prompts: [{ kind: 'text', text: prompt, weight: 1 }], seed: c.seed, width: 64, height: 64, steps: engine.manifest.defaults.steps }, {});
    await writeFile(path.join(artifacts, `${prompt.replaceAll(' ', '-')}.png`), png);
    const rgb = await sharp(png).removeAlpha().raw().toBuffer();
    rows.push({ c, j: judgeImage(rgb, width, height) });
  }
  const seconds = (performance.now() - started) / 1000;
  const colourOk = rows.filter(({ c, j }) => j.background === c.background && j.colour === c.colour).length;
  const shapeOk = rows.filter(({ c, j }) => j.shape === c.shape).length;
  const allOk = rows.filter(({ c, j }) => j.background === c.background && j.colour === c.colour && j.shape === c.shape).length;
  const n = rows.length;
  const pct = (k: number): string => `${((100 * k) / n).toFixed(1)} %`;
  const lines = rows.map(
    ({ c, j }) =>
      `${j.background === c.background && j.colour === c.colour ? 'ok ' : 'BAD'} ${j.shape === c.shape ? 'ok ' : 'BAD'}  a ${c.colour} ${c.shape} on a ${c.background} background  →  ${j.colour ?? '-'} ${j.shape ?? '-'} on ${j.background} (fill ${j.fill.toFixed(2)})`,
  );
  const summary = `tiny-shapes quality over ${n} prompts (${engine.manifest.defaults.steps} steps, ${seconds.toFixed(1)} s): background+colour ${colourOk}/${n} = ${pct(colourOk)}, shape ${shapeOk}/${n} = ${pct(shapeOk)}, all three ${allOk}/${n} = ${pct(allOk)}`;
  await writeFile(path.join(artifacts, 'summary.txt'), `${summary}\n${lines.join('\n')}\n`);
  process.stdout.write(`\n${lines.join('\n')}\n${summary}\n`);
  return { n, colour: colourOk / n, shape: shapeOk / n, summary };
}

describe('tiny-shapes quality (BUNDLE.md judge, default settings)', () => {
  beforeAll(async () => {
    scores = await measure();
  }, 600_000);

  it(`keeps background + object colour ≥ ${FLOOR.colour * 100} % and shape ≥ ${FLOOR.shape * 100} % of 24 prompts (no regression)`, () => {
    expect(scores.colour, scores.summary).toBeGreaterThanOrEqual(FLOOR.colour);
    expect(scores.shape, scores.summary).toBeGreaterThanOrEqual(FLOOR.shape);
  });

  // Known gap, tracked in the Engine issue: see the header comment.
  it.fails(`does not yet reach the target (colour ≥ ${TARGET.colour * 100} %, shape ≥ ${TARGET.shape * 100} %)`, () => {
    expect(scores.colour, scores.summary).toBeGreaterThanOrEqual(TARGET.colour);
    expect(scores.shape, scores.summary).toBeGreaterThanOrEqual(TARGET.shape);
  });
});
