/**
 * Sweeps a bundle's inference defaults (steps, cutn, lr, cutMin, cutPow, noise) against the
 * tiny-shapes quality test (test/quality/tiny-shapes-quality.test.ts: the same 24 prompts and
 * seeds, the BUNDLE.md judge) on the CPU provider:
 *
 *     nice -n 10 node --import tsx renderer/scripts/sweep-defaults.ts \
 *       --steps 100,200 --cutn 8,16 --lr 0.15,0.25 --cutMin 0.5,0.75 --noise 0,0.05 --cutPow 1
 *     nice -n 10 node --import tsx renderer/scripts/sweep-defaults.ts --configs configs.json
 *
 * A grid is the cartesian product of the listed values; a parameter left out keeps the bundle's
 * default. `--configs FILE` reads a JSON array of partial defaults objects instead
 * (e.g. `[{"steps":200,"lr":0.2},{"steps":250,"cutMin":0.9}]`). Options: `--model NAME`
 * (default tiny-shapes), `--models-dir DIR` (default: the test's, $TESSERA_TEST_MODELS_DIR or
 * <repo>/models), `--cases N` (first N of the 24 prompts, for a quick look), `--threads N`
 * (intra-op threads, default 2), `--verbose` (one line per render).
 *
 * The bundle is copied once into a temp folder at the start (so a bundle replaced mid-sweep does
 * not mix two models), and each config gets its own temp models dir whose manifest differs only
 * in `defaults`; graph files are symlinks to the copy, so every sha256 still matches.
 * Output per config: colour %, shape %, all-three %, mean ms per render, and a `JSON {…}` line.
 */
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { silentLogger } from '../../shared/src/logger.js';
import { modelsDir as testModelsDir } from '../../test/quality/fixtures.js';
import { COLOURS, judgeImage, SHAPES, type PaletteColour, type Shape } from '../../test/support/judge.js';
import { createOnnxEngine } from '../src/engine/onnx-engine.js';

const KEYS = ['steps', 'cutn', 'lr', 'cutMin', 'cutPow', 'noise'] as const;
type Key = (typeof KEYS)[number];
type Config = Partial<Record<Key, number>>;

interface Case {
  colour: PaletteColour;
  shape: Shape;
  background: PaletteColour;
  seed: number;
}

/**
 * The quality test's 24 cases (`qualityCases()` in test/quality/tiny-shapes-quality.test.ts,
 * which cannot be imported outside vitest); keep the two in step.
 */
export function qualityCases(): Case[] {
  return Array.from({ length: 24 }, (_, i) => ({
    colour: COLOURS[i % 8]!,
    shape: SHAPES[i % 3]!,
    background: COLOURS[(i + 1 + 2 * Math.floor(i / 8)) % 8]!,
    seed: i + 1,
  }));
}

function numbers(name: string, s: string | undefined): number[] | undefined {
  if (s === undefined) return undefined;
  const xs = s.split(',').map((t) => Number(t.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x)))
    throw new Error(`--${name}: expected comma-separated numbers, got '${s}'`);
  return xs;
}

/** Cartesian product of the given value lists (one config of {} when none is given). */
export function grid(lists: Partial<Record<Key, number[]>>): Config[] {
  let out: Config[] = [{}];
  for (const k of KEYS) {
    const vs = lists[k];
    if (!vs) continue;
    out = out.flatMap((c) => vs.map((v) => ({ ...c, [k]: v })));
  }
  return out;
}

function parseConfigs(text: string, file: string): Config[] {
  const raw: unknown = JSON.parse(text);
  if (!Array.isArray(raw)) throw new Error(`${file}: expected a JSON array of configs`);
  return raw.map((c, i) => {
    if (typeof c !== 'object' || c === null) throw new Error(`${file}: config ${i} is not an object`);
    const out: Config = {};
    for (const [k, v] of Object.entries(c)) {
      if (!(KEYS as readonly string[]).includes(k) || typeof v !== 'number')
        throw new Error(`${file}: config ${i}: unknown key or non-number '${k}'`);
      out[k as Key] = v;
    }
    return out;
  });
}

interface SweepArgs {
  configs: Config[];
  model: string;
  /** The bundle's folder. */
  source: string;
  cases: Case[];
  threads: number;
  verbose: boolean;
}

async function parseSweepArgs(argv: string[]): Promise<SweepArgs> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', default: 'tiny-shapes' },
      'models-dir': { type: 'string' },
      configs: { type: 'string' },
      cases: { type: 'string' },
      threads: { type: 'string', default: '2' },
      verbose: { type: 'boolean', default: false },
      ...Object.fromEntries(KEYS.map((k) => [k, { type: 'string' as const }])),
    },
  });
  const v = values as Record<string, string | boolean | undefined>;
  const configs = v.configs
    ? parseConfigs(await readFile(v.configs as string, 'utf8'), v.configs as string)
    : grid(
        Object.fromEntries(KEYS.map((k) => [k, numbers(k, v[k] as string | undefined)]).filter(([, x]) => x)),
      );
  const model = v.model as string;
  return {
    configs,
    model,
    source: path.join(path.resolve((v['models-dir'] as string | undefined) ?? testModelsDir), model),
    cases: qualityCases().slice(0, v.cases ? Number(v.cases) : 24),
    threads: Number(v.threads),
    verbose: v.verbose === true,
  };
}

