/**
 * The host's draws for generate.py's Et and Ts augments in step interface 2 (models/BUNDLE.md,
 * `stepReference` inputs `elastic`, `elastic_on`, `tps`): kornia's RandomElasticTransform(p 0.7)
 * and RandomThinPlateSpline(scale 0.8, same_on_batch, p 0.7). models/tessera_models/etts_inputs.py
 * computes the same in Python for the parity tests.
 *
 * Et: per cutout `on` and kornia's noise (rand·2 − 1, [2,S,S]); the graph smooths it (Gaussian
 * window 63, sigma 32), scales it (alpha 1) and samples. Ts: one decision and one jitter of
 * kornia's five control points for the whole batch; the spline (an 8×8 solve, which ONNX has no op
 * for) is evaluated here, once per step, as a sampling field: the source pixel (x, y) of each
 * output pixel, the identity where Ts is off.
 */
import type { Augment } from '../../../shared/src/loop-options.js';
import { EngineInputError } from './engine.js';
import type { Mulberry32 } from './rng.js';

/** The step graph's inputs for Et and Ts; bundles exported before them lack these. */
export const ETTS_INPUTS = ['elastic', 'elastic_on', 'tps'] as const;
export const ELASTIC_P = 0.7;
export const TPS_P = 0.7;
export const TPS_SCALE = 0.8;
/** kornia's control points, normalised (x, y). */
export const TPS_SRC: readonly (readonly [number, number])[] = [
  [-1, -1],
  [-1, 1],
  [1, -1],
  [1, 1],
  [0, 0],
];

export interface EttsDraws {
  elastic: Float32Array; // [N,2,S,S] kornia's noise where on, 0 elsewhere
  elasticOn: Float32Array; // [N]
  tps: Float32Array; // [N,2,S,S] source pixel (x, y) per output pixel
}

/** kornia's r²·log r, as ½·r²·log(r² + 1e-8). */
export const tpsKernel = (r2: number): number => 0.5 * r2 * Math.log(r2 + 1e-8);

/** Solves A·X = B in place (Gaussian elimination with partial pivoting); B has k columns. */
function solve(A: number[][], B: number[][]): number[][] {
  const n = A.length;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r;
    [A[c], A[p]] = [A[p]!, A[c]!];
    [B[c], B[p]] = [B[p]!, B[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / A[c]![c]!;
      if (f === 0) continue;
      for (let k = c; k < n; k++) A[r]![k]! -= f * A[c]![k]!;
      for (let k = 0; k < B[r]!.length; k++) B[r]![k]! -= f * B[c]![k]!;
    }
  }
  return B.map((row, r) => row.map((v) => v / A[r]![r]!));
}

/**
 * kornia's get_tps_transform(dst, src): kernel weights [5][2] and affine [3][2] of the spline
 * that maps each jittered point dst_i to its control point src_i (kernel between dst_i and the
 * centres src_j, affine rows [1, dst_i]).
 */
export function tpsWeights(dst: readonly (readonly [number, number])[]): { w: number[][]; a: number[][] } {
  const L: number[][] = [];
  for (let i = 0; i < 5; i++) {
    const [x, y] = dst[i]!;
    const k = TPS_SRC.map(([sx, sy]) => tpsKernel((x - sx) ** 2 + (y - sy) ** 2));
    L.push([...k, 1, x, y]);
  }
  L.push(
    [...dst.map(() => 1), 0, 0, 0],
    [...dst.map(([x]) => x), 0, 0, 0],
    [...dst.map(([, y]) => y), 0, 0, 0],
  );
  const B = [...TPS_SRC.map(([x, y]) => [x, y]), [0, 0], [0, 0], [0, 0]];
  const sol = solve(L, B);
  return { w: sol.slice(0, 5), a: sol.slice(5) };
}

/**
 * The sampling field [2,S,S] of kornia's TPS warp for jittered points dst: evaluated at kornia's
 * corner-aligned grid linspace(−1, 1, S) and read as grid_sample(align_corners=False) reads it,
 * pixel = ((g + 1)·S − 1)/2.
 */
