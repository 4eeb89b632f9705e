/**
 * Judges tiny-shapes renders (BUNDLE.md judge) with given render options on a named prompt/seed
 * set that is disjoint from the quality test's (test/quality/tiny-shapes-quality.test.ts uses
 * background offsets 1, 3, 5 and seeds 1…24):
 *   tuning   — seeds 2001…2024, background offset 2, shapes shifted by one: for choosing defaults
 *   heldout  — seeds 1001…1024, background offset 7 (then 1, 3), shapes shifted by two: for reporting only
 *   wide     — seeds 3001…3056, background offsets 1…7 (one per group of eight), shapes shifted by
 *              one more in each group: for choosing (added 2026-12-04: tuning has only even offsets,
 *              so never a background next to the object's colour in the palette, such as orange
 *              on red, which heldout and final have); --cases 56 covers every offset once
 *   final    — seeds 5001…5024, background offsets 6, 3, 7 per group of eight, shapes shifted by one
 *              more in each group: no (colour, shape, background) triple of the other sets or the
 *              quality test; run once, at the end, for the report (issue #15 item 6)
 *   unseen   — seeds 7001…7056, background offsets 3, 6, 1, 4, 7, 2, 5 (one per group of eight),
 *              shapes shifted by two more in each group (added 2026-12-04, session 11, before any
 *              render of it: heldout and final were each read once for a report and are now also
 *              used to diagnose, so choices may look at every set above; unseen is run once, on
 *              the pick, for the report; read once, 2026-12-04, on the committed tower: colour 94.6 %,
 *              shape 76.8 %); --cases 56 covers every offset once
 *   fresh    — seeds 9001…9112, background offsets 5, 2, 7, 4, 1, 6, 3 (one per group of eight),
 *              shapes shifted by one, and by two more in each group (added 2026-12-04, session 12,
 *              before any render of it: every set above has now been read and used for a choice);
 *              run once, on what is committed at the end of session 12, for the report (read
 *              once, 2026-12-04, on the committed tower: colour 89.3 %, shape 67.0 %);
 *              --cases 112 covers every offset twice
 *   sealed   — seeds 13001…13112, background offsets 4, 1, 6, 3, 7, 5, 2 (one per group of eight),
 *              shapes shifted by two, and by one more in each group (added 2026-12-05, session 13,
 *              before any render of it): read once, on what session 13 commits, for the report;
 *              --cases 112 covers every offset twice
 *   vault    — seeds 15001…15168, background offsets 2, 5, 1, 7, 3, 6, 4, shape i mod 3 (added
 *              2026-12-05, session 14, before any render of it): read once, on what session 14
 *              commits, for the report; --cases 168 is every colour/shape/background triple once
 *              (read once, 2026-12-05, on the bundle with initWeight 2: colour 94.6 %, shape 70.2 %)
 *
 *     nice node --import tsx renderer/scripts/loop-quality.ts --set heldout \
 *       --options '{"loop":"reference","augments":["Af","Pe","Ji","Er"]}' [--cases 8] [--steps 200] \
 *       [--models-dir models/.work/candidates --model c1]   (a candidate bundle; default models/tiny-shapes)
 *       [--verbose]   (each case and what the judge read, on stderr; for the tuning set)
 *       [--from K]    (start at case K: split one set between processes)
 *
 * Prints colour %, shape %, all-three %, mean seconds per render and a `JSON {…}` line.
 */
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { silentLogger } from '../../shared/src/logger.js';
import { modelsDir } from '../../test/quality/fixtures.js';
import type { RenderRequest } from '../src/engine/engine.js';
import { COLOURS, judgeImage, SHAPES } from '../../test/support/judge.js';
import { createOnnxEngine, type OnnxEngine } from '../src/engine/onnx-engine.js';

