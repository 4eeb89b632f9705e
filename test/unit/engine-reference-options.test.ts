import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  drawReferenceStep,
  homography,
  invert3,
  type ReferenceDrawOptions,
} from '../../renderer/src/engine/augment-draws.js';
import { BundleManifest } from '../../renderer/src/engine/bundle.js';
import { EngineInputError, type RenderRequest } from '../../renderer/src/engine/engine.js';
import { resolveRequest } from '../../renderer/src/engine/request.js';
import { Mulberry32 } from '../../renderer/src/engine/rng.js';
import { RenderJob } from '../../shared/src/contracts.js';
import { loopOptionProblem, parseAugments } from '../../shared/src/loop-options.js';
import { repoRoot } from '../quality/fixtures.js';

const manifest = BundleManifest.parse(
  JSON.parse(readFileSync(path.join(repoRoot, 'models', 'tiny-shapes', 'manifest.json'), 'utf8')),
);
const req = (over: Partial<RenderRequest>): RenderRequest => ({
  prompts: [{ kind: 'text', text: 'a red circle', weight: 1 }],
  seed: 1,
  width: 64,
  height: 64,
  steps: 10,
  loop: 'reference',
  ...over,
});
const opts: ReferenceDrawOptions = {
  width: 64,
  height: 64,
  S: 32,
  cutn: 4,
  cutPow: 1,
  cutMethod: 'latest',
  augments: ['Af', 'Pe', 'Ji', 'Er'],
  cutNoise: 0.1,
};

