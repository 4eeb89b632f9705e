/**
 * Quality of the bundled tiny-shapes model with the engine's default settings, judged by the
 * rules of models/BUNDLE.md (test/support/judge.ts) over 24 "a <colour> <shape> on a
 * <bg> background" prompts that use every colour three times as object and three times as
 * background, and every shape eight times. Renders land in test-artifacts/quality/.
 *
 * The Engine issue's target is background and object colour right in ≥ 90 % and shape in ≥ 70 %;
 * this file asserts it. Measured 2026-11-27 on the committed bundle (200 steps, this repo's
 * 2-core x86-64 machine): colour 23/24 = 95.8 %, shape 19/24 = 79.2 %, all three 18/24 = 75 %.
 * The margin is one prompt for colour and two for shape. The renders are byte-identical run to run
 * on one machine, but onnxruntime picks its CPU kernels by instruction set, so a CPU with other
 * vector units may round differently and land a prompt or two elsewhere; on prompts and seeds
 * outside this set the same bundle measured colour 96 % and shape 66–71 % (models/train-tiny.sh).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COLOURS,
  judgeImage,
  SHAPES,
  type Judgement,
  type PaletteColour,
  type Shape,
} from '../support/judge.js';
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
function qualityCases(): Case[] {
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

/** The Engine issue's target. */
const TARGET = { colour: 0.9, shape: 0.7 };

let scores: Scores;

async function measure(): Promise<Scores> {
  const cases = qualityCases();
  const rows: { c: Case; j: Judgement }[] = [];
  const started = performance.now();
  for (const c of cases) {
    const prompt = `a ${c.colour} ${c.shape} on a ${c.background} background`;
    const { png, width, height } = await engine.render(
      {
        prompts: [{ kind: 'text', text: prompt, weight: 1 }],
        seed: c.seed,
        width: 64,
        height: 64,
        steps: engine.manifest.defaults.steps,
      },
      {},
    );
    await writeFile(path.join(artifacts, `${prompt.replaceAll(' ', '-')}.png`), png);
    const rgb = await sharp(png).removeAlpha().raw().toBuffer();
    rows.push({ c, j: judgeImage(rgb, width, height) });
  }
  const seconds = (performance.now() - started) / 1000;
  const colourOk = rows.filter(({ c, j }) => j.background === c.background && j.colour === c.colour).length;
  const shapeOk = rows.filter(({ c, j }) => j.shape === c.shape).length;
  const allOk = rows.filter(
    ({ c, j }) => j.background === c.background && j.colour === c.colour && j.shape === c.shape,
  ).length;
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

  it(`gets background + object colour right in ≥ ${TARGET.colour * 100} % and the shape in ≥ ${TARGET.shape * 100} % of 24 prompts`, () => {
    expect(scores.colour, scores.summary).toBeGreaterThanOrEqual(TARGET.colour);
    expect(scores.shape, scores.summary).toBeGreaterThanOrEqual(TARGET.shape);
  });
});
