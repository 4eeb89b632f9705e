/**
 * The host's random draws for step interface 2 (models/BUNDLE.md, `stepReference`): the cutouts
 * and augmentations of generate.py, drawn from the render's seeded generator in a fixed order so
 * that the same seed gives the same bytes. The graph applies them (models/tessera_models/refloop.py).
 */
import { type Augment, WARP_AUGMENTS } from '../../../shared/src/loop-options.js';
import type { HostTensor } from '../onnx/onnx-runtime.js';
import { drawEtts, type EttsDraws } from './etts-draws.js';
import type { Mulberry32 } from './rng.js';

export const WARP_SLOTS = 3;

export interface ReferenceDrawOptions {
  width: number;
  height: number;
  /** CLIP input side. */
  S: number;
  cutn: number;
  cutPow: number;
  cutMethod: 'latest' | 'original';
  augments: readonly Augment[];
  cutNoise: number;
  /** The graph takes Et's and Ts's inputs; these are fed where Et or Ts is not drawn (etts-draws.ts
   * neutralEtts, made once per render). Without them, Et and Ts are drawn only when asked. */
  ettsNeutral?: EttsDraws;
}

export interface ReferenceDraws {
  cuts: Float32Array; // [N,4]
  pool: Float32Array; // [1]
  warps: Float32Array; // [3,N,3,3]
  jitter: Float32Array; // [N,5]
  jorder: Float32Array; // [4,4]
  sharp: Float32Array; // [N]
  gnoise: Float32Array; // [N,3,S,S]
  erase: Float32Array; // [N,1,S,S]
  noise: Float32Array; // [N,1,1,1]
  eps: Float32Array; // [N,3,S,S]
  /** Et and Ts (etts-draws.ts), for graphs that take them. */
  etts?: EttsDraws;
}

type Mat3 = [number, number, number, number, number, number, number, number, number];
const IDENTITY: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

export function mul3(a: Mat3, b: Mat3): Mat3 {
  const o = new Array(9).fill(0) as Mat3;
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++)
      for (let k = 0; k < 3; k++) o[i * 3 + j] = o[i * 3 + j]! + a[i * 3 + k]! * b[k * 3 + j]!;
  return o;
}

export function invert3(m: Mat3): Mat3 {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  const r = [
    A,
    -(b * i - c * h),
    b * f - c * e,
    B,
    a * i - c * g,
    -(a * f - c * d),
    C,
    -(a * h - b * g),
    a * e - b * d,
  ];
  return r.map((v) => v / det) as Mat3;
}

/** The homography H with dst ~ H·src for four point pairs (Gaussian elimination, partial pivoting). */
export function homography(src: readonly [number, number][], dst: readonly [number, number][]): Mat3 {
  const A: number[][] = [];
  for (let k = 0; k < 4; k++) {
    const [x, y] = src[k]!;
    const [u, v] = dst[k]!;
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  for (let c = 0; c < 8; c++) {
    let p = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r;
    [A[c], A[p]] = [A[p]!, A[c]!];
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / A[c]![c]!;
      for (let k = c; k < 9; k++) A[r]![k]! -= f * A[c]![k]!;
    }
  }
  const h = A.map((row, r) => row[8]! / row[r]!);
  return [...h, 1] as Mat3;
}

const deg = Math.PI / 180;
const sym = (rng: Mulberry32, r: number): number => (rng.next() * 2 - 1) * r;

