/**
 * The loop of models/BUNDLE.md over fake graphs: what is fed, in which draw order, how z moves,
 * when frames come, and how it stops.
 */
import { describe, expect, it } from 'vitest';
import type { GraphSession, HostTensor } from '../../renderer/src/onnx/onnx-runtime.js';
import { Adam, clampPerChannel } from '../../renderer/src/engine/adam.js';
import type { BundleManifest } from '../../renderer/src/engine/bundle.js';
import { sampleCutouts, sampleNormals } from '../../renderer/src/engine/cutouts.js';
import { EngineInputError, type RenderRequest } from '../../renderer/src/engine/engine.js';
import { readPngText } from '../../renderer/src/engine/png-text.js';
import { runRender, type LoadedModel, type LoopProgress } from '../../renderer/src/engine/render-loop.js';
import { Mulberry32 } from '../../renderer/src/engine/rng.js';
import { WordsTokenizer } from '../../renderer/src/engine/words-tokenizer.js';

const C = 2,
  H = 16,
  W = 16,
  DS = 4,
  S = 4,
  D = 3;
const manifest: BundleManifest = {
  v: 1,
  name: 'fake',
  image: { sizes: [[W, H]], defaultSize: [W, H] },
  latent: { channels: C, downsample: DS, min: [-1, -0.5], max: [1, 0.5], init: { kind: 'uniform' } },
  clip: { inputSize: S, embedDim: D },
  tokenizer: { kind: 'words', file: 'vocab.json', contextLength: 6 },
  graphs: {
    step: { file: 's', sha256: '0'.repeat(64) },
    decoder: { file: 'd', sha256: '0'.repeat(64) },
    text: { file: 't', sha256: '0'.repeat(64) },
  },
  defaults: { steps: 4, cutn: 3, cutPow: 1, cutMin: 0.5, lr: 0.1, frameEvery: 2, noise: 0.1 },
};

const f32 = (data: Float32Array, dims: number[]): HostTensor => ({ type: 'float32', data, dims });

function fakeGraph(
  inputs: string[],
  run: (feeds: Record<string, HostTensor>) => Record<string, HostTensor>,
): GraphSession & { calls: Record<string, HostTensor>[] } {
  const calls: Record<string, HostTensor>[] = [];
  return {
    calls,
    inputs: inputs.map((name) => ({ name, shape: [] })),
    outputNames: [],
    run: async (feeds) => {
      calls.push(structuredClone(feeds));
      return run(feeds);
    },
    release: async () => undefined,
  };
}

/** grad = z − 0.3 (so Adam moves z toward 0.3), image = constant grey. */
function fakeModel(withEps: boolean): LoadedModel & { step: ReturnType<typeof fakeGraph> } {
  const step = fakeGraph(
    ['z', 'targets', 'weights', 'stops', 'cuts', 'noise', ...(withEps ? ['eps'] : [])],
    (feeds) => ({
      loss: f32(Float32Array.of(1), []),
      grad: f32(
        (feeds.z!.data as Float32Array).map((v) => v - 0.3),
        [1, C, H / DS, W / DS],
      ),
      image: f32(new Float32Array(3 * H * W).fill(0.5), [1, 3, H, W]),
    }),
  );
  const text = fakeGraph(['tokens'], (feeds) => ({
    embedding: f32(new Float32Array(feeds.tokens!.dims[0]! * D).fill(1 / Math.sqrt(D)), [
      feeds.tokens!.dims[0]!,
      D,
    ]),
  }));
  const decoder = fakeGraph(['z'], () => ({
    image: f32(new Float32Array(3 * H * W).fill(0.25), [1, 3, H, W]),
  }));
  return {
    name: 'fake',
    executionProvider: 'cpu',
    manifest,
    tokenizer: new WordsTokenizer(['<pad>', '<sot>', '<eot>', 'red', 'circle'], 6),
    graphs: { step, decoder, text },
    step,
  };
}

const request = (over: Partial<RenderRequest> = {}): RenderRequest => ({
  prompts: [
    { kind: 'text', text: 'red circle', weight: 2, stop: 0.5 },
    { kind: 'text', text: 'circle', weight: -1 },
  ],
  seed: 42,
  width: W,
  height: H,
  steps: 4,
  ...over,
});