/** Case i of a set: colour i mod 8, background offset bgs[⌊i/8⌋ mod |bgs|], shape (i + shape + shapeStep·⌊i/8⌋) mod 3. */
const SETS = {
  tuning: { seed: 2001, bgs: [2, 4, 6], shape: 1, shapeStep: 0 },
  heldout: { seed: 1001, bgs: [7, 1, 3], shape: 2, shapeStep: 0 },
  wide: { seed: 3001, bgs: [1, 2, 3, 4, 5, 6, 7], shape: 0, shapeStep: 1 },
  final: { seed: 5001, bgs: [6, 3, 7], shape: 1, shapeStep: 1 },
  unseen: { seed: 7001, bgs: [3, 6, 1, 4, 7, 2, 5], shape: 2, shapeStep: 2 },
  fresh: { seed: 9001, bgs: [5, 2, 7, 4, 1, 6, 3], shape: 1, shapeStep: 2 },
  sealed: { seed: 13001, bgs: [4, 1, 6, 3, 7, 5, 2], shape: 2, shapeStep: 1 },
  vault: { seed: 15001, bgs: [2, 5, 1, 7, 3, 6, 4], shape: 0, shapeStep: 0 },
} as const;

function cases(set: keyof typeof SETS, n: number) {
  const s = SETS[set];
  return Array.from({ length: n }, (_, i) => ({
    colour: COLOURS[i % 8]!,
    shape: SHAPES[(i + s.shape + s.shapeStep * Math.floor(i / 8)) % 3]!,
    background: COLOURS[(i + s.bgs[Math.floor(i / 8) % s.bgs.length]!) % 8]!,
    seed: s.seed + i,
  }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      set: { type: 'string', default: 'tuning' },
      options: { type: 'string', default: '{}' },
      cases: { type: 'string', default: '24' },
      from: { type: 'string', default: '0' },
      steps: { type: 'string' },
      threads: { type: 'string', default: '2' },
      model: { type: 'string', default: 'tiny-shapes' },
      verbose: { type: 'boolean', default: false },
      'models-dir': { type: 'string', default: modelsDir },
    },
  });
  const set = values.set as keyof typeof SETS;
  if (!(set in SETS)) throw new Error(`--set must be ${Object.keys(SETS).join(', ')}`);
  const extra = JSON.parse(values.options!) as Partial<RenderRequest>;
  const engine = await createOnnxEngine({
    modelsDir: values['models-dir']!,
    model: values.model!,
    ep: 'cpu',
    log: silentLogger(),
    intraOpNumThreads: Number(values.threads),
  });
  const steps = values.steps ? Number(values.steps) : engine.manifest.defaults.steps;
  const list = cases(set, Number(values.from) + Number(values.cases)).slice(Number(values.from));
  const started = performance.now();
  const rows = [];
  try {
    for (const c of list) {
      const row = await judgeCase(engine, c, steps, extra);
      rows.push(row);
      if (values.verbose) {
        const got = `${row.read.colour} ${row.read.shape} on ${row.read.background}`;
        console.error(
          `${c.seed} a ${c.colour} ${c.shape} on a ${c.background} background -> ${got}${row.colour && row.shape ? '' : '  ✗'}`,
        );
      }
    }
  } finally {
    await engine.close();
  }
  const n = list.length;
  const count = (f: (r: (typeof rows)[number]) => boolean): number => rows.filter(f).length;
  const pct = (k: number): number => Math.round((1000 * k) / n) / 10;
  const secs = (performance.now() - started) / 1000 / n;
  const colour = pct(count((r) => r.colour));
  const shape = pct(count((r) => r.shape));
  const all = pct(count((r) => r.colour && r.shape));
  const meanSteps = rows.reduce((s, r) => s + r.steps, 0) / n;
  console.log(
    `${set}: colour ${colour} %, shape ${shape} %, all ${all} %, ${secs.toFixed(1)} s/render, ${meanSteps.toFixed(1)} steps/render`,
  );
  console.log(
    `JSON ${JSON.stringify({ set, options: extra, steps, n, colour, shape, all, secs, meanSteps })}`,
  );
}

async function judgeCase(
  engine: OnnxEngine,
  c: ReturnType<typeof cases>[number],
  steps: number,
  extra: Partial<RenderRequest>,
): Promise<{ colour: boolean; shape: boolean; steps: number; read: ReturnType<typeof judgeImage> }> {
  const { png, steps: ran } = await engine.render(
    {
      prompts: [
        { kind: 'text', text: `a ${c.colour} ${c.shape} on a ${c.background} background`, weight: 1 },
      ],
      seed: c.seed,
      width: 64,
      height: 64,
      steps,
      ...extra,
    },
    {},
  );
  const j = judgeImage(await sharp(png).removeAlpha().raw().toBuffer(), 64, 64);
  return {
    colour: j.background === c.background && j.colour === c.colour,
    shape: j.shape === c.shape,
    steps: ran,
    read: j,
  };
}

await main();
