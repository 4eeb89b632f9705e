import { describe, expect, it } from 'vitest';
import { createOptimiser } from '../../renderer/src/engine/optimisers.js';

// p0 = [0.5, -1, 2], lr 0.1, 8 steps with g_t = [0.3 − 0.1t, 0.5·(−1)^t, 1/(t+1)]; the expected
// values are torch.optim 2.6 (float64, default hyper-parameters) after the 8th step.
const TORCH: Record<string, number[]> = {
  AdamW: [0.1474485766, -1.1390312233, 1.3376438589],
  Adagrad: [0.5065038318, -1.0433619875, 1.7538422977],
  Adamax: [0.2143529632, -1.1478818786, 1.5780310129],
  RAdam: [0.4065030528, -1.0718957313, 1.6699371468],
  RMSprop: [0.5894022107, -1.4298175077, -0.4806639597],
};
const grad = (t: number): number[] => [0.3 - 0.1 * t, 0.5 * (-1) ** t, 1 / (t + 1)];

describe('optimisers', () => {
  for (const [name, want] of Object.entries(TORCH)) {
    it(`${name} follows torch.optim.${name}`, () => {
      const p = Float32Array.of(0.5, -1, 2);
      const opt = createOptimiser(name as 'AdamW', 3, 0.1);
      for (let t = 0; t < 8; t++) opt.step(p, grad(t));
      want.forEach((w, i) => expect(p[i]).toBeCloseTo(w, 5));
    });
  }

  it('DiffGrad scales Adam’s first moment by sigmoid(|g_prev − g|) (torch_optimizer)', () => {
    const p = Float32Array.of(0.5);
    const opt = createOptimiser('DiffGrad', 1, 0.1);
    let x = 0.5;
    let m = 0;
    let v = 0;
    let prev = 0;
    for (let t = 1; t <= 5; t++) {
      const g = grad(t - 1)[0]!;
      opt.step(p, [g]);
      m = 0.9 * m + 0.1 * g;
      v = 0.999 * v + 0.001 * g * g;
      const dfc = 1 / (1 + Math.exp(-Math.abs(prev - g)));
      prev = g;
      x -= ((0.1 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t)) * ((m * dfc) / (Math.sqrt(v) + 1e-8));
      expect(p[0]).toBeCloseTo(x, 6);
    }
  });

  it('Adam from the factory is the classic loop’s Adam', () => {
    const a = Float32Array.of(1, 2);
    createOptimiser('Adam', 2, 0.1).step(a, [1, -1]);
    expect(Array.from(a)).toEqual([Math.fround(0.9), Math.fround(2.1)]);
  });

  it('refuses mismatched sizes', () => {
    expect(() => createOptimiser('RMSprop', 2, 0.1).step(new Float32Array(3), [1, 2, 3])).toThrow(RangeError);
  });
});
