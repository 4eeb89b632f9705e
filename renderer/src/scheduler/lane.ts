/**
 * One model's queue in the scheduler: the fair queue, the jobs it released that no renderer has
 * started yet, measured speed and the positions last announced. A queued job is only what ordering
 * needs (`FairJob`: ids, weight, steps, intake sequence); the job itself stays in its intake message
 * until it is released. Bookkeeping only; NATS is the caller's business.
 */
import type { JobQueuedEvent, RenderJob } from '../../../shared/src/index.js';
import { SpeedMeter, estimateWaitMs, worthAnnouncing } from './eta.js';
import type { FairQueue, FairJob } from './fair-queue.js';

/** Jobs from outside a Discord server (CLI, DMs) share one pseudo-server. */
export const NO_SERVER = '-';

/** What the fair queue keeps of a job read from intake at `seq`. */
export function fairJobOf(job: RenderJob, seq: number): FairJob {
  return {
    jobId: job.jobId,
    server: job.requester.guildId ?? NO_SERVER,
    member: job.requester.userId,
    memberWeight: job.requester.weight ?? 1,
    cost: job.steps,
    seq,
  };
}

export class Lane {
  readonly model: string;
  readonly queue: FairQueue;
  readonly speed = new SpeedMeter();
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

  add(job: FairJob): boolean {
    this.#meanSteps =
      this.#meanSteps === 0 ? job.cost : this.#meanSteps + 0.05 * (job.cost - this.#meanSteps);
    return this.queue.add(job);
  }

  /** Whether the job is queued here, or released and not ended. */
  holds(jobId: string): boolean {
    return this.queue.has(jobId) || this.queue.isOut(jobId);
  }

  /** Takes a queued job out (cancelled or ended); returns it if it was queued. */
  drop(jobId: string): FairJob | undefined {
    this.#announced.delete(jobId);
    return this.queue.remove(jobId);
  }

  /** The next job to release, charged to its flows; it leaves the queue. */
  next(): FairJob | undefined {
    const job = this.queue.next();
    if (!job) return undefined;
    if (this.queue.size === 0) this.noteIdle();
    this.#announced.delete(job.jobId);
    this.released.set(job.jobId, job.cost);
    return job;
  }

  /** A release failed (NATS trouble): queue it again where it was. */
  putBack(job: FairJob): void {
    this.released.delete(job.jobId);
    this.queue.finished(job.jobId);
    this.add(job);
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
   * Position (1 = next) and estimated wait of the queued jobs whose position changed enough to tell
   * their owner (`worthAnnouncing`), in the order they would be released; noted as announced.
   * Only those get an event object: with 10 000 queued this runs every second.
   */
  announcements(now: number): JobQueuedEvent[] {
    const msPerStep = this.speed.msPerStep;
    const renderers = this.renderers;
    let stepsAhead = 0;
    for (const steps of this.released.values()) stepsAhead += steps;
    let position = this.released.size;
    const at = new Date(now).toISOString();
    const out: JobQueuedEvent[] = [];
    for (const job of this.queue.order()) {
      position += 1;
      const ahead = stepsAhead;
      stepsAhead += job.cost;
      const last = this.#announced.get(job.jobId);
      if (!worthAnnouncing({ previous: last?.position, position, sinceLastMs: now - (last?.at ?? now) }))
        continue;
      if (last) {
        last.position = position;
        last.at = now;
      } else this.#announced.set(job.jobId, { position, at: now });
      const etaMs = estimateWaitMs({ stepsAhead: ahead, steps: job.cost, msPerStep, renderers });
      out.push({ v: 1, type: 'queued', jobId: job.jobId, at, model: this.model, position, etaMs });
    }
    return out;
  }
}
