import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fitFinalMedia } from '../../bot/src/image-fit.js';
import { encodeTimelapse } from '../../renderer/src/engine/image-io.js';
import { Mulberry32 } from '../../renderer/src/engine/rng.js';

const W = 96;
const H = 96;
const rng = new Mulberry32(7);
/** Noise frames: they compress badly, so the video is large for its size. */
const frames = Array.from({ length: 24 }, () =>
  Uint8Array.from({ length: W * H * 3 }, () => rng.next() * 256),
);

async function media() {
  const video = await encodeTimelapse(frames, W, H, 100);
  const png = new Uint8Array(
    await sharp(Buffer.from(frames.at(-1)!), { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toBuffer(),
  );
  return { video, png };
}

describe('the final attachment of a zoom render', () => {
  it('is the animated WebP when it fits', async () => {
    const { video, png } = await media();
    const out = await fitFinalMedia(png, video, 10 * 1024 * 1024, 'tessera-1');
    expect(out).toMatchObject({ name: 'tessera-1.webp', animated: true });
    expect(out.note).toBeUndefined();
    expect((await sharp(Buffer.from(out.data), { animated: true }).metadata()).pages).toBe(24);
  });

  it('is re-encoded smaller, every frame kept, when that makes it fit', async () => {
    const { video, png } = await media();
    const out = await fitFinalMedia(png, video, video.byteLength - 1, 'tessera-1');
    expect(out.animated).toBe(true);
    expect(out.data.byteLength).toBeLessThan(video.byteLength);
    expect((await sharp(Buffer.from(out.data), { animated: true }).metadata()).pages).toBe(24);
  });

  it('falls back to the last frame with a note when it cannot fit', async () => {
    const { video, png } = await media();
    // 24 noise frames: even the lowest re-encode is larger than the one PNG
    const lowest = await sharp(Buffer.from(video), { animated: true }).webp({ quality: 35 }).toBuffer();
    expect(lowest.byteLength).toBeGreaterThan(png.byteLength);
    const out = await fitFinalMedia(png, video, png.byteLength, 'tessera-1');
    expect(out).toMatchObject({ name: 'tessera-1.png', animated: false });
    expect(out.data).toEqual(png);
    expect(out.note).toMatch(/zoom video \(.* MiB\) is larger than this channel's attachment limit/);
  });

  it('is the picture, without a note, when there is no video', async () => {
    const { png } = await media();
    expect(await fitFinalMedia(png, undefined, 10 * 1024 * 1024, 'x')).toEqual({
      name: 'x.png',
      data: png,
      animated: false,
      note: undefined,
    });
  });
});
