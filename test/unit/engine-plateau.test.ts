import { describe, expect, it } from 'vitest';
import { PlateauDetector } from '../../renderer/src/engine/plateau.js';

describe('PlateauDetector', () => {
  it('waits for two windows, then stops when the mean stops falling', () => {
    const p = new PlateauDetector(3, 0.01);
    const falling = [10, 9, 8, 7, 6, 5, 4, 3];
    expect(falling.map((l) => p.push(l))).toEqual(falling.map(() => false));
    // windows [5,4,3] → [3,3,3] still fell by a third; it stops once both windows are all 3
    expect([3, 3, 3, 3, 3].map((l) => p.push(l))).toEqual([false, false, false, false, true]);
  });

  it('delta 0 stops only when the loss rises or stays', () => {
    const p = new PlateauDetector(2, 0);
    expect([5, 4, 3, 2.5, 2.4, 2.3].map((l) => p.push(l)).includes(true)).toBe(false);
    expect(p.push(2.6)).toBe(false);
    expect(p.push(2.6)).toBe(true);
  });
});
