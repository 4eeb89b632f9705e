import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBundle, ModelBundleError } from '../../renderer/src/engine/bundle.js';

let dir: string;
const graphBytes = Buffer.from('not really onnx, but the hash is what the loader checks');
const sha = createHash('sha256').update(graphBytes).digest('hex');

function manifest(over: Record<string, unknown> = {}): Record<string, unknown> {
  const g = { file: 'g.onnx', sha256: sha };
  return {
    v: 1,
    name: 'm',
    image: { sizes: [[64, 64]], defaultSize: [64, 64] },
    latent: { channels: 2, downsample: 4, min: [-1, -1], max: [1, 1], init: { kind: 'uniform' } },
    clip: { inputSize: 32, embedDim: 16 },
    tokenizer: { kind: 'words', file: 'vocab.json', contextLength: 16 },
    graphs: { step: g, decoder: g, text: g, encoder: g, image: g },
    defaults: { steps: 10, cutn: 4, cutPow: 1, cutMin: 0.5, lr: 0.1, frameEvery: 5, noise: 0.1 },
    futureField: 'ignored',
    ...over,
  };
}

async function bundle(name: string, m: unknown, files: Record<string, Buffer | string> = {}): Promise<void> {
  const d = path.join(dir, name);
  await mkdir(d, { recursive: true });
  await writeFile(path.join(d, 'manifest.json'), typeof m === 'string' ? m : JSON.stringify(m));
  await writeFile(path.join(d, 'g.onnx'), graphBytes);
  await writeFile(path.join(d, 'vocab.json'), '{"tokens":["<pad>","<sot>","<eot>","a"]}');
  for (const [f, b] of Object.entries(files)) await writeFile(path.join(d, f), b);
}

async function bundleError(name: string): Promise<ModelBundleError> {
  const err = await loadBundle(dir, name).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelBundleError);
  return err as ModelBundleError;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tessera-bundle-'));
  await bundle('good', manifest());
  await bundle('bad-json', '{ "v": 1,');
  await bundle('bad-schema', manifest({ latent: { channels: 2 } }));
  await bundle(
    'bad-range',
    manifest({ latent: { channels: 2, downsample: 4, min: [-1], max: [1, 1], init: { kind: 'uniform' } } }),
  );
  await bundle('bad-size', manifest({ image: { sizes: [[62, 64]], defaultSize: [62, 64] } }));
  await bundle('bad-hash', manifest(), { 'g.onnx': 'tampered' });
  await bundle(
    'escape',
    manifest({ tokenizer: { kind: 'words', file: '../good/vocab.json', contextLength: 16 } }),
  );
  await bundle(
    'with-weights',
    manifest({ weights: { file: 'g.onnx', sha256: sha, bytes: graphBytes.length } }),
  );
  await bundle('bad-weights', manifest({ weights: { file: 'weights.bin', sha256: sha } }), {
    'weights.bin': 'other bytes',
  });
  await bundle('missing-weights', manifest({ weights: { file: 'weights.bin', sha256: sha } }));
  await bundle(
    'codes-without-graph',
    manifest({
      latent: {
        channels: 2,
        downsample: 4,
        min: [-1, -1],
        max: [1, 1],
        init: { kind: 'codes', numCodes: 8, graph: 'codes' },
      },
    }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadBundle', () => {
  it('loads a valid bundle and ignores fields it does not know', async () => {
    const b = await loadBundle(dir, 'good');
    expect(b.manifest.name).toBe('m');
    expect(b.graphPath('step')).toBe(path.join(dir, 'good', 'g.onnx'));
    expect(b.graphPath('codes')).toBeUndefined();
  });

  it('checks the shared weights file of real-model bundles', async () => {
    expect((await loadBundle(dir, 'with-weights')).manifest.weights?.file).toBe('g.onnx');
  });

  it('says which models exist when the name is unknown', async () => {
    const err = await bundleError('nope');
    expect(err.message).toMatch(/model 'nope' not found/);
    expect(err.message).toContain('good');
  });

  it('refuses names that are paths', async () => {
    expect((await bundleError('../good')).message).toMatch(/not a model name/);
  });

  it.each([
    ['bad-json', /not valid JSON/],
    ['bad-schema', /invalid/],
    ['bad-range', /inconsistent.*latent\.min/],
    ['bad-size', /not a multiple/],
    ['bad-hash', /corrupt or stale: sha256/],
    ['escape', /outside the bundle/],
    ['bad-weights', /weights file of model 'bad-weights' is corrupt or stale/],
    ['missing-weights', /weights file of model 'missing-weights' is missing/],
    ['codes-without-graph', /latent\.init\.graph 'codes' is not in graphs/],
  ])('rejects %s with a clear message', async (name, pattern) => {
    const err = await bundleError(name);
    expect(err.message).toMatch(pattern);
    expect(err.model).toBe(name);
  });
});