export function tpsField(dst: readonly (readonly [number, number])[], S: number): Float32Array {
  const { w, a } = tpsWeights(dst);
  const out = new Float32Array(2 * S * S);
  for (let y = 0; y < S; y++) {
    const vy = -1 + (2 * y) / (S - 1);
    for (let x = 0; x < S; x++) {
      const vx = -1 + (2 * x) / (S - 1);
      let fx = a[0]![0]! + vx * a[1]![0]! + vy * a[2]![0]!;
      let fy = a[0]![1]! + vx * a[1]![1]! + vy * a[2]![1]!;
      for (let j = 0; j < 5; j++) {
        const [sx, sy] = TPS_SRC[j]!;
        const u = tpsKernel((vx - sx) ** 2 + (vy - sy) ** 2);
        fx += u * w[j]![0]!;
        fy += u * w[j]![1]!;
      }
      out[y * S + x] = ((fx + 1) * S - 1) / 2;
      out[S * S + y * S + x] = ((fy + 1) * S - 1) / 2;
    }
  }
  return out;
}

/** [N,2,S,S]: every output pixel samples itself. */
export function identityField(N: number, S: number): Float32Array {
  const one = new Float32Array(2 * S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      one[y * S + x] = x;
      one[S * S + y * S + x] = y;
    }
  return repeat(one, N);
}

function repeat(one: Float32Array, N: number): Float32Array {
  const out = new Float32Array(N * one.length);
  for (let k = 0; k < N; k++) out.set(one, k * one.length);
  return out;
}

/** The inputs that leave every cutout untouched: no elastic noise, the identity field. */
export function neutralEtts(N: number, S: number): EttsDraws {
  return {
    elastic: new Float32Array(N * 2 * S * S),
    elasticOn: new Float32Array(N),
    tps: identityField(N, S),
  };
}

/**
 * One step's Et and Ts inputs, in this order: Et (per cutout: on = next() < 0.7, then, where on,
 * 2·S·S values next()·2 − 1 in C-order), then Ts (on = next() < 0.7, then for each control point
 * x and y offsets (next()·2 − 1)·0.8, drawn whether on or not). No draws for an augment not asked;
 * its inputs are `neutral`'s arrays (shared across steps, never written), or fresh neutral ones.
 */
export function drawEtts(
  rng: Mulberry32,
  N: number,
  S: number,
  augments: readonly Augment[],
  neutral: EttsDraws = neutralEtts(N, S),
): EttsDraws {
  const d = { ...neutral };
  if (augments.includes('Et')) {
    d.elastic = new Float32Array(N * 2 * S * S);
    d.elasticOn = new Float32Array(N);
    for (let k = 0; k < N; k++) {
      if (rng.next() >= ELASTIC_P) continue;
      d.elasticOn[k] = 1;
      const block = d.elastic.subarray(k * 2 * S * S, (k + 1) * 2 * S * S);
      for (let i = 0; i < block.length; i++) block[i] = rng.next() * 2 - 1;
    }
  }
  if (augments.includes('Ts')) {
    const on = rng.next() < TPS_P;
    const dst = TPS_SRC.map(([x, y]): [number, number] => [
      x + (rng.next() * 2 - 1) * TPS_SCALE,
      y + (rng.next() * 2 - 1) * TPS_SCALE,
    ]);
    if (on) d.tps = repeat(tpsField(dst, S), N);
  }
  return d;
}

/** Et and Ts need a step graph with their inputs: a bundle exported before them refuses them. */
export function checkEttsSupported(
  model: string,
  augments: readonly Augment[],
  graphInputs: readonly string[],
): void {
  const asked = augments.filter((a) => a === 'Et' || a === 'Ts');
  const missing = ETTS_INPUTS.filter((n) => !graphInputs.includes(n));
  if (asked.length && missing.length)
    throw new EngineInputError(
      `Model '${model}' was exported before the ${asked.join(' and ')} augment${asked.length > 1 ? 's' : ''} ` +
        `(its reference step has no ${missing.join(', ')} input): leave ${asked.join(', ')} out of augments, or re-export the model.`,
      'unsupported-augment',
    );
}
