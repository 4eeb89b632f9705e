import type { Mulberry32 } from './rng.js';

export interface CutoutOptions {
  width: number;
  height: number;
  cutn: number;
  cutPow: number;
  /** Smallest cutout side as a fraction of min(width, height). */
  cutMin: number;
  /** Largest per-cutout noise std (the manifest's `defaults.noise`). */
  noise: number;
}

export interface Cutouts {
  /** [cutn, 4]: x0, y0, size (pixels), flip ∈ {0, 1}. */
  cuts: Float32Array;
  /** [cutn]: noise std per cutout. */
  noise: Float32Array;
}

/**
 * Draws one step's cutouts in the order models/BUNDLE.md fixes: per cutout size, x0, y0, flip,
 * noise (five draws each).
 */
export function sampleCutouts(rng: Mulberry32, o: CutoutOptions): Cutouts {
  const maxS = Math.min(o.width, o.height);
  const minS = Math.max(1, Math.round(o.cutMin * maxS));
  const cuts = new Float32Array(o.cutn * 4);
  const noise = new Float32Array(o.cutn);
  for (let k = 0; k < o.cutn; k++) {
    const size = Math.floor(minS + rng.next() ** o.cutPow * (maxS - minS));
    const x0 = Math.floor(rng.next() * (o.width - size + 1));
    const y0 = Math.floor(rng.next() * (o.height - size + 1));
    const flip = rng.next() < 0.5 ? 1 : 0;
    noise[k] = rng.next() * o.noise;
    cuts.set([x0, y0, size, flip], k * 4);
  }
  return { cuts, noise };
}

/** `count` standard normals in draw order (the step graph's optional `eps` input). */
export function sampleNormals(rng: Mulberry32, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.normal();
  return out;
}
