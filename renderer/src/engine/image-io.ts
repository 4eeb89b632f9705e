/**
 * Pixels in and out of the engine: tensor ↔ RGB conversions (pure), decoding user images with
 * sharp behind size checks made on the header alone, and encoding frames, finals and
 * timelapses.
 */
import sharp, { type Metadata } from 'sharp';
import { EngineInputError } from './engine.js';
import { addPngText } from './png-text.js';

/** Largest encoded image accepted as an init or image prompt. */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
/** Largest decoded image accepted (pixels), checked from the header before decoding. */
export const MAX_IMAGE_PIXELS = 4096 * 4096;

/** [1,3,H,W] floats in [0,1] → interleaved RGB bytes (rounded, clamped). */
export function tensorToRgb(data: ArrayLike<number>, width: number, height: number): Uint8Array {
  const plane = width * height;
  if (data.length !== 3 * plane)
    throw new RangeError(`image tensor has ${data.length} values, expected 3×${height}×${width}`);
  const rgb = new Uint8Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      const v = data[c * plane + i]!;
      rgb[i * 3 + c] = v >= 1 ? 255 : v > 0 ? Math.round(v * 255) : 0; // NaN → 0
    }
  }
  return rgb;
}

/** Interleaved RGB bytes → [1,3,H,W] floats in [0,1]. */
export function rgbToTensor(rgb: Uint8Array, width: number, height: number): Float32Array {
  const plane = width * height;
  if (rgb.length !== 3 * plane)
    throw new RangeError(`RGB buffer has ${rgb.length} bytes, expected ${3 * plane}`);
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = rgb[i * 3 + c]! / 255;
  }
  return out;
}

/**
 * Decodes an encoded image (PNG/JPEG/WebP/GIF…) to a [1,3,height,width] tensor, centre-cropped to
 * the target aspect. Checks the byte size and the header's dimensions before any decoding, so a
 * hostile header (30000×30000) costs nothing.
 * @throws EngineInputError `bad-image` | `image-too-large`
 */
export async function decodeImageToTensor(
  bytes: Uint8Array,
  width: number,
  height: number,
  what = 'init image',
): Promise<Float32Array> {
  if (bytes.length > MAX_IMAGE_BYTES) {
    throw new EngineInputError(
      `The ${what} is ${(bytes.length / 1048576).toFixed(1)} MiB; at most ${MAX_IMAGE_BYTES / 1048576} MiB are accepted.`,
      'image-too-large',
    );
  }
  const options = { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'error' as const, animated: false };
  let meta: Metadata;
  try {
    // The header alone: no pixel limit here, so that an oversized image gets its own clear error.
    meta = await sharp(bytes, { ...options, limitInputPixels: false }).metadata();
  } catch (cause) {
    throw new EngineInputError(
      `The ${what} is not an image sharp can read (PNG, JPEG, WebP, GIF, AVIF, TIFF).`,
      'bad-image',
      { cause },
    );
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w <= 0 || h <= 0) throw new EngineInputError(`The ${what} has no size.`, 'bad-image');
  if (w * h > MAX_IMAGE_PIXELS) {
    throw new EngineInputError(
      `The ${what} is ${w}×${h} pixels; at most ${MAX_IMAGE_PIXELS} pixels (e.g. 4096×4096) are accepted.`,
      'image-too-large',
    );
  }
  try {
    const { data, info } = await sharp(bytes, options)
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .resize(width, height, { fit: 'cover', kernel: 'lanczos3' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return rgbToTensor(data, width, height);
  } catch (cause) {
    throw new EngineInputError(
      `The ${what} could not be decoded: ${(cause as Error).message}.`,
      'bad-image',
      { cause },
    );
  }
}

/** A progress frame: small, lossy WebP. */
export async function encodeFrame(rgb: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .webp({ quality: 80, effort: 2 })
    .toBuffer();
}

/** The final image: PNG (deterministic for the same pixels) with text metadata. */
export async function encodeFinalPng(
  rgb: Uint8Array,
  width: number,
  height: number,
  text: Record<string, string>,
): Promise<Uint8Array> {
  const png = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 9, adaptiveFiltering: false })
    .toBuffer();
  return addPngText(png, text);
}

/** An animated WebP of equally sized RGB frames, `delayMs` apart, looping. */
export async function encodeTimelapse(
  frames: readonly Uint8Array[],
  width: number,
  height: number,
  delayMs = 120,
): Promise<Uint8Array> {
  if (frames.length === 0) throw new RangeError('no frames');
  const strip = Buffer.concat(frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)));
  return sharp(strip, { raw: { width, height: height * frames.length, channels: 3, pageHeight: height } })
    .webp({
      quality: 85,
      loop: 0,
      delay: frames.map((_, i) => (i === frames.length - 1 ? delayMs * 8 : delayMs)),
    })
    .toBuffer();
}
