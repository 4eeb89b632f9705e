import { describe, expect, it } from 'vitest';
import { initNoiseImage } from '../../renderer/src/engine/init-noise.js';
import { Mulberry32 } from '../../renderer/src/engine/rng.js';

const W = 48;
const H = 32;
const at = (rgb: Uint8Array, x: number, y: number) =>
  Array.from(rgb.subarray((y * W + x) * 3, (y * W + x) * 3 + 3));

describe('init noise (generate.py -in)', () => {
  it('pixels: one draw per byte, 0…254, the same for the same seed', () => {
    const a = initNoiseImage('pixels', W, H, new Mulberry32(5));
    expect(a).toEqual(initNoiseImage('pixels', W, H, new Mulberry32(5)));
    expect(a).not.toEqual(initNoiseImage('pixels', W, H, new Mulberry32(6)));
    expect(Math.max(...a)).toBeLessThanOrEqual(254);
    expect(new Set(a).size).toBeGreaterThan(200);
    // W·H·3 draws: the next draw of a generator that made the picture is the (W·H·3+1)-th
    const rng = new Mulberry32(5);
    initNoiseImage('pixels', W, H, rng);
    const fresh = new Mulberry32(5);
    for (let i = 0; i < W * H * 3; i++) fresh.next();
    expect(rng.next()).toBe(fresh.next());
  });

  it('gradient: red across the width from 0, green and blue down the height, four draws', () => {
    const rng = new Mulberry32(9);
    const g = initNoiseImage('gradient', W, H, rng);
    const draws = new Mulberry32(9);
    const c = Math.floor(draws.next() * 255);
    const a = 1 + Math.floor(draws.next() * 254);
    const b = 2 + Math.floor(draws.next() * 253);
    const d = 3 + Math.floor(draws.next() * 125);
    expect(rng.next()).toBe(draws.next());
    expect(at(g, 0, 0)).toEqual([0, 0, c]);
    expect(at(g, W - 1, 0)).toEqual([a, 0, c]);
    expect(at(g, 0, H - 1)).toEqual([0, b, d]);
    expect(at(g, W - 1, H - 1)).toEqual([a, b, d]);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const [r, gr, bl] = at(g, x, y);
        expect(r).toBe(at(g, x, 0)[0]); // red depends on x only
        expect([gr, bl]).toEqual(at(g, 0, y).slice(1)); // green and blue on y only
      }
    }
    expect(at(g, 10, 0)[0]).toBe(Math.trunc((a * 10) / (W - 1)));
  });
});
