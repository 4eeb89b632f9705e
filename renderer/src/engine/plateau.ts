/**
 * Auto-stop on a loss plateau: after each step, compare the mean loss of the last `window` steps
 * with the mean of the `window` before; stop when it fell by less than `delta`·|previous mean|.
 */
export class PlateauDetector {
  readonly #losses: number[] = [];
  constructor(
    readonly window: number,
    readonly delta: number,
  ) {}

  /** Records one step's loss; true when the loop should stop after this step. */
  push(loss: number): boolean {
    this.#losses.push(loss);
    const n = this.#losses.length;
    if (n < 2 * this.window) return false;
    let recent = 0;
    let before = 0;
    for (let k = 0; k < this.window; k++) {
      recent += this.#losses[n - 1 - k]!;
      before += this.#losses[n - 1 - this.window - k]!;
    }
    recent /= this.window;
    before /= this.window;
    return before - recent < this.delta * Math.abs(before);
  }
}
