/**
 * Final images must fit the channel's attachment limit. Small renders pass through as PNG;
 * larger ones are re-encoded as WebP, then scaled down until they fit.
 */
import sharp from 'sharp';

export async function fitImage(
  png: Uint8Array,
  limitBytes: number,
  baseName: string,
): Promise<{ name: string; data: Uint8Array }> {
  if (png.byteLength <= limitBytes) return { name: `${baseName}.png`, data: png };
  let quality = 90;
  let scale = 1;
  const meta = await sharp(png).metadata();
  for (let i = 0; i < 8; i++) {
    const width = Math.max(16, Math.round((meta.width ?? 512) * scale));
    const data = await sharp(png).resize({ width }).webp({ quality }).toBuffer();
    if (data.byteLength <= limitBytes) return { name: `${baseName}.webp`, data: new Uint8Array(data) };
    if (quality > 60) quality -= 15;
    else scale *= 0.7;
  }
  throw new Error(`image does not fit in ${limitBytes} bytes`);
}