interface BundleSnapshot {
  dir: string;
  files: string[];
  manifest: { defaults: Record<string, number> };
}

/** Copies the bundle once, so a bundle replaced mid-sweep does not mix two models. */
async function snapshotBundle(work: string, source: string): Promise<BundleSnapshot> {
  const dir = path.join(work, 'snapshot');
  await mkdir(dir);
  const files = await readdir(source);
  for (const f of files) await copyFile(path.join(source, f), path.join(dir, f));
  const manifest = JSON.parse(
    await readFile(path.join(dir, 'manifest.json'), 'utf8'),
  ) as BundleSnapshot['manifest'];
  return { dir, files, manifest };
}

/** A models dir whose bundle differs from the snapshot only in `defaults` (graphs are symlinks). */
async function modelsDirWithDefaults(
  dir: string,
  model: string,
  snapshot: BundleSnapshot,
  defaults: Record<string, number>,
): Promise<void> {
  const bundleDir = path.join(dir, model);
  await mkdir(bundleDir, { recursive: true });
  for (const f of snapshot.files)
    if (f !== 'manifest.json') await symlink(path.join(snapshot.dir, f), path.join(bundleDir, f));
  await writeFile(
    path.join(bundleDir, 'manifest.json'),
    JSON.stringify({ ...snapshot.manifest, defaults }, null, 2),
  );
}

interface Score {
  colourOk: number;
  shapeOk: number;
  allOk: number;
  ms: number;
}

/** Renders every case with the engine and judges each picture as the quality test does. */
async function scoreCases(
  engine: Awaited<ReturnType<typeof createOnnxEngine>>,
  cases: Case[],
  steps: number,
  verbose: boolean,
): Promise<Score> {
  const score: Score = { colourOk: 0, shapeOk: 0, allOk: 0, ms: 0 };
  for (const c of cases) {
    const prompt = `a ${c.colour} ${c.shape} on a ${c.background} background`;
    const t0 = performance.now();
    const { png, width, height } = await engine.render(
      { prompts: [{ kind: 'text', text: prompt, weight: 1 }], seed: c.seed, width: 64, height: 64, steps },
      {},
    );
    score.ms += performance.now() - t0;
    const rgb = await sharp(png).removeAlpha().raw().toBuffer();
    const j = judgeImage(rgb, width, height);
    const col = j.background === c.background && j.colour === c.colour;
    const shp = j.shape === c.shape;
    score.colourOk += col ? 1 : 0;
    score.shapeOk += shp ? 1 : 0;
    score.allOk += col && shp ? 1 : 0;
    if (verbose)
      process.stdout.write(
        `  ${col ? 'ok ' : 'BAD'} ${shp ? 'ok ' : 'BAD'} ${prompt} → ${j.colour ?? '-'} ${j.shape ?? '-'} on ${j.background} (fill ${j.fill.toFixed(2)})\n`,
      );
  }
  return score;
}

/** One config: its own models dir and engine, the cases scored, one summary line and one JSON line. */
async function sweepOne(args: SweepArgs, work: string, snapshot: BundleSnapshot, ci: number): Promise<void> {
  const cfg = args.configs[ci]!;
  const defaults = { ...snapshot.manifest.defaults, ...cfg };
  const dir = path.join(work, `c${ci}`);
  await modelsDirWithDefaults(dir, args.model, snapshot, defaults);
  const engine = await createOnnxEngine({
    modelsDir: dir,
    model: args.model,
    ep: 'cpu',
    log: silentLogger(),
    intraOpNumThreads: args.threads,
  });
  let score: Score;
  try {
    score = await scoreCases(engine, args.cases, defaults.steps!, args.verbose);
  } finally {
    await engine.close();
  }
  const n = args.cases.length;
  const pct = (k: number): number => Math.round((1000 * k) / n) / 10;
  const r = {
    config: cfg,
    defaults,
    n,
    colourPct: pct(score.colourOk),
    shapePct: pct(score.shapeOk),
    allPct: pct(score.allOk),
    msPerRender: Math.round(score.ms / n),
  };
  process.stdout.write(
    `[${ci + 1}/${args.configs.length}] ${KEYS.map((k) => `${k}=${defaults[k]}`).join(' ')}: colour ${r.colourPct} %, shape ${r.shapePct} %, all ${r.allPct} %, ${r.msPerRender} ms/render\nJSON ${JSON.stringify(r)}\n`,
  );
  await rm(dir, { recursive: true, force: true });
}

async function main(argv: string[]): Promise<number> {
  const args = await parseSweepArgs(argv);
  const work = await mkdtemp(path.join(tmpdir(), 'tessera-sweep-'));
  try {
    const snapshot = await snapshotBundle(work, args.source);
    process.stdout.write(
      `sweep: ${args.model} from ${args.source}, ${args.configs.length} configs × ${args.cases.length} prompts, bundle defaults ${JSON.stringify(snapshot.manifest.defaults)}\n`,
    );
    for (const ci of args.configs.keys()) await sweepOne(args, work, snapshot, ci);
    return 0;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`sweep-defaults: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