function refusal(r: RenderRequest): EngineInputError {
  try {
    resolveRequest(manifest, r);
  } catch (e) {
    if (e instanceof EngineInputError) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('reference loop options', () => {
  it('fills the bundle’s reference defaults', () => {
    const r = resolveRequest(manifest, req({}));
    expect(r.loop).toBe('reference');
    expect(r.augments).toEqual(manifest.reference!.augments);
    expect(r.cutMethod).toBe(manifest.reference!.cutMethod);
    expect(r.optimiser).toBe(manifest.reference!.optimiser);
    expect(r.initWeight).toBe(manifest.reference!.initWeight ?? 0);
  });

  it('takes the init weight from the bundle’s reference defaults, the request over them, never for classic', () => {
    const m = { ...manifest, reference: { ...manifest.reference!, initWeight: 8 } };
    expect(resolveRequest(m, req({})).initWeight).toBe(8);
    expect(resolveRequest(m, req({ initWeight: 0 })).initWeight).toBe(0);
    expect(resolveRequest(m, req({ initWeight: 2.5 })).initWeight).toBe(2.5);
    expect(resolveRequest(m, req({ loop: 'classic' })).initWeight).toBe(0);
    const { initWeight: _, ...without } = m.reference;
    expect(resolveRequest({ ...m, reference: without }, req({})).initWeight).toBe(0);
    expect(() => BundleManifest.parse({ ...m, reference: { ...m.reference, initWeight: -1 } })).toThrow();
  });

  it.each([
    [{ augments: ['Af', 'Xx'] as never }, 'bad-augments', /unknown 'Xx'.*Af, Pe, Ji, Er/],
    [{ cutn: 0 }, 'bad-cutn', /cutn must be a whole number from 1 to 256 \(got 0\)/],
    [{ cutn: 1000 }, 'bad-cutn', /from 1 to 256 \(got 1000\)/],
    [{ lr: 0 }, 'bad-lr', /lr must be a number above 0/],
    [{ lr: -1 }, 'bad-lr', /lr must be a number above 0/],
    [{ cutPow: 50 }, 'bad-cutPow', /cutPow must be a number from 0.1 to 10/],
    [{ cutNoise: 2 }, 'bad-cutNoise', /cutNoise must be a number from 0 to 1/],
    [{ optimiser: 'SGD' as never }, 'bad-optimiser', /optimiser must be one of Adam, AdamW/],
    [{ cutMethod: 'random' as never }, 'bad-cutMethod', /cutMethod must be one of latest, original/],
    [{ augments: ['Af', 'Pe', 'Ro', 'Re'] as never }, 'bad-augments', /at most 3 of/],
    [{ augments: ['Af', 'Af'] as never }, 'bad-augments', /at most once/],
    [{ loop: 'classic' as const, augments: ['Af'] as never }, 'bad-loop', /belong to the reference loop/],
  ])('refuses %j with a message naming the option and its range', (over, id, message) => {
    const e = refusal(req(over));
    expect(e.identifier).toBe(id);
    expect(e.message).toMatch(message);
  });

  it('a story: segments in order, at most 16, storyEvery 1…5000', () => {
    const seg = (text: string) => [{ kind: 'text' as const, text, weight: 1 }];
    const r = resolveRequest(
      manifest,
      req({ story: [seg('a blue square'), seg('a green circle')], storyEvery: 3 }),
    );
    expect(r.segments.map((s) => (s[0] as { text: string }).text)).toEqual([
      'a red circle',
      'a blue square',
      'a green circle',
    ]);
    expect(r.storyEvery).toBe(3);
    const long = refusal(req({ story: Array.from({ length: 99 }, () => seg('a red circle')) }));
    expect(long.identifier).toBe('bad-story');
    expect(long.message).toMatch(/100 prompts; at most 16/);
    expect(refusal(req({ storyEvery: 0 })).message).toMatch(/storyEvery must be a number from 1 to 5000/);
    expect(refusal(req({ story: [[{ kind: 'text', text: '', weight: 1 }]] })).identifier).toBe(
      'empty-prompt',
    );
  });

  it('the job contract takes the same fields with the same ranges', () => {
    const job = {
      v: 1,
      jobId: 'j1',
      prompts: [{ text: 'a red circle', weight: 1 }],
      seed: 1,
      width: 64,
      height: 64,
      steps: 10,
      model: 'tiny-shapes',
      requester: { userId: 'u1' },
      createdAt: new Date(0).toISOString(),
    };
    expect(
      RenderJob.safeParse({ ...job, loop: 'reference', augments: ['Af', 'Ji'], optimiser: 'RAdam' }).success,
    ).toBe(true);
    expect(RenderJob.safeParse({ ...job, augments: ['Zz'] }).success).toBe(false);
    expect(RenderJob.safeParse({ ...job, cutNoise: 3 }).success).toBe(false);
    expect(loopOptionProblem({ cutPow: 0 })?.option).toBe('cutPow');
  });

  it('parses augment lists', () => {
    expect(parseAugments('Af,Pe Ji')).toEqual(['Af', 'Pe', 'Ji']);
    expect(parseAugments('none')).toEqual([]);
  });
});

describe('reference draws', () => {
  it('are the same for the same seed and differ for another', () => {
    const a = drawReferenceStep(new Mulberry32(5), opts);
    const b = drawReferenceStep(new Mulberry32(5), opts);
    const c = drawReferenceStep(new Mulberry32(6), opts);
    expect(a).toEqual(b);
    expect(a.warps).not.toEqual(c.warps);
  });

  it('leave everything identity without augments, and draw no noise without cutNoise', () => {
    const rng = new Mulberry32(1);
    const d = drawReferenceStep(rng, { ...opts, augments: [], cutNoise: 0 });
    expect(Array.from(d.warps.subarray(0, 9))).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(d.erase.every((v) => v === 1)).toBe(true);
    expect(d.jitter[4]).toBe(0);
    expect(d.eps.every((v) => v === 0)).toBe(true);
    expect(rng.next()).toBe(new Mulberry32(1).next()); // nothing was drawn
  });

  it('original: Crowson crops with sizes from min(W, H, S) to min(W, H), no flips, no pooling', () => {
    const d = drawReferenceStep(new Mulberry32(3), { ...opts, cutMethod: 'original', cutn: 64 });
    expect(d.pool[0]).toBe(0);
    for (let k = 0; k < 64; k++) {
      const [x0, y0, size, flip] = d.cuts.subarray(k * 4, k * 4 + 4);
      expect(size).toBeGreaterThanOrEqual(32);
      expect(size).toBeLessThanOrEqual(64);
      expect(x0! + size!).toBeLessThanOrEqual(64);
      expect(y0! + size!).toBeLessThanOrEqual(64);
      expect(flip).toBe(0);
    }
  });

  it('erasing is one rectangle for all cutouts; the jitter order is a permutation', () => {
    let seen = false;
    for (let seed = 0; seed < 20 && !seen; seed++) {
      const d = drawReferenceStep(new Mulberry32(seed), opts);
      const per = 32 * 32;
      expect(Array.from(d.erase.subarray(0, per))).toEqual(Array.from(d.erase.subarray(per, 2 * per)));
      seen = d.erase.some((v) => v === 0);
      const rows = Array.from({ length: 4 }, (_, i) => d.jorder.subarray(i * 4, i * 4 + 4).indexOf(1));
      expect([...rows].sort()).toEqual([0, 1, 2, 3]);
    }
    expect(seen).toBe(true);
  });

  it('homography maps the four points and invert3 inverts', () => {
    const src: [number, number][] = [
      [0, 0],
      [31, 0],
      [31, 31],
      [0, 31],
    ];
    const dst: [number, number][] = [
      [3, 2],
      [29, 5],
      [27, 30],
      [1, 26],
    ];
    const h = homography(src, dst);
    for (let k = 0; k < 4; k++) {
      const [x, y] = src[k]!;
      const w = h[6] * x + h[7] * y + h[8];
      expect((h[0] * x + h[1] * y + h[2]) / w).toBeCloseTo(dst[k]![0], 6);
      expect((h[3] * x + h[4] * y + h[5]) / w).toBeCloseTo(dst[k]![1], 6);
    }
    const id = invert3(h); // h · h⁻¹ = I
    const prod = [0, 1, 2].flatMap((i) =>
      [0, 1, 2].map((j) => [0, 1, 2].reduce((s, k) => s + h[i * 3 + k]! * id[k * 3 + j]!, 0)),
    );
    prod.forEach((v, i) => expect(v).toBeCloseTo(i % 4 === 0 ? 1 : 0, 9));
  });
});
