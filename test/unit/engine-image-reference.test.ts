/**
 * Image prompts are embedded by the image tower the loop's step graph carries: `imageReference`
 * for the reference loop when the bundle has one (models/BUNDLE.md), `image` otherwise.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { BundleManifest } from '../../renderer/src/engine/bundle.js';
import { embedPrompts, type LoadedModel } from '../../renderer/src/engine/render-loop.js';
import { WordsTokenizer } from '../../renderer/src/engine/words-tokenizer.js';
import type { GraphSession, HostTensor } from '../../renderer/src/onnx/onnx-runtime.js';

const D = 3;
const ref = { file: 'x', sha256: '0'.repeat(64) };
const manifest: BundleManifest = {
  v: 1,
  name: 'two-towers',
  image: { sizes: [[16, 16]], defaultSize: [16, 16] },
  latent: { channels: 2, downsample: 4, min: [-1, -1], max: [1, 1], init: { kind: 'uniform' } },
  clip: { inputSize: 4, embedDim: D },
  tokenizer: { kind: 'words', file: 'vocab.json', contextLength: 6 },
  graphs: { step: ref, decoder: ref, text: ref, image: ref, stepReference: ref, imageReference: ref },
  defaults: { steps: 2, cutn: 2, cutPow: 1, cutMin: 0.5, lr: 0.1, frameEvery: 1, noise: 0.1 },
  reference: { cutMethod: 'latest', augments: ['Af'], cutNoise: 0.1, optimiser: 'Adam' },
};

/** A tower that answers the same unit embedding for any picture. */
const tower = (e: number[]): GraphSession => ({
  inputs: [{ name: 'pixels', shape: [] }],
  outputNames: ['embedding'],
  run: async () => ({
    embedding: { type: 'float32', data: Float32Array.from(e), dims: [1, D] } as HostTensor,
  }),
  release: async () => undefined,
});

const model = (imageReference?: GraphSession): LoadedModel => ({
  name: 'two-towers',
  executionProvider: 'cpu',
  manifest,
  tokenizer: new WordsTokenizer(['<pad>', '<sot>', '<eot>', 'red'], 6),
  graphs: {
    step: tower([0, 0, 0]),
    decoder: tower([0, 0, 0]),
    text: tower([0, 0, 0]),
    image: tower([1, 0, 0]),
    imageReference,
  },
});

describe('image prompts and the reference step’s own image tower', async () => {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } })
    .png()
    .toBuffer();
  const prompts = [{ kind: 'image' as const, image: new Uint8Array(png), weight: 1 }];

  it('embeds them with imageReference in the reference loop', async () => {
    const m = model(tower([0, 1, 0]));
    expect([...(await embedPrompts(m, prompts, 'reference'))]).toEqual([0, 1, 0]);
  });

  it('keeps image for the classic loop and for bundles without imageReference', async () => {
    expect([...(await embedPrompts(model(tower([0, 1, 0])), prompts, 'classic'))]).toEqual([1, 0, 0]);
    expect([...(await embedPrompts(model(), prompts, 'reference'))]).toEqual([1, 0, 0]);
  });
});
