/**
 * Render speed and ETA. Speed is an exponentially weighted average of the iterations per second
 * renderers report in progress events, so one slow or fast job does not swing the estimate.
 */

export class SpeedMeter {
  private value: number | undefined;
  private lastAt = 0;

  /** @param halfLifeMs how quickly old measurements fade. */
  constructor(private readonly halfLifeMs = 60_000) {}

  record(itPerSec: number, at: number): void {
    if (!Number.isFinite(itPerSec) || itPerSec <= 0) return;
    if (this.value === undefined) {
      this.value = itPerSec;
    } else {
      const alpha = 1 - 0.5 ** (Math.max(0, at - this.lastAt) / this.halfLifeMs);
      // At least a little weight for measurements arriving in the same millisecond.
      const a = Math.max(alpha, 0.1);
      this.value = this.value * (1 - a) + itPerSec * a;
    }
    this.lastAt = at;
  }

  /** Iterations per second, or undefined before the first measurement. */
  current(): number | undefined {
    return this.value;
  }
}

export interface EtaInput {
  /** Steps left of this job (all of them while queued). */
  stepsLeft: number;
  /** Steps of the jobs ahead in the queue, summed. */
  stepsAhead: number;
  itPerSec: number | undefined;
  /** Renderers sharing the queue (at least 1). */
  renderers: number;
}

/** Milliseconds until this job is done, or undefined while the speed is unknown. */
export function estimateEtaMs(input: EtaInput): number | undefined {
  if (input.itPerSec === undefined || input.itPerSec <= 0) return undefined;
  const parallel = Math.max(1, input.renderers);
  const ahead = input.stepsAhead / parallel;
  return ((ahead + input.stepsLeft) / input.itPerSec) * 1000;
}

/** "~12 s", "~3 min". */
export function formatEta(ms: number | undefined): string {
  if (ms === undefined) return 'measuring…';
  const s = Math.max(1, Math.round(ms / 1000));
  if (s < 90) return `~${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `~${m} min`;
  return `~${Math.round(m / 60)} h`;
}
