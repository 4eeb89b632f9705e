/**
 * generate.py's `--init_noise` (`-in pixels|gradient`): instead of random latent codes, the render
 * starts from a random picture passed through the encoder. The picture is drawn from the render's
 * seeded generator (models/BUNDLE.md, draw order step 1), so the same seed gives the same start.
 *
 * What generate.py draws (nerdyrodent/VQGAN-CLIP, read at 592d555a; written here from that
 * description): `pixels` is every channel of every pixel uniform over the integers 0…254
 * (`randint(0, 255)`); `gradient` is three linear ramps, red across the width from 0 to a, green
 * down the height from 0 to b, blue down the height from c to d, with c ∈ 0…254, a ∈ 1…254,
 * b ∈ 2…254, d ∈ 3…127 drawn in the order c, a, b, d, each value truncated to a byte.
 */
import type { InitNoise } from '../../../shared/src/loop-options.js';
import type { Mulberry32 } from './rng.js';

/** An integer uniform in lo…hi−1, like numpy's `randint(lo, hi)`. */
function randint(rng: Mulberry32, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo));
}

/** `linspace(start, stop, n)[i]`. */
function ramp(start: number, stop: number, n: number, i: number): number {
  return n === 1 ? start : start + ((stop - start) * i) / (n - 1);
}

/** The noise picture as interleaved RGB bytes, row-major, `height` rows of `width` pixels. */
export function initNoiseImage(kind: InitNoise, width: number, height: number, rng: Mulberry32): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  if (kind === 'pixels') {
    for (let i = 0; i < rgb.length; i++) rgb[i] = randint(rng, 0, 255);
    return rgb;
  }
  const c = randint(rng, 0, 255);
  const a = randint(rng, 1, 255);
  const b = randint(rng, 2, 255);
  const d = randint(rng, 3, 128);
  for (let y = 0; y < height; y++) {
    const green = Math.trunc(ramp(0, b, height, y));
    const blue = Math.trunc(ramp(c, d, height, y));
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      rgb[o] = Math.trunc(ramp(0, a, width, x));
      rgb[o + 1] = green;
      rgb[o + 2] = blue;
    }
  }
  return rgb;
}
