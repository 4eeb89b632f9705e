/**
 * One model's queue in the scheduler: the fair queue, the intake entries behind it, the jobs it
 * released that no renderer has started yet, measured speed and the positions last announced.
 * Bookkeeping only; NATS is the caller's business.
 */
import type { JobQueuedEvent } from '../../../shared/src/index.js';
import type { IntakeEntry } from './dispatcher.js';
import { SpeedMeter, estimateWaitMs, worthAnnouncing } from './eta.js';
import type { FairQueue, FairJob } from './fair-queue.js';

/** Jobs from outside a Discord server (CLI, DMs) share one pseudo-server. */
export const NO_SERVER = '-';

export function fairJobOf(entry: IntakeEntry): FairJob {
  const { job } = entry;
  return {
    jobId: job.jobId,
    server: job.requester.guildId ?? NO_SERVER,
    member: job.requester.userId,
    memberWeight: job.requester.weight ?? 1,
    cost: job.steps,
    seq: entry.seq,
  };
}

export class Lane {
  readonly model: string;
  readonly queue: FairQueue;
  readonly speed = new SpeedMeter();
  /** Queued jobs' intake entries. */
  readonly entries = new Map<string, IntakeEntry>();
  /** Released by us, not started yet: jobId → steps. */
  readonly released = new Map<string, number>();
  /** Started and not ended: jobId → (start time, steps). */
  readonly started = new Map<string, { at: number; steps: number }>();
  readonly #announced = new Map<string, { position: number; at: number }>();
  readonly #rendererSamples: number[] = [];
  #meanSteps = 0;
  readonly #lastStart = new Map<string, { at: number; steps: number; backlogged: boolean }>();
  #cycleSamples = 0;

  constructor(model: string, queue: FairQueue) {
    this.model = model;
    this.queue = queue;
  }

  /** A server that was quiet may have one farm-wide round of jobs (one per renderer) out back to back. */
  activationCredit(): number {
    return this.renderers * this.#meanSteps;
  }

  add(entry: IntakeEntry): boolean {
    this.#meanSteps =
      this.#meanSteps === 0 ? entry.job.steps : this.#meanSteps + 0.05 * (entry.job.steps - this.#meanSteps);
    if (this.entries.has(entry.job.jobId) || !this.queue.add(fairJobOf(entry))) return false;
    this.entries.set(entry.job.jobId, entry);
    return true;
  }

  /** Takes a queued job out (cancelled or ended); returns its entry if it was queued. */
  drop(jobId: string): IntakeEntry | undefined {
    const entry = this.entries.get(jobId);
    this.queue.remove(jobId);
    this.entries.delete(jobId);
    this.#announced.delete(jobId);
    return entry;
  }

  /** The next job to release, charged to its flows; its entry leaves the queue. */
  next(): IntakeEntry | undefined {
    const job = this.queue.next();
    if (!job) return undefined;
    if (this.queue.size === 0) this.noteIdle();
    const entry = this.entries.get(job.jobId);
    this.entries.delete(job.jobId);
    this.#announced.delete(job.jobId);
    if (entry) this.released.set(job.jobId, entry.job.steps);
    return entry;
  }

  /** A release failed (NATS trouble): queue it again where it was. */
  putBack(entry: IntakeEntry): void {
    this.released.delete(entry.job.jobId);
    this.queue.finished(entry.job.jobId);
    this.add(entry);
  }

  /**
   * A renderer started a job. Speed is measured per renderer from one start to its next while the
   * queue was never empty in between: the whole cycle a job costs (render, upload, ack, pull), which
   * is what the jobs behind it wait for.
   */
  onStarted(jobId: string, at: number, steps: number | undefined, rendererId?: string): void {
    const released = this.released.get(jobId);
    this.released.delete(jobId);
    const s = steps ?? released;
    if (s === undefined) return;
    this.started.set(jobId, { at, steps: s });
    if (rendererId === undefined) return;
    const previous = this.#lastStart.get(rendererId);
    if (previous?.backlogged && this.queue.size > 0) {
      // The first full cycle replaces the render-time guesses.
      if (this.#cycleSamples === 0) this.speed.reset();
      this.speed.observe(previous.steps, at - previous.at);
      this.#cycleSamples += 1;
    }
    this.#lastStart.set(rendererId, { at, steps: s, backlogged: this.queue.size > 0 });
  }

  onEnded(jobId: string, at: number, done: boolean): void {
    const started = this.started.get(jobId);
    // Before any full cycle was seen, the render time alone is the best guess.
    if (started && done && this.#cycleSamples === 0) this.speed.observe(started.steps, at - started.at);
    this.started.delete(jobId);
    this.released.delete(jobId);
    this.queue.finished(jobId);
  }

  /** The queue ran dry: the next start of each renderer does not close a busy cycle. */
  noteIdle(): void {
    for (const v of this.#lastStart.values()) v.backlogged = false;
  }

  /** Renderers serving the model: busy + idle, sampled at each release round. */
  noteRenderers(count: number): void {
    this.#rendererSamples.push(count);
    if (this.#rendererSamples.length > 30) this.#rendererSamples.shift();
  }

  get renderers(): number {
    // The median: an ack still in flight while the same renderer already waits for its next job
    // counts it twice in one sample, and a renderer between two jobs is in neither count.
    const sorted = [...this.#rendererSamples].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  }

  /**
   * Position (1 = next) and estimated wait of every queued job, in the order they would be
   * released; `announce` marks which changed enough to tell their owner.
   */
  positions(now: number): { event: JobQueuedEvent; announce: boolean }[] {
    const msPerStep = this.speed.msPerStep;
    const renderers = this.renderers;
    let stepsAhead = 0;
    for (const steps of this.released.values()) stepsAhead += steps;
    let position = this.released.size;
    const at = new Date(now).toISOString();
    return this.queue.order().map((job) => {
      position += 1;
      const etaMs = estimateWaitMs({ stepsAhead, steps: job.cost, msPerStep, renderers });
      stepsAhead += job.cost;
      const last = this.#announced.get(job.jobId);
      const announce = worthAnnouncing({
        previous: last?.position,
        position,
        sinceLastMs: now - (last?.at ?? now),
      });
      if (announce) this.#announced.set(job.jobId, { position, at: now });
      const event: JobQueuedEvent = {
        v: 1,
        type: 'queued',
        jobId: job.jobId,
        at,
        model: this.model,
        position,
        etaMs,
      };
      return { event, announce };
    });
  }
}
