/**
 * Adam (Kingma & Ba) with bias correction, as torch.optim.Adam without weight decay, followed by
 * the per-channel clamp of models/BUNDLE.md. Works in float64 state over a float32 latent: the
 * latent itself stays float32 because that is what the step graph takes.
 */
export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export class Adam {
  readonly #m: Float64Array;
  readonly #v: Float64Array;
  #t = 0;
  readonly #lr: number;
  readonly #b1: number;
  readonly #b2: number;
  readonly #eps: number;

  constructor(size: number, o: AdamOptions) {
    this.#m = new Float64Array(size);
    this.#v = new Float64Array(size);
    this.#lr = o.lr;
    this.#b1 = o.beta1 ?? 0.9;
    this.#b2 = o.beta2 ?? 0.999;
    this.#eps = o.eps ?? 1e-8;
  }

  get steps(): number {
    return this.#t;
  }

  /** Updates `params` in place: p -= lr · m̂ / (sqrt(v̂) + eps). */
  step(params: Float32Array, grad: ArrayLike<number>): void {
    if (grad.length !== params.length || params.length !== this.#m.length) {
      throw new RangeError(
        `Adam: sizes differ (params ${params.length}, grad ${grad.length}, state ${this.#m.length})`,
      );
    }
    this.#t += 1;
    const bc1 = 1 - this.#b1 ** this.#t;
    const bc2 = 1 - this.#b2 ** this.#t;
    const stepSize = this.#lr / bc1;
    const sqrtBc2 = Math.sqrt(bc2);
    for (let i = 0; i < params.length; i++) {
      const g = grad[i]!;
      const m = (this.#m[i] = this.#b1 * this.#m[i]! + (1 - this.#b1) * g);
      const v = (this.#v[i] = this.#b2 * this.#v[i]! + (1 - this.#b2) * g * g);
      // torch: denom = sqrt(v) / sqrt(bc2) + eps; p -= (lr / bc1) · m / denom
      params[i] = params[i]! - (stepSize * m) / (Math.sqrt(v) / sqrtBc2 + this.#eps);
    }
  }
}

/** Clamps a [1, C, h, w] latent per channel to [min[c], max[c]] in place. */
export function clampPerChannel(
  z: Float32Array,
  channels: number,
  min: readonly number[],
  max: readonly number[],
): void {
  const plane = z.length / channels;
  for (let c = 0; c < channels; c++) {
    const lo = min[c]!;
    const hi = max[c]!;
    for (let i = c * plane; i < (c + 1) * plane; i++) {
      const v = z[i]!;
      z[i] = v < lo ? lo : Math.min(v, hi);
    }
  }
}
