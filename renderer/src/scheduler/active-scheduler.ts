/**
 * What the scheduler does while it holds the lease: reads the whole intake stream (an ordered
 * consumer from its first message, so the queue is rebuilt after a takeover), keeps one fair queue
 * per model, releases to each model's work queue only as many jobs as it has idle renderers plus a
 * small prefetch, follows job events for running counts and speed, drops cancelled jobs, and
 * announces positions with an estimated wait.
 */
import type { ConsumerMessages } from '@nats-io/jetstream';
import type { Msg, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  CancelReply,
  CancelRequest,
  JobEvent,
  RenderJob,
  SchedulerStatus,
  allCancelsSubject,
  allEventsSubject,
  decodeMessage,
  encodeMessage,
  intakeStream,
  jobsConsumer,
  jobsStream,
  parseIntakeSubject,
  publishJobEvent,
  schedulerStatusKey,
  settleJob,
  type Farm,
} from '../../../shared/src/index.js';
import { deleteIntake, releaseJob, settleCancelled, type IntakeRef } from './dispatcher.js';
import { FairQueue, type FairJob } from './fair-queue.js';
import { Lane, fairJobOf } from './lane.js';

export interface ActiveSchedulerSettings {
  prefetch: number;
  memberMaxRunning: number;
  /** The operator's server weights in force (read at every pick). */
  serverWeight(server: string): number;
  /** All of them (for the status snapshot `/farm` shows). */
  serverWeights?(): Record<string, number>;
  /** How often to look for idle renderers without being woken (ms). */
  tickMs?: number;
  announceMs?: number;
}

export interface SchedulerCounters {
  received: number;
  released: number;
  cancelled: number;
}

export class ActiveScheduler {
  readonly #farm: Farm;
  readonly #log: Logger;
  readonly #holder: string;
  readonly #settings: ActiveSchedulerSettings;
  readonly #lanes = new Map<string, Lane>();
  readonly #subs: Subscription[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly counters: SchedulerCounters = { received: 0, released: 0, cancelled: 0 };
  #messages: ConsumerMessages | undefined;
  #reader: Promise<void> | undefined;
  #caughtUp = false;
  #pumping: Promise<void> | undefined;
  #pumpAgain = false;
  #stopped = false;
  /** A round of announcements soon after new jobs arrived (so a newcomer sees its place at once). */
  #announceTimer: NodeJS.Timeout | undefined;
  #lastAnnounce = 0;

  constructor(deps: { farm: Farm; log: Logger; holder: string; settings: ActiveSchedulerSettings }) {
    this.#farm = deps.farm;
    this.#log = deps.log;
    this.#holder = deps.holder;
    this.#settings = deps.settings;
  }