describe('runRender', () => {
  it('feeds the step graph in the BUNDLE.md draw order and applies Adam + clamp', async () => {
    const model = fakeModel(true);
    const progress: LoopProgress[] = [];
    const result = await runRender(model, request(), {
      aborted: () => false,
      onProgress: (p) => progress.push(p),
    });

    // Replay the contract by hand.
    const rng = new Mulberry32(42);
    const z = new Float32Array(C * 16);
    for (let c = 0; c < C; c++)
      for (let i = 0; i < 16; i++)
        z[c * 16 + i] =
          manifest.latent.min[c]! + rng.next() * (manifest.latent.max[c]! - manifest.latent.min[c]!);
    const adam = new Adam(z.length, { lr: 0.1 });
    for (let i = 0; i < 4; i++) {
      const fed = model.step.calls[i]!;
      expect(Array.from(fed.z!.data as Float32Array)).toEqual(Array.from(z));
      const { cuts, noise } = sampleCutouts(rng, {
        width: W,
        height: H,
        cutn: 3,
        cutPow: 1,
        cutMin: 0.5,
        noise: 0.1,
      });
      expect(Array.from(fed.cuts!.data as Float32Array)).toEqual(Array.from(cuts));
      expect(fed.cuts!.dims).toEqual([3, 4]);
      expect(Array.from(fed.noise!.data as Float32Array)).toEqual(Array.from(noise));
      expect(fed.noise!.dims).toEqual([3, 1, 1, 1]);
      expect(Array.from(fed.eps!.data as Float32Array)).toEqual(
        Array.from(sampleNormals(rng, 3 * 3 * S * S)),
      );
      expect(Array.from(fed.weights!.data as Float32Array)).toEqual([2, -1]);
      expect(Array.from(fed.stops!.data as Float32Array)).toEqual([0.5, -1]);
      expect(fed.targets!.dims).toEqual([2, D]);
      adam.step(
        z,
        z.map((v) => v - 0.3),
      );
      clampPerChannel(z, C, manifest.latent.min, manifest.latent.max);
    }
    // The decoder gets z after the last step.
    const decoded = (model.graphs.decoder as ReturnType<typeof fakeGraph>).calls[0]!;
    expect(Array.from(decoded.z!.data as Float32Array)).toEqual(Array.from(z));
    expect(progress.map((p) => [p.step, p.frame !== undefined])).toEqual([
      [1, true],
      [2, false],
      [3, true],
      [4, false],
    ]);
    expect(readPngText(result.png).prompt).toBe('red circle:2:0.5 | circle:-1');
  });

  it('feeds eps only when the graph declares it (and then draws no normals)', async () => {
    const model = fakeModel(false);
    await runRender(model, request({ steps: 2 }), { aborted: () => false, onProgress: () => {} });
    expect(model.step.calls[0]!.eps).toBeUndefined();
    const rng = new Mulberry32(42);
    for (let i = 0; i < C * 16; i++) rng.next();
    sampleCutouts(rng, { width: W, height: H, cutn: 3, cutPow: 1, cutMin: 0.5, noise: 0.1 });
    const second = sampleCutouts(rng, { width: W, height: H, cutn: 3, cutPow: 1, cutMin: 0.5, noise: 0.1 });
    expect(Array.from(model.step.calls[1]!.cuts!.data as Float32Array)).toEqual(Array.from(second.cuts));
  });

  it('stops before the next step once aborted', async () => {
    const model = fakeModel(false);
    let steps = 0;
    const err = await runRender(model, request({ steps: 50 }), {
      aborted: () => steps >= 3,
      onProgress: (p) => (steps = p.step),
    }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(model.step.calls).toHaveLength(3);
  });

  it('refuses bad requests before running any graph', async () => {
    const model = fakeModel(false);
    const err = await runRender(
      model,
      request({ prompts: [{ kind: 'text', text: 'blue square', weight: 1 }] }),
      { aborted: () => false, onProgress: () => {} },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineInputError);
    expect((err as EngineInputError).identifier).toBe('unknown-words');
    expect(model.step.calls).toHaveLength(0);
  });
});
