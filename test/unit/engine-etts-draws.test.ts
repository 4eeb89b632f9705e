/**
 * Et and Ts on the host (renderer/src/engine/etts-draws.ts): the draws' shapes, ranges and order,
 * determinism, kornia's thin plate spline against Python's (models/tessera_models/etts_inputs.py),
 * and the refusal of Et/Ts by a step graph exported before them.
 */
import { describe, expect, it } from 'vitest';
import {
  drawReferenceStep,
  referenceFeeds,
  type ReferenceDrawOptions,
} from '../../renderer/src/engine/augment-draws.js';
import type { BundleManifest } from '../../renderer/src/engine/bundle.js';
import { EngineInputError } from '../../renderer/src/engine/engine.js';
import {
  checkEttsSupported,
  drawEtts,
  ETTS_INPUTS,
  identityField,
  neutralEtts,
  TPS_SRC,
  tpsField,
  tpsKernel,
  tpsWeights,
} from '../../renderer/src/engine/etts-draws.js';
import { runRender, type LoadedModel } from '../../renderer/src/engine/render-loop.js';
import { Mulberry32 } from '../../renderer/src/engine/rng.js';
import { WordsTokenizer } from '../../renderer/src/engine/words-tokenizer.js';
import type { GraphSession, HostTensor } from '../../renderer/src/onnx/onnx-runtime.js';

const N = 5;
const S = 8;

describe('drawEtts', () => {
  it('gives kornia-shaped inputs: noise in [−1, 1) where on, zeros elsewhere, one TPS field for all', () => {
    const d = drawEtts(new Mulberry32(3), N, S, ['Et', 'Ts']);
    expect(d.elastic.length).toBe(N * 2 * S * S);
    expect(d.elasticOn.length).toBe(N);
    expect(d.tps.length).toBe(N * 2 * S * S);
    for (let k = 0; k < N; k++) {
      const block = d.elastic.subarray(k * 2 * S * S, (k + 1) * 2 * S * S);
      expect([0, 1]).toContain(d.elasticOn[k]);
      if (d.elasticOn[k]) expect(block.every((v) => v >= -1 && v < 1)).toBe(true);
      else expect(block.every((v) => v === 0)).toBe(true);
      expect(d.tps.subarray(k * 2 * S * S, (k + 1) * 2 * S * S)).toEqual(d.tps.subarray(0, 2 * S * S));
    }
  });

  it('gives the same bytes for the same seed and different ones for another', () => {
    const a = drawEtts(new Mulberry32(11), N, S, ['Et', 'Ts']);
    const b = drawEtts(new Mulberry32(11), N, S, ['Et', 'Ts']);
    const c = drawEtts(new Mulberry32(12), N, S, ['Et', 'Ts']);
    expect(Buffer.from(b.elastic.buffer)).toEqual(Buffer.from(a.elastic.buffer));
    expect(Buffer.from(b.tps.buffer)).toEqual(Buffer.from(a.tps.buffer));
    expect(Buffer.from(c.elastic.buffer)).not.toEqual(Buffer.from(a.elastic.buffer));
  });

  it('draws p 0.7 per cutout for Et and once per step for Ts', () => {
    let etOn = 0;
    let tsOn = 0;
    const identity = identityField(2, S);
    for (let seed = 0; seed < 200; seed++) {
      const d = drawEtts(new Mulberry32(seed), 2, S, ['Et', 'Ts']);
      etOn += d.elasticOn[0]! + d.elasticOn[1]!;
      if (!d.tps.every((v, i) => v === identity[i])) tsOn++;
    }
    expect(etOn / 400).toBeGreaterThan(0.6);
    expect(etOn / 400).toBeLessThan(0.8);
    expect(tsOn / 200).toBeGreaterThan(0.6);
    expect(tsOn / 200).toBeLessThan(0.8);
  });

  it('draws nothing and leaves the cutouts untouched without Et and Ts', () => {
    const rng = new Mulberry32(9);
    const d = drawEtts(rng, N, S, ['Af', 'Ji']);
    expect(rng.next()).toBe(new Mulberry32(9).next());
    expect(d.elasticOn.every((v) => v === 0)).toBe(true);
    expect(d.tps).toEqual(identityField(N, S));
  });
});

