/**
 * Loading and validating a model bundle (models/BUNDLE.md): the manifest's shape, that every
 * graph file is there with the sha256 the manifest says, and that the numbers agree with each
 * other. Every failure is a `ModelBundleError` that names the model and the file.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ModelName } from '../../../shared/src/contracts.js';
import { AUGMENTS, CUT_METHODS, LOOPS, OPTIMISERS } from '../../../shared/src/loop-options.js';

const graphRef = z.object({
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'a sha256 in hex'),
});
const size = z.tuple([z.number().int().positive(), z.number().int().positive()]);

export const BundleManifest = z.looseObject({
  v: z.literal(1),
  name: z.string().min(1),
  description: z.string().optional(),
  image: z.looseObject({ sizes: z.array(size).min(1), defaultSize: size }),
  latent: z.looseObject({
    channels: z.number().int().positive(),
    downsample: z.number().int().positive(),
    min: z.array(z.number()),
    max: z.array(z.number()),
    init: z.discriminatedUnion('kind', [
      z.looseObject({ kind: z.literal('uniform') }),
      z.looseObject({
        kind: z.literal('codes'),
        numCodes: z.number().int().positive(),
        graph: z.string().min(1),
      }),
    ]),
  }),
  clip: z.looseObject({ inputSize: z.number().int().positive(), embedDim: z.number().int().positive() }),
  tokenizer: z.looseObject({
    kind: z.enum(['words', 'clip-bpe']),
    file: z.string().min(1),
    contextLength: z.number().int().min(3),
  }),
  graphs: z
    .looseObject({
      step: graphRef,
      decoder: graphRef,
      text: graphRef,
      encoder: graphRef.optional(),
      image: graphRef.optional(),
    })
    .catchall(graphRef),
  /** Shared ONNX external data of all graphs (real-model bundles): checked like a graph. */
  weights: z
    .looseObject({
      file: z.string().min(1),
      sha256: graphRef.shape.sha256,
      bytes: z.number().int().nonnegative().optional(),
    })
    .optional(),
  defaults: z.looseObject({
    steps: z.number().int().positive(),
    cutn: z.number().int().positive(),
    cutPow: z.number().positive(),
    cutMin: z.number().gt(0).max(1),
    lr: z.number().positive(),
    frameEvery: z.number().int().positive(),
    noise: z.number().min(0),
    /** Which loop renders when a request does not say (absent: classic). */
    loop: z.enum(LOOPS).optional(),
  }),
  /** Defaults of the reference loop (step interface 2, graph `stepReference`). */
  reference: z
    .looseObject({
      cutMethod: z.enum(CUT_METHODS),
      augments: z.array(z.enum(AUGMENTS)),
      cutNoise: z.number().min(0),
      optimiser: z.enum(OPTIMISERS),
      cutn: z.number().int().positive().optional(),
      lr: z.number().positive().optional(),
      cutPow: z.number().positive().optional(),
      initWeight: z.number().min(0).optional(),
    })
    .optional(),
});
export type BundleManifest = z.infer<typeof BundleManifest>;