  /** Queued jobs per model. */
  queued(): Record<string, number> {
    return Object.fromEntries([...this.#lanes].map(([m, l]) => [m, l.queue.size]));
  }

  async start(): Promise<void> {
    const { nc } = this.#farm;
    this.#subs.push(nc.subscribe(allEventsSubject(), { callback: (_e, m) => this.#onEvent(m.data) }));
    this.#subs.push(nc.subscribe(allCancelsSubject(), { callback: (_e, m) => this.#onCancel(m) }));
    const info = await this.#farm.jsm.streams.info(intakeStream());
    const lastSeq = info.state.messages === 0 ? 0 : info.state.last_seq;
    if (lastSeq === 0) this.#caughtUp = true;
    const consumer = await this.#farm.js.consumers.get(intakeStream());
    this.#messages = await consumer.consume();
    this.#reader = (async () => {
      for await (const msg of this.#messages!) {
        this.#onIntake(msg.subject, msg.seq, msg.data);
        if (!this.#caughtUp && (msg.seq >= lastSeq || msg.info.pending === 0)) {
          this.#caughtUp = true;
          this.#log.info({ queued: this.queued() }, 'intake read; releasing');
        }
        if (this.#caughtUp) this.wake();
      }
    })();
    this.#timers.push(setInterval(() => this.wake(), this.#settings.tickMs ?? 100));
    this.#timers.push(setInterval(() => this.#announce(), this.#settings.announceMs ?? 1000));
    this.#timers.push(setInterval(() => void this.#writeStatus(), 2000));
  }

  /** Stops releasing (the lease is gone or the process stops); waits for a release in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    clearTimeout(this.#announceTimer);
    for (const s of this.#subs) s.unsubscribe();
    await this.#messages?.close().catch(() => undefined);
    await this.#reader?.catch(() => undefined);
    await this.#pumping;
  }

  #lane(model: string): Lane {
    const existing = this.#lanes.get(model);
    if (existing) return existing;
    const queue = new FairQueue({
      serverWeight: (s) => this.#settings.serverWeight(s),
      memberMaxRunning: this.#settings.memberMaxRunning,
      activationCredit: () => lane.activationCredit(),
    });
    const lane: Lane = new Lane(model, queue);
    this.#lanes.set(model, lane);
    return lane;
  }

  #onIntake(subject: string, seq: number, data: Uint8Array): void {
    const decoded = decodeMessage(RenderJob, data, { subject, name: 'job' });
    const parsed = parseIntakeSubject(subject);
    if (
      !decoded.ok ||
      !parsed ||
      decoded.value.jobId !== parsed.jobId ||
      decoded.value.model !== parsed.model
    ) {
      const jobId = parsed?.jobId;
      this.#log.warn({ seq, subject }, 'refusing an intake message that is not a valid job');
      if (jobId) {
        const reason = decoded.ok ? 'The job does not match its subject.' : decoded.error.message;
        void settleJob(this.#farm, {
          v: 1,
          type: 'failed',
          jobId,
          at: new Date().toISOString(),
          code: 'invalid-job',
          reason: reason.slice(0, 1000),
          retryable: false,
        }).catch(() => undefined);
      }
      void deleteIntake(this.#farm, seq);
      return;
    }
    this.counters.received += 1;
    // Only what ordering needs is kept; the job is read from intake again when it is released.
    if (this.#lane(decoded.value.model).add(fairJobOf(decoded.value, seq))) this.#announceSoon();
  }

  /** The lane holding a job (queued, or released and not ended). */
  #laneOf(jobId: string): Lane | undefined {
    for (const lane of this.#lanes.values()) if (lane.holds(jobId)) return lane;
    return undefined;
  }

  #onEvent(data: Uint8Array): void {
    const decoded = decodeMessage(JobEvent, data, { name: 'job event' });
    if (!decoded.ok) return;
    const event = decoded.value;
    const lane = this.#laneOf(event.jobId);
    if (!lane) return;
    const now = Date.now();
    if (event.type === 'started') {
      lane.onStarted(event.jobId, now, event.total, event.rendererId);
    } else if (event.type === 'done' || event.type === 'failed' || event.type === 'cancelled') {
      lane.drop(event.jobId);
      lane.onEnded(event.jobId, now, event.type === 'done');
      this.wake();
    }
  }

