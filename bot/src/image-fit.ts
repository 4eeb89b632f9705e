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

/** The final attachment of a render: its zoom video when there is one and it fits, else the picture. */
export interface FinalMedia {
  name: string;
  data: Uint8Array;
  animated: boolean;
  /** Why the message shows the picture instead of the video, when it does. */
  note?: string;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * A zoom video (animated WebP) within the attachment limit: as it is, or re-encoded at a lower
 * quality (every frame kept); when it still does not fit, the last frame (the final picture) with a
 * note that says why.
 */
export async function fitFinalMedia(
  png: Uint8Array,
  video: Uint8Array | undefined,
  limitBytes: number,
  baseName: string,
): Promise<FinalMedia> {
  if (video) {
    if (video.byteLength <= limitBytes) return { name: `${baseName}.webp`, data: video, animated: true };
    for (const quality of [60, 35]) {
      const data = await sharp(video, { animated: true }).webp({ quality }).toBuffer();
      if (data.byteLength <= limitBytes)
        return { name: `${baseName}.webp`, data: new Uint8Array(data), animated: true };
    }
  }
  const picture = await fitImage(png, limitBytes, baseName);
  const note = video
    ? `The zoom video (${mib(video.byteLength)}) is larger than this channel's attachment limit (${mib(limitBytes)}); here is its last frame.`
    : undefined;
  return { ...picture, animated: false, note };
}