export class ModelBundleError extends Error {
  override readonly name = 'ModelBundleError';
  constructor(
    message: string,
    readonly model: string,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ModelBundle {
  readonly name: string;
  readonly dir: string;
  readonly manifest: BundleManifest;
  /** Absolute path of a graph named in the manifest (undefined if the bundle has none). */
  graphPath(graph: string): string | undefined;
  readonly tokenizerPath: string;
}

/** Models available under `modelsDir` (folders with a manifest.json). */
export async function listModels(modelsDir: string): Promise<string[]> {
  const entries = await readdir(modelsDir, { withFileTypes: true }).catch(() => []);
  const names: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || !ModelName.safeParse(e.name).success) continue;
    if (
      await stat(path.join(modelsDir, e.name, 'manifest.json')).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      names.push(e.name);
  }
  return names.sort();
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Cross-field checks zod cannot express; returns the problems found. */
export function manifestProblems(m: BundleManifest): string[] {
  const problems: string[] = [];
  const { channels, downsample, min, max, init } = m.latent;
  if (min.length !== channels || max.length !== channels) {
    problems.push(
      `latent.min and latent.max need ${channels} values each (got ${min.length} and ${max.length})`,
    );
  }
  min.forEach((lo, c) => {
    if (!(lo < (max[c] ?? -Infinity))) problems.push(`latent.min[${c}] must be below latent.max[${c}]`);
  });
  for (const [w, h] of m.image.sizes) {
    if (w % downsample !== 0 || h % downsample !== 0)
      problems.push(`image size ${w}x${h} is not a multiple of latent.downsample ${downsample}`);
  }
  const [dw, dh] = m.image.defaultSize;
  if (!m.image.sizes.some(([w, h]) => w === dw && h === dh))
    problems.push(`image.defaultSize ${dw}x${dh} is not one of image.sizes`);
  if ((m.defaults.loop === 'reference' || m.reference) && !(m.graphs.stepReference && m.reference))
    problems.push('the reference loop needs both graphs.stepReference and reference defaults');
  if (init.kind === 'codes' && !m.graphs[init.graph])
    problems.push(`latent.init.graph '${init.graph}' is not in graphs`);
  return problems;
}

/**
 * The one manifest reader: `<modelsDir>/<model>/manifest.json`, checked against `BundleManifest`
 * and `manifestProblems` (no graph files are opened). The bot and the CLI use it for a model's
 * sizes and defaults; `loadBundle` builds on it.
 * @throws ModelBundleError
 */
export async function readManifest(
  modelsDir: string,
  model: string,
): Promise<{ manifest: BundleManifest; dir: string; manifestFile: string }> {
  if (!ModelName.safeParse(model).success)
    throw new ModelBundleError(`'${model}' is not a model name (lower-case a-z 0-9 _ -, max 64)`, model);
  const dir = path.resolve(modelsDir, model);
  const manifestFile = path.join(dir, 'manifest.json');
  let raw: string;
  try {
    raw = await readFile(manifestFile, 'utf8');
  } catch (cause) {
    const known = await listModels(modelsDir);
    throw new ModelBundleError(
      `model '${model}' not found in ${modelsDir} (${known.length ? `available: ${known.join(', ')}` : 'no models there'})`,
      model,
      manifestFile,
      { cause },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (cause) {
    throw new ModelBundleError(
      `manifest of model '${model}' is not valid JSON: ${(cause as Error).message}`,
      model,
      manifestFile,
      { cause },
    );
  }
  const parsed = BundleManifest.safeParse(json);
  if (!parsed.success) {
    throw new ModelBundleError(
      `manifest of model '${model}' is invalid:\n${z.prettifyError(parsed.error)}`,
      model,
      manifestFile,
    );
  }
  const manifest = parsed.data;
  const problems = manifestProblems(manifest);
  if (problems.length)
    throw new ModelBundleError(
      `manifest of model '${model}' is inconsistent: ${problems.join('; ')}`,
      model,
      manifestFile,
    );
  return { manifest, dir, manifestFile };
}

/**
 * Loads `<modelsDir>/<model>/manifest.json` (`readManifest`) and checks every graph's sha256.
 * @throws ModelBundleError
 */
export async function loadBundle(
  modelsDir: string,
  model: string,
  options: { verifyHashes?: boolean } = {},
): Promise<ModelBundle> {
  const { manifest, dir } = await readManifest(modelsDir, model);

  const graphs = manifest.graphs as Record<string, { file: string; sha256: string } | undefined>;
  const inside = (file: string): string => {
    const p = path.resolve(dir, file);
    if (path.relative(dir, p).startsWith('..'))
      throw new ModelBundleError(`file '${file}' lies outside the bundle`, model, file);
    return p;
  };
  const files: [string, { file: string; sha256: string }][] = Object.entries(graphs).flatMap(([name, ref]) =>
    ref ? [[`graph '${name}'`, ref] as [string, typeof ref]] : [],
  );
  if (manifest.weights) files.push(['weights file', manifest.weights]);
  for (const [what, ref] of files) {
    const file = inside(ref.file);
    const actual = await sha256File(file).catch((cause: unknown) => {
      throw new ModelBundleError(`${what} of model '${model}' is missing: ${file}`, model, file, { cause });
    });
    if (options.verifyHashes !== false && actual !== ref.sha256.toLowerCase()) {
      throw new ModelBundleError(
        `${what} of model '${model}' is corrupt or stale: sha256 ${actual}, manifest says ${ref.sha256}`,
        model,
        file,
      );
    }
  }
  const tokenizerPath = inside(manifest.tokenizer.file);
  if (
    !(await stat(tokenizerPath).then(
      (s) => s.isFile(),
      () => false,
    ))
  ) {
    throw new ModelBundleError(
      `tokenizer file of model '${model}' is missing: ${tokenizerPath}`,
      model,
      tokenizerPath,
    );
  }
  return {
    name: model,
    dir,
    manifest,
    tokenizerPath,
    graphPath: (graph) => {
      const ref = graphs[graph];
      return ref ? inside(ref.file) : undefined;
    },
  };
}
