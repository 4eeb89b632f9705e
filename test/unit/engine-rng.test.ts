import { describe, expect, it } from 'vitest';
import { Adam, clampPerChannel } from '../../renderer/src/engine/adam.js';
import { sampleCutouts, sampleNormals } from '../../renderer/src/engine/cutouts.js';
import { Mulberry32 } from '../../renderer/src/engine/rng.js';

// Golden values from an independent Python transcription of models/BUNDLE.md's mulberry32.
describe('Mulberry32', () => {
  it.each([
    [0, [0.26642920868471265, 0.0003297457005828619, 0.2232720274478197, 0.1462021479383111]],
    [1, [0.6270739405881613, 0.002735721180215478, 0.5274470399599522, 0.9810509674716741]],
    [42, [0.6011037519201636, 0.44829055899754167, 0.8524657934904099, 0.6697340414393693]],
    [4294967295, [0.8964226141106337, 0.189478256739676, 0.7156526781618595, 0.9440599093213677]],
  ])('draws the golden sequence for seed %i', (seed, expected) => {
    const rng = new Mulberry32(seed);
    expect(expected.map(() => rng.next())).toEqual(expected);
  });

  it('reduces seeds modulo 2^32 like `seed >>> 0`', () => {
    expect(new Mulberry32(2 ** 32 + 1).next()).toBe(new Mulberry32(1).next());
    expect(new Mulberry32(-1).next()).toBe(new Mulberry32(4294967295).next());
  });

  it('draws normals from two uniforms each (cosine branch)', () => {
    const rng = new Mulberry32(7);
    expect([rng.normal(), rng.normal(), rng.normal()]).toEqual([
      0.14197043782155663, -0.8642530248729361, -1.006366324094015,
    ]);
    expect(Array.from(sampleNormals(new Mulberry32(7), 3))).toEqual(
      [0.14197043782155663, -0.8642530248729361, -1.006366324094015].map(Math.fround),
    );
  });
});

describe('sampleCutouts', () => {
  it('draws size, x0, y0, flip, noise per cutout in the contract order', () => {
    const { cuts, noise } = sampleCutouts(new Mulberry32(1), {
      width: 64,
      height: 64,
      cutn: 3,
      cutPow: 1,
      cutMin: 0.5,
      noise: 0.1,
    });
    expect(Array.from(cuts)).toEqual([0, 6, 52, 0, 15, 18, 40, 1, 9, 2, 46, 1]); // x0, y0, size, flip;
    expect(noise[0]).toBeCloseTo(0.0968377898214385, 7);
    expect(noise[1]).toBeCloseTo(0.09948229456786067, 7);
    expect(noise[2]).toBeCloseTo(0.024752389639616013, 7);
  });

  it('keeps every cutout inside the image and within [cutMin·side, side]', () => {
    const rng = new Mulberry32(99);
    const o = { width: 96, height: 64, cutn: 500, cutPow: 2, cutMin: 0.25, noise: 0.2 };
    const { cuts, noise } = sampleCutouts(rng, o);
    for (let k = 0; k < o.cutn; k++) {
      const [x0, y0, size, flip] = Array.from(cuts.subarray(k * 4, k * 4 + 4));
      expect(size).toBeGreaterThanOrEqual(16);
      expect(size).toBeLessThanOrEqual(64);
      expect(x0! + size!).toBeLessThanOrEqual(96);
      expect(y0! + size!).toBeLessThanOrEqual(64);
      expect([0, 1]).toContain(flip);
      expect(noise[k]).toBeGreaterThanOrEqual(0);
      expect(noise[k]).toBeLessThan(0.2);
    }
  });

  it('consumes exactly five draws per cutout', () => {
    const a = new Mulberry32(5);
    sampleCutouts(a, { width: 64, height: 64, cutn: 4, cutPow: 1, cutMin: 0.5, noise: 0.1 });
    const b = new Mulberry32(5);
    for (let i = 0; i < 20; i++) b.next();
    expect(a.next()).toBe(b.next());
  });
});

describe('Adam', () => {
  // Golden values from torch.optim.Adam(lr=0.1) in float64 (pytorch-env, torch 2.6).
  it('matches torch.optim.Adam step by step', () => {
    const p = Float32Array.of(1, -2, 0.5);
    const adam = new Adam(3, { lr: 0.1 });
    const grads = [
      [0.5, 0, -3],
      [-1, 2, 1e-3],
      [0.25, 0.25, 0.25],
    ];
    const expected = [
      [0.900000002, -2.0, 0.5999999996666667],
      [0.9366103542405654, -2.0744136818306456, 0.666981004067223],
      [0.9502794203389762, -2.139418453210448, 0.7132679780486695],
    ];
    grads.forEach((g, i) => {
      adam.step(p, g);
      expected[i]!.forEach((v, j) => expect(p[j]).toBeCloseTo(v, 6));
    });
    expect(adam.steps).toBe(3);
  });

  it('rejects a gradient of the wrong size', () => {
    expect(() => new Adam(2, { lr: 0.1 }).step(new Float32Array(2), [1])).toThrow(RangeError);
  });
});

describe('clampPerChannel', () => {
  it('clamps each channel plane to its own range', () => {
    const z = Float32Array.of(-5, 0, 5, -5, 0, 5);
    clampPerChannel(z, 2, [-1, 0.5], [1, 2]);
    expect(Array.from(z)).toEqual([-1, 0, 1, 0.5, 0.5, 2]);
  });
});
