/**
 * Measured renderer speed and the wait it implies, pure. Speed is the time a renderer spends on a
 * job from its `started` event to its end, per step (so jobs of other lengths predict each other),
 * smoothed; the wait of a queued job is the work ahead of it shared among the model's renderers.
 */

/** Exponentially weighted milliseconds per step of one model. */
export class SpeedMeter {
  readonly #alpha: number;
  #msPerStep: number | undefined;
  #samples = 0;

  constructor(options: { alpha?: number; initialMsPerStep?: number } = {}) {
    this.#alpha = options.alpha ?? 0.2;
    this.#msPerStep = options.initialMsPerStep;
  }

  /** One job took `durationMs` for `steps` steps (started → ended, as the scheduler saw it). */
  observe(steps: number, durationMs: number): void {
    if (!(steps > 0) || !(durationMs >= 0) || !Number.isFinite(durationMs)) return;
    const sample = durationMs / steps;
    // The first samples count fully so a fresh meter is not anchored to a guess.
    const alpha = this.#samples < 3 ? 1 / (this.#samples + 1) : this.#alpha;
    const previous = this.#msPerStep ?? sample;
    this.#msPerStep = previous + alpha * (sample - previous);
    this.#samples += 1;
  }

  /** Forgets every sample (a better kind of measurement starts). */
  reset(): void {
    this.#msPerStep = undefined;
    this.#samples = 0;
  }

  get msPerStep(): number | undefined {
    return this.#msPerStep;
  }

  get samples(): number {
    return this.#samples;
  }
}

export interface WaitEstimateInput {
  /** Steps of the jobs that start before this one (released ones and those ahead in the queue). */
  stepsAhead: number;
  /** Steps of this job. */
  steps: number;
  msPerStep: number | undefined;
  /** Renderers serving the model (busy or idle). */
  renderers: number;
}

/**
 * Milliseconds until the job starts, or undefined without a measured speed or a renderer. The
 * renderers work through `stepsAhead` together; on average the job also waits for half a job of
 * the one that frees up first.
 */
export function estimateWaitMs(input: WaitEstimateInput): number | undefined {
  const { stepsAhead, steps, msPerStep, renderers } = input;
  if (msPerStep === undefined || renderers <= 0) return undefined;
  const work = (stepsAhead + steps / 2) * msPerStep;
  return Math.max(0, Math.round(work / renderers));
}

/**
 * Whether a job's position changed enough to tell its owner again: always near the front, and
 * further back when it moved by a tenth or a while has passed.
 */
export function worthAnnouncing(input: {
  previous: number | undefined;
  position: number;
  sinceLastMs: number;
}): boolean {
  const { previous, position, sinceLastMs } = input;
  if (previous === undefined) return true;
  if (previous === position) return false;
  if (position <= 20) return true;
  if (Math.abs(previous - position) >= previous / 10) return true;
  return sinceLastMs >= 15_000;
}
