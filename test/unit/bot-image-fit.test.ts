import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fitImage } from '../../bot/src/image-fit.js';

describe('fitImage', () => {
  it('passes small PNGs through and shrinks large ones under the attachment limit', async () => {
    const raw = Buffer.alloc(256 * 256 * 3);
    let x = 12345;
    for (let i = 0; i < raw.length; i++) raw[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
    const png = new Uint8Array(
      await sharp(raw, { raw: { width: 256, height: 256, channels: 3 } })
        .png()
        .toBuffer(),
    );
    expect(png.byteLength).toBeGreaterThan(100_000);
    expect(await fitImage(png, png.byteLength, 'x')).toEqual({ name: 'x.png', data: png });
    const small = await fitImage(png, 20_000, 'x');
    expect(small.name).toBe('x.webp');
    expect(small.data.byteLength).toBeLessThanOrEqual(20_000);
    expect((await sharp(small.data).metadata()).format).toBe('webp');
  });
});
