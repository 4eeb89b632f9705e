/**
 * Decides which engine progress callbacks become `progress` events: at most one every
 * `every` steps AND at most one per `minIntervalMs`, so a fast GPU does not flood NATS and the
 * bot's edit queue. The newest frame seen is carried until a progress event goes out, so a
 * dropped step never loses the most recent picture. Pure apart from the injected clock.
 */
import type { RenderProgress } from '../engine/engine.js';

export interface ProgressThrottleOptions {
  every: number;
  minIntervalMs: number;
  now?: () => number;
}

export interface ThrottledProgress {
  step: number;
  total: number;
  itPerSec: number;
  frame?: Uint8Array;
}

export class ProgressThrottle {
  readonly #every: number;
  readonly #minIntervalMs: number;
  readonly #now: () => number;
  #lastStep = Number.NEGATIVE_INFINITY;
  #lastAt = Number.NEGATIVE_INFINITY;
  #pendingFrame: Uint8Array | undefined;

  constructor(options: ProgressThrottleOptions) {
    this.#every = Math.max(1, Math.floor(options.every));
    this.#minIntervalMs = Math.max(0, options.minIntervalMs);
    this.#now = options.now ?? Date.now;
  }

  /** Feeds one engine callback; returns the event to publish, or undefined to stay quiet. */
  offer(progress: RenderProgress): ThrottledProgress | undefined {
    if (progress.frame) this.#pendingFrame = progress.frame;
    const now = this.#now();
    if (progress.step - this.#lastStep < this.#every) return undefined;
    if (now - this.#lastAt < this.#minIntervalMs) return undefined;
    this.#lastStep = progress.step;
    this.#lastAt = now;
    const frame = this.#pendingFrame;
    this.#pendingFrame = undefined;
    return {
      step: progress.step,
      total: progress.total,
      itPerSec: progress.itPerSec,
      frame,
    };
  }
}
