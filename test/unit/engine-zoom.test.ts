import { describe, expect, it } from 'vitest';
import { rgbToTensor, zoomImage } from '../../renderer/src/engine/zoom.js';

const W = 8;
const H = 6;
const ramp = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 7) % 256);

describe('zoomImage', () => {
  it('scale 1 and a shift: the pixels wrap around (ImageChops.offset)', async () => {
    const out = await zoomImage(ramp, W, H, { scale: 1, shiftX: 2, shiftY: -1 });
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const d = ((((y - 1 + H) % H) * W + ((x + 2) % W)) * 3) as number;
        expect(Array.from(out.subarray(d, d + 3))).toEqual(
          Array.from(ramp.subarray((y * W + x) * 3, (y * W + x) * 3 + 3)),
        );
      }
  });

  it('scale 2 magnifies the centre; scale 0.5 shrinks into a black border', async () => {
    const flat = new Uint8Array(W * H * 3).fill(200);
    const inner = await zoomImage(flat, W, H, { scale: 2, shiftX: 0, shiftY: 0 });
    expect(inner.every((v) => v === 200)).toBe(true);
    const outer = await zoomImage(flat, W, H, { scale: 0.5, shiftX: 0, shiftY: 0 });
    expect(outer[0]).toBeLessThan(60); // the corner comes from the black surround
    const c = ((H / 2) * W + W / 2) * 3;
    expect(outer[c]).toBeGreaterThan(150);
  });

  it('rgbToTensor is planar in [0,1]', () => {
    const t = rgbToTensor(Uint8Array.of(255, 0, 51, 0, 255, 0), 2, 1);
    [1, 0, 0, 1, 0.2, 0].forEach((v, i) => expect(t[i]).toBeCloseTo(v, 6));
  });
});
