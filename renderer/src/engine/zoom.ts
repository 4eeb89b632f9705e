/**
 * generate.py's zoom video step (-zvid): the current image zoomed about its centre (crop
 * W/scale × H/scale, black outside, Lanczos back to W × H), then shifted with wrap-around
 * (PIL ImageChops.offset). The loop re-encodes the result as the new latent.
 */
import sharp from 'sharp';

export interface ZoomOptions {
  scale: number;
  shiftX: number;
  shiftY: number;
}

export async function zoomImage(
  rgb: Uint8Array,
  width: number,
  height: number,
  o: ZoomOptions,
): Promise<Uint8Array> {
  const cw = Math.max(1, Math.round(width / o.scale));
  const ch = Math.max(1, Math.round(height / o.scale));
  const padX = Math.max(0, Math.ceil((cw - width) / 2));
  const padY = Math.max(0, Math.ceil((ch - height) / 2));
  // two pipelines: sharp runs extend after extract within one
  const padded = await sharp(Buffer.from(rgb), { raw: { width, height, channels: 3 } })
    .extend({ left: padX, right: padX, top: padY, bottom: padY, background: { r: 0, g: 0, b: 0 } })
    .raw()
    .toBuffer();
  const zoomed = await sharp(padded, {
    raw: { width: width + 2 * padX, height: height + 2 * padY, channels: 3 },
  })
    .extract({
      left: Math.round(padX + width / 2 - cw / 2),
      top: Math.round(padY + height / 2 - ch / 2),
      width: cw,
      height: ch,
    })
    .resize(width, height, { kernel: 'lanczos3', fit: 'fill' })
    .raw()
    .toBuffer();
  const out = new Uint8Array(width * height * 3);
  const mod = (a: number, n: number): number => ((a % n) + n) % n;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const d = (mod(y + o.shiftY, height) * width + mod(x + o.shiftX, width)) * 3;
      out.set(zoomed.subarray((y * width + x) * 3, (y * width + x) * 3 + 3), d);
    }
  return out;
}

/** Interleaved RGB bytes → a [1,3,H,W] tensor in [0,1]. */
export function rgbToTensor(rgb: Uint8Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const t = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) t[c * plane + i] = rgb[i * 3 + c]! / 255;
  return t;
}