/** Sampling matrix (output pixel → source pixel) for one geometric augment of one cutout. */
function warpFor(aug: Augment, rng: Mulberry32, S: number): Mat3 {
  const c = (S - 1) / 2;
  const around = (m: Mat3, tx = 0, ty = 0): Mat3 =>
    mul3(mul3([1, 0, c + tx, 0, 1, c + ty, 0, 0, 1], m), [1, 0, -c, 0, 1, -c, 0, 0, 1]);
  const rot = (a: number): Mat3 => [Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a), 0, 0, 0, 1];
  if (aug === 'Ro') {
    const on = rng.next() < 0.7;
    const a = sym(rng, 15) * deg;
    return on ? invert3(around(rot(a))) : IDENTITY;
  }
  if (aug === 'Af') {
    const on = rng.next() < 0.7;
    const a = sym(rng, 15) * deg;
    const tx = sym(rng, 0.1 * S);
    const ty = sym(rng, 0.1 * S);
    const shear = Math.tan(sym(rng, 5) * deg);
    return on ? invert3(around(mul3(rot(a), [1, shear, 0, 0, 1, 0, 0, 0, 1]), tx, ty)) : IDENTITY;
  }
  if (aug === 'Pe') {
    const on = rng.next() < 0.7;
    const f = (0.7 * S) / 2;
    const start: [number, number][] = [
      [0, 0],
      [S - 1, 0],
      [S - 1, S - 1],
      [0, S - 1],
    ];
    const dir = [
      [1, 1],
      [-1, 1],
      [-1, -1],
      [1, -1],
    ];
    const end = start.map(([x, y], k): [number, number] => [
      x + f * rng.next() * dir[k]![0]!,
      y + f * rng.next() * dir[k]![1]!,
    ]);
    return on ? homography(end, start) : IDENTITY; // output (end) → source (start)
  }
  // Re: RandomResizedCrop, scale 0.1–1, ratio 3/4–4/3, p 0.5, resampled back to S×S
  const on = rng.next() < 0.5;
  const area = S * S * (0.1 + rng.next() * 0.9);
  const ratio = Math.exp(Math.log(3 / 4) + rng.next() * Math.log(16 / 9));
  const w = Math.min(S, Math.max(2, Math.round(Math.sqrt(area * ratio))));
  const h = Math.min(S, Math.max(2, Math.round(Math.sqrt(area / ratio))));
  const x0 = Math.floor(rng.next() * (S - w + 1));
  const y0 = Math.floor(rng.next() * (S - h + 1));
  return on ? [(w - 1) / (S - 1), 0, x0, 0, (h - 1) / (S - 1), y0, 0, 0, 1] : IDENTITY;
}

function drawCrops(rng: Mulberry32, o: ReferenceDrawOptions, cuts: Float32Array): void {
  // Crowson's MakeCutouts: size = floor(rand^cutPow·(max − min) + min), min = min(W, H, S)
  const maxS = Math.min(o.width, o.height);
  const minS = Math.min(o.width, o.height, o.S);
  for (let k = 0; k < o.cutn; k++) {
    const size = Math.floor(rng.next() ** o.cutPow * (maxS - minS) + minS);
    const x0 = Math.floor(rng.next() * (o.width - size + 1));
    const y0 = Math.floor(rng.next() * (o.height - size + 1));
    cuts.set([x0, y0, size, 0], k * 4);
  }
}