describe('the thin plate spline', () => {
  const dst: [number, number][] = [
    [-0.7, -1.2],
    [-0.9, 1.5],
    [0.4, -0.8],
    [1.7, 0.6],
    [0.2, 0.1],
  ];

  it('maps each jittered point onto its kornia control point', () => {
    const { w, a } = tpsWeights(dst);
    dst.forEach(([x, y], i) => {
      for (const c of [0, 1]) {
        let f = a[0]![c]! + x * a[1]![c]! + y * a[2]![c]!;
        TPS_SRC.forEach(([sx, sy], j) => (f += tpsKernel((x - sx) ** 2 + (y - sy) ** 2) * w[j]![c]!));
        expect(f).toBeCloseTo(TPS_SRC[i]![c]!, 9);
      }
    });
  });

  it('matches the Python field (etts_inputs.tps_field, checked against a kornia-style warp)', () => {
    // python: etts_inputs.tps_field(dst, 5), rounded to 6 decimals
    const golden = [
      -1.80043, 0.248957, 2.729121, 5.263655, 7.373241, -1.735828, -0.009367, 2.144322, 4.383725, 6.234236,
      -1.488087, -0.158261, 1.464436, 3.214507, 4.747898, -1.173382, -0.216705, 0.911924, 2.129519, 3.311982,
      -0.838728, -0.202801, 0.530689, 1.327197, 2.167404, 0.050433, -0.218278, -0.651739, -1.044141,
      -1.188781, 0.915425, 0.779561, 0.488756, 0.256617, 0.262361, 1.736546, 1.777585, 1.721949, 1.750666,
      1.926516, 2.592579, 2.831963, 3.039495, 3.304044, 3.633499, 3.479206, 3.899081, 4.314801, 4.767201,
      5.238158,
    ];
    const field = tpsField(dst, 5);
    golden.forEach((v, i) => expect(field[i]).toBeCloseTo(v, 4));
  });

  it('is the identity field’s corner-aligned rescale when nothing is jittered', () => {
    // kornia's grid linspace(−1, 1, S) read with align_corners=False: pixel x·S/(S − 1) − ½
    const field = tpsField(TPS_SRC, S);
    for (let x = 0; x < S; x++) expect(field[x]).toBeCloseTo((x * S) / (S - 1) - 0.5, 5);
  });
});

describe('reference draws with Et and Ts', () => {
  const opts: ReferenceDrawOptions = {
    width: 64,
    height: 64,
    S,
    cutn: N,
    cutPow: 1,
    cutMethod: 'latest',
    augments: ['Af', 'Pe', 'Ji', 'Er', 'Et', 'Ts'],
    cutNoise: 0.1,
  };

  it('feeds elastic, elastic_on and tps with the graph’s shapes, the same bytes for the same seed', () => {
    const a = referenceFeeds(drawReferenceStep(new Mulberry32(4), opts), N, S);
    const b = referenceFeeds(drawReferenceStep(new Mulberry32(4), opts), N, S);
    expect(a.elastic!.dims).toEqual([N, 2, S, S]);
    expect(a.elastic_on!.dims).toEqual([N]);
    expect(a.tps!.dims).toEqual([N, 2, S, S]);
    for (const k of Object.keys(a))
      expect(Buffer.from(b[k]!.data.buffer)).toEqual(Buffer.from(a[k]!.data.buffer));
  });

  it('keeps the draws of other augment sets unchanged on a graph that takes Et and Ts', () => {
    const plain = { ...opts, augments: opts.augments.filter((x) => x !== 'Et' && x !== 'Ts') };
    const before = drawReferenceStep(new Mulberry32(6), plain);
    const after = drawReferenceStep(new Mulberry32(6), { ...plain, ettsNeutral: neutralEtts(N, S) });
    expect(before.etts).toBeUndefined();
    expect(after.etts!.tps).toEqual(identityField(N, S));
    expect(after.eps).toEqual(before.eps);
    expect(after.warps).toEqual(before.warps);
  });
});