  /**
   * A cancel request (`requestCancel`) for a job still in intake: drop it, settle it `cancelled` and
   * answer the canceller. For any other job the renderers answer; the scheduler stays silent.
   */
  #onCancel(msg: Msg): void {
    const decoded = decodeMessage(CancelRequest, msg.data, { name: 'cancel request' });
    if (!decoded.ok) return;
    const lane = this.#laneOf(decoded.value.jobId);
    const job = lane?.drop(decoded.value.jobId);
    if (!lane || !job) return;
    const entry: IntakeRef = { jobId: job.jobId, model: lane.model, seq: job.seq };
    this.counters.cancelled += 1;
    void (async () => {
      const settled = await settleCancelled(this.#farm, entry, decoded.value.by);
      const reply: CancelReply =
        settled.won || settled.existing?.type === 'cancelled'
          ? { v: 1, status: 'cancelled' }
          : { v: 1, status: 'already-finished', result: settled.existing };
      if (msg.reply) msg.respond(encodeMessage(CancelReply, reply));
    })().catch((err: unknown) =>
      this.#log.warn(
        { err, jobId: entry.jobId },
        'could not settle a cancelled job; the marker still stops it',
      ),
    );
  }

  /** Asks for a release round soon (new job, a renderer freed up, a tick). */
  wake(): void {
    if (this.#stopped || !this.#caughtUp) return;
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = (async () => {
      do {
        this.#pumpAgain = false;
        for (const lane of this.#lanes.values()) {
          if (this.#stopped) break;
          await this.#pumpLane(lane).catch((err: unknown) =>
            this.#log.warn({ err, model: lane.model }, 'release round failed; trying again'),
          );
        }
      } while (this.#pumpAgain && !this.#stopped);
    })().finally(() => {
      this.#pumping = undefined;
    });
  }

  async #pumpLane(lane: Lane): Promise<void> {
    if (lane.queue.size === 0) return;
    let info: Awaited<ReturnType<Farm['jsm']['consumers']['info']>>;
    try {
      info = await this.#farm.jsm.consumers.info(jobsStream(), jobsConsumer(lane.model));
    } catch {
      return; // no renderer has ever served this model: its jobs wait
    }
    lane.noteRenderers(info.num_waiting + info.num_ack_pending);
    const free = info.num_waiting + this.#settings.prefetch - info.num_pending;
    const batch: FairJob[] = [];
    for (let i = 0; i < free; i++) {
      const job = lane.next();
      if (!job) break;
      batch.push(job);
    }
    await Promise.all(batch.map((job) => this.#release(lane, job)));
  }

  async #release(lane: Lane, job: FairJob): Promise<void> {
    const entry: IntakeRef = { jobId: job.jobId, model: lane.model, seq: job.seq };
    try {
      const outcome = await releaseJob(this.#farm, entry, { holder: this.#holder, log: this.#log });
      if (outcome === 'released' || outcome === 'already-released') {
        this.counters.released += 1;
        this.#log.info({ jobId: job.jobId, model: lane.model, outcome }, 'job released');
      } else lane.onEnded(job.jobId, Date.now(), false);
    } catch (err) {
      this.#log.warn({ err, jobId: job.jobId }, 'could not release a job; it stays queued');
      lane.putBack(job);
    }
  }

  /** Announces soon, at most every 200 ms: a burst of arrivals is one round. */
  #announceSoon(): void {
    if (this.#announceTimer || this.#stopped || !this.#caughtUp) return;
    const wait = Math.max(20, this.#lastAnnounce + 200 - Date.now());
    this.#announceTimer = setTimeout(() => {
      this.#announceTimer = undefined;
      this.#announce();
    }, wait);
  }

  /** Publishes the positions that changed (synchronous, so two rounds never interleave). */
  #announce(): void {
    if (this.#stopped || !this.#caughtUp) return;
    const now = Date.now();
    this.#lastAnnounce = now;
    for (const lane of this.#lanes.values()) {
      for (const event of lane.announcements(now))
        void publishJobEvent(this.#farm, event).catch(() => undefined);
    }
  }

  #nonDefaultWeights(): Record<string, number> {
    const all = Object.entries(this.#settings.serverWeights?.() ?? {});
    return Object.fromEntries(all.filter(([, w]) => Number.isFinite(w) && w > 0 && w !== 1).slice(0, 1000));
  }

  async #writeStatus(): Promise<void> {
    if (this.#stopped) return;
    for (const lane of this.#lanes.values()) {
      const status: SchedulerStatus = {
        v: 1,
        model: lane.model,
        holder: this.#holder,
        at: new Date().toISOString(),
        queued: lane.queue.size,
        released: lane.released.size,
        renderers: lane.renderers,
        msPerStep: lane.speed.msPerStep,
        servers: lane.queue.summary().slice(0, 1000),
        serverWeights: this.#nonDefaultWeights(),
      };
      await this.#farm.scheduler
        .put(schedulerStatusKey(lane.model), encodeMessage(SchedulerStatus, status))
        .catch(() => undefined);
    }
  }
}