function drawJitter(rng: Mulberry32, n: number, jitter: Float32Array, jorder: Float32Array): void {
  for (let k = 0; k < n; k++) {
    const on = rng.next() < 0.7 ? 1 : 0;
    jitter.set(
      [sym(rng, 0.1), 0.9 + rng.next() * 0.2, 0.9 + rng.next() * 0.2, sym(rng, 0.1) * 2 * Math.PI, on],
      k * 5,
    );
  }
  const order = [0, 1, 2, 3];
  for (let i = 3; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  jorder.fill(0);
  order.forEach((op, i) => (jorder[i * 4 + op] = 1));
}

function drawErase(rng: Mulberry32, n: number, S: number, erase: Float32Array): void {
  // RandomErasing(scale .1–.4, ratio .3–3.33, same_on_batch, p .7): one rectangle for all cutouts
  const on = rng.next() < 0.7;
  const area = S * S * (0.1 + rng.next() * 0.3);
  const ratio = Math.exp(Math.log(0.3) + rng.next() * (Math.log(1 / 0.3) - Math.log(0.3)));
  const h = Math.min(S, Math.max(1, Math.round(Math.sqrt(area * ratio))));
  const w = Math.min(S, Math.max(1, Math.round(Math.sqrt(area / ratio))));
  const y0 = Math.floor(rng.next() * (S - h + 1));
  const x0 = Math.floor(rng.next() * (S - w + 1));
  erase.fill(1);
  if (!on) return;
  for (let k = 0; k < n; k++)
    for (let y = y0; y < y0 + h; y++) erase.fill(0, k * S * S + y * S + x0, k * S * S + y * S + x0 + w);
}

/** One step's draws, in this order: crops (original) or, for latest, each augment in the
 * graph's order (warps as listed, Et, Ts, Ji, Sh, Gn, Er), then the per-cutout noise and its normals. */
export function drawReferenceStep(rng: Mulberry32, o: ReferenceDrawOptions): ReferenceDraws {
  const { cutn: N, S } = o;
  const d: ReferenceDraws = {
    cuts: new Float32Array(N * 4),
    pool: Float32Array.of(o.cutMethod === 'latest' ? 1 : 0),
    warps: new Float32Array(WARP_SLOTS * N * 9),
    jitter: new Float32Array(N * 5),
    jorder: new Float32Array(16),
    sharp: new Float32Array(N).fill(1),
    gnoise: new Float32Array(N * 3 * S * S),
    erase: new Float32Array(N * S * S).fill(1),
    noise: new Float32Array(N),
    eps: new Float32Array(N * 3 * S * S),
  };
  for (let s = 0; s < WARP_SLOTS; s++) for (let k = 0; k < N; k++) d.warps.set(IDENTITY, (s * N + k) * 9);
  for (let k = 0; k < N; k++) d.jitter.set([0, 1, 1, 0, 0], k * 5);
  [0, 5, 10, 15].forEach((i) => (d.jorder[i] = 1));
  const etts = o.ettsNeutral !== undefined || o.augments.some((a) => a === 'Et' || a === 'Ts');
  if (o.cutMethod === 'original') {
    drawCrops(rng, o, d.cuts);
    if (etts) d.etts = drawEtts(rng, N, S, [], o.ettsNeutral);
    return d;
  }
  const side = Math.min(o.width, o.height);
  for (let k = 0; k < N; k++) d.cuts.set([0, 0, side, 0], k * 4);
  const has = (a: Augment): boolean => o.augments.includes(a);
  o.augments
    .filter((a) => WARP_AUGMENTS.includes(a))
    .forEach((aug, slot) => {
      for (let k = 0; k < N; k++) d.warps.set(warpFor(aug, rng, S), (slot * N + k) * 9);
    });
  if (etts) d.etts = drawEtts(rng, N, S, o.augments, o.ettsNeutral);
  if (has('Ji')) drawJitter(rng, N, d.jitter, d.jorder);
  if (has('Sh')) for (let k = 0; k < N; k++) d.sharp[k] = rng.next() < 0.5 ? rng.next() * 0.3 : 1;
  if (has('Gn'))
    for (let k = 0; k < N; k++) {
      const on = rng.next() < 0.5;
      const block = d.gnoise.subarray(k * 3 * S * S, (k + 1) * 3 * S * S);
      if (on) for (let i = 0; i < block.length; i++) block[i] = rng.normal();
    }
  if (has('Er')) drawErase(rng, N, S, d.erase);
  if (o.cutNoise > 0) {
    for (let k = 0; k < N; k++) d.noise[k] = rng.next() * o.cutNoise;
    for (let i = 0; i < d.eps.length; i++) d.eps[i] = rng.normal();
  }
  return d;
}

const f32 = (data: Float32Array, dims: readonly number[]): HostTensor => ({ type: 'float32', data, dims });

/** The step graph's feeds for one step's draws (N cutouts, CLIP side S). */
export function referenceFeeds(d: ReferenceDraws, N: number, S: number): Record<string, HostTensor> {
  return {
    cuts: f32(d.cuts, [N, 4]),
    pool: f32(d.pool, [1]),
    warps: f32(d.warps, [WARP_SLOTS, N, 3, 3]),
    jitter: f32(d.jitter, [N, 5]),
    jorder: f32(d.jorder, [4, 4]),
    sharp: f32(d.sharp, [N]),
    gnoise: f32(d.gnoise, [N, 3, S, S]),
    erase: f32(d.erase, [N, 1, S, S]),
    noise: f32(d.noise, [N, 1, 1, 1]),
    eps: f32(d.eps, [N, 3, S, S]),
    ...(d.etts && {
      elastic: f32(d.etts.elastic, [N, 2, S, S]),
      elastic_on: f32(d.etts.elasticOn, [N]),
      tps: f32(d.etts.tps, [N, 2, S, S]),
    }),
  };
}