describe('a bundle exported before Et and Ts', () => {
  const oldInputs =
    'z targets weights stops cuts pool warps jitter jorder sharp gnoise erase noise eps'.split(' ');

  it('refuses Et and Ts with unsupported-augment and takes the others', () => {
    expect(() => checkEttsSupported('m', ['Af', 'Et'], oldInputs)).toThrow(
      expect.objectContaining({ identifier: 'unsupported-augment' }),
    );
    expect(() => checkEttsSupported('m', ['Ts'], oldInputs)).toThrow(/Ts augment/);
    expect(() => checkEttsSupported('m', ['Af', 'Pe', 'Ji', 'Er'], oldInputs)).not.toThrow();
    expect(() => checkEttsSupported('m', ['Et', 'Ts'], [...oldInputs, ...ETTS_INPUTS])).not.toThrow();
  });

  const C = 2;
  const H = 16;
  const D = 3;
  const manifest: BundleManifest = {
    v: 1,
    name: 'old',
    image: { sizes: [[H, H]], defaultSize: [H, H] },
    latent: { channels: C, downsample: 4, min: [-1, -1], max: [1, 1], init: { kind: 'uniform' } },
    clip: { inputSize: 4, embedDim: D },
    tokenizer: { kind: 'words', file: 'vocab.json', contextLength: 6 },
    graphs: {
      step: { file: 's', sha256: '0'.repeat(64) },
      stepReference: { file: 'r', sha256: '0'.repeat(64) },
      decoder: { file: 'd', sha256: '0'.repeat(64) },
      text: { file: 't', sha256: '0'.repeat(64) },
    },
    defaults: { steps: 2, cutn: 2, cutPow: 1, cutMin: 0.5, lr: 0.1, frameEvery: 1, noise: 0.1 },
    reference: { cutMethod: 'latest', augments: ['Af', 'Pe', 'Ji', 'Er'], cutNoise: 0.1, optimiser: 'Adam' },
  };
  const f32 = (data: Float32Array, dims: number[]): HostTensor => ({ type: 'float32', data, dims });
  const graph = (inputs: string[], out: () => Record<string, HostTensor>): GraphSession => ({
    inputs: inputs.map((name) => ({ name, shape: [] })),
    outputNames: [],
    run: async () => out(),
    release: async () => undefined,
  });
  const model = (inputs: string[]): LoadedModel => {
    const step = graph(inputs, () => ({
      loss: f32(Float32Array.of(1), []),
      grad: f32(new Float32Array(C * 16), [1, C, 4, 4]),
      image: f32(new Float32Array(3 * H * H), [1, 3, H, H]),
    }));
    return {
      name: 'old',
      executionProvider: 'cpu',
      manifest,
      tokenizer: new WordsTokenizer(['<pad>', '<sot>', '<eot>', 'red'], 6),
      graphs: {
        step,
        stepReference: step,
        decoder: graph(['z'], () => ({ image: f32(new Float32Array(3 * H * H), [1, 3, H, H]) })),
        text: graph(['tokens'], () => ({ embedding: f32(new Float32Array(D).fill(0.5), [1, D]) })),
      },
    };
  };
  const render = (inputs: string[], augments: ('Af' | 'Et' | 'Ts')[]) =>
    runRender(
      model(inputs),
      {
        prompts: [{ kind: 'text', text: 'red', weight: 1 }],
        seed: 1,
        width: H,
        height: H,
        steps: 2,
        loop: 'reference',
        augments,
      },
      { aborted: () => false, onProgress: () => undefined },
    );

  it('makes the engine refuse Et before rendering and still render Af', async () => {
    await expect(render(oldInputs, ['Af', 'Et'])).rejects.toBeInstanceOf(EngineInputError);
    await expect(render(oldInputs, ['Ts'])).rejects.toMatchObject({ identifier: 'unsupported-augment' });
    await expect(render(oldInputs, ['Af'])).resolves.toMatchObject({ steps: 2 });
    await expect(render([...oldInputs, ...ETTS_INPUTS], ['Af', 'Et', 'Ts'])).resolves.toMatchObject({
      steps: 2,
    });
  });
});
