/**
 * The optimisers of generate.py's `-opt` on the host, as torch.optim (and torch_optimizer's
 * DiffGrad) define them with their default hyper-parameters; float64 state over the float32
 * latent. `Adam` lives in adam.ts (the classic loop's); the factory hands out any of them.
 */
import type { Optimiser as OptimiserName } from '../../../shared/src/loop-options.js';
import { Adam } from './adam.js';

export interface Optimiser {
  /** Updates `params` in place with one step against `grad`. */
  step(params: Float32Array, grad: ArrayLike<number>): void;
}

abstract class Base implements Optimiser {
  protected t = 0;
  constructor(
    protected readonly lr: number,
    protected readonly size: number,
  ) {}
  step(params: Float32Array, grad: ArrayLike<number>): void {
    if (grad.length !== params.length || params.length !== this.size)
      throw new RangeError(
        `optimiser: sizes differ (params ${params.length}, grad ${grad.length}, state ${this.size})`,
      );
    this.t += 1;
    this.update(params, grad);
  }
  protected abstract update(params: Float32Array, grad: ArrayLike<number>): void;
}

const B1 = 0.9;
const B2 = 0.999;

/** torch.optim.AdamW, weight_decay 0.01: decoupled decay, then Adam. */
class AdamW extends Base {
  readonly #adam: Adam;
  constructor(lr: number, size: number) {
    super(lr, size);
    this.#adam = new Adam(size, { lr });
  }
  protected update(p: Float32Array, g: ArrayLike<number>): void {
    for (let i = 0; i < p.length; i++) p[i] = p[i]! * (1 - this.lr * 0.01);
    this.#adam.step(p, g);
  }
}

/** torch.optim.Adagrad: lr_decay 0, eps 1e-10, accumulator from 0. */
class Adagrad extends Base {
  readonly #sum = new Float64Array(this.size);
  protected update(p: Float32Array, g: ArrayLike<number>): void {
    for (let i = 0; i < p.length; i++) {
      const s = (this.#sum[i] = this.#sum[i]! + g[i]! * g[i]!);
      p[i] = p[i]! - (this.lr * g[i]!) / (Math.sqrt(s) + 1e-10);
    }
  }
}

/** torch.optim.Adamax: betas (0.9, 0.999), eps 1e-8. */
class Adamax extends Base {
  readonly #m = new Float64Array(this.size);
  readonly #u = new Float64Array(this.size);
  protected update(p: Float32Array, g: ArrayLike<number>): void {
    const clr = this.lr / (1 - B1 ** this.t);
    for (let i = 0; i < p.length; i++) {
      const m = (this.#m[i] = B1 * this.#m[i]! + (1 - B1) * g[i]!);
      const u = (this.#u[i] = Math.max(B2 * this.#u[i]!, Math.abs(g[i]!) + 1e-8));
      p[i] = p[i]! - (clr * m) / u;
    }
  }
}

/** torch.optim.RAdam: betas (0.9, 0.999), eps 1e-8, the variance rectification from step 6 on. */
class RAdam extends Base {
  readonly #m = new Float64Array(this.size);
  readonly #v = new Float64Array(this.size);
  protected update(p: Float32Array, g: ArrayLike<number>): void {
    const t = this.t;
    const bc1 = 1 - B1 ** t;
    const bc2 = 1 - B2 ** t;
    const rhoInf = 2 / (1 - B2) - 1;
    const rhoT = rhoInf - (2 * t * B2 ** t) / bc2;
    const rect =
      rhoT > 5 ? Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : 0;
    for (let i = 0; i < p.length; i++) {
      const m = (this.#m[i] = B1 * this.#m[i]! + (1 - B1) * g[i]!);
      const v = (this.#v[i] = B2 * this.#v[i]! + (1 - B2) * g[i]! * g[i]!);
      const mHat = m / bc1;
      p[i] =
        p[i]! -
        (rhoT > 5 ? this.lr * mHat * rect * (Math.sqrt(bc2) / (Math.sqrt(v) + 1e-8)) : this.lr * mHat);
    }
  }
}

/** torch.optim.RMSprop: alpha 0.99, eps 1e-8. */
class RMSprop extends Base {
  readonly #sq = new Float64Array(this.size);
  protected update(p: Float32Array, g: ArrayLike<number>): void {
    for (let i = 0; i < p.length; i++) {
      const sq = (this.#sq[i] = 0.99 * this.#sq[i]! + 0.01 * g[i]! * g[i]!);
      p[i] = p[i]! - (this.lr * g[i]!) / (Math.sqrt(sq) + 1e-8);
    }
  }
}

/** torch_optimizer.DiffGrad: Adam whose first moment is scaled by sigmoid(|g_prev − g|). */
class DiffGrad extends Base {
  readonly #m = new Float64Array(this.size);
  readonly #v = new Float64Array(this.size);
  readonly #prev = new Float64Array(this.size);
  protected update(p: Float32Array, g: ArrayLike<number>): void {
    const stepSize = (this.lr * Math.sqrt(1 - B2 ** this.t)) / (1 - B1 ** this.t);
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]!;
      const m = (this.#m[i] = B1 * this.#m[i]! + (1 - B1) * gi);
      const v = (this.#v[i] = B2 * this.#v[i]! + (1 - B2) * gi * gi);
      const dfc = 1 / (1 + Math.exp(-Math.abs(this.#prev[i]! - gi)));
      this.#prev[i] = gi;
      p[i] = p[i]! - (stepSize * m * dfc) / (Math.sqrt(v) + 1e-8);
    }
  }
}

export function createOptimiser(name: OptimiserName, size: number, lr: number): Optimiser {
  switch (name) {
    case 'Adam':
      return new Adam(size, { lr });
    case 'AdamW':
      return new AdamW(lr, size);
    case 'Adagrad':
      return new Adagrad(lr, size);
    case 'Adamax':
      return new Adamax(lr, size);
    case 'RAdam':
      return new RAdam(lr, size);
    case 'RMSprop':
      return new RMSprop(lr, size);
    case 'DiffGrad':
      return new DiffGrad(lr, size);
  }
}
