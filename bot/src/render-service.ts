/**
 * Keeps every render message of this bot up to date: one tracker per active job with its
 * `FrameEditor`, fed by job events (durable, acked after acting) and frames (core NATS). Ends
 * each job exactly once in effect: the final edit, the quota settlement (refund on failure or
 * cancel) and the record's state change are each idempotent, so a redelivered terminal event or
 * a restarted bot repeats them harmlessly.
 */
import type { Logger } from 'pino';
import {
  initialJobView,
  reduceJobView,
  type JobEvent,
  type JobView,
  type TerminalJobEvent,
} from '../../shared/src/index.js';
import { SpeedMeter, estimateEtaMs } from './core/eta.js';
import { FrameEditor, type EditPacer, type EditTarget, type FrameEditorStats } from './core/frame-editor.js';
import type {
  FarmInfo,
  ImageStore,
  JobQueue,
  MessagePort,
  PreferencesStore,
  QuotaStore,
  RenderProgressView,
  RenderRecords,
  RenderTracker,
} from './core/ports.js';
import type { ModelFacts } from './core/imagine-request.js';
import type { InteractionReply, RenderRecord } from './core/render-record.js';
import { renderPayload, type RenderFacts, type RenderState } from './core/render-view.js';
import { finalRenderState, messageLink, renderFacts } from './render-state.js';
import { deliverByDm } from './dm-delivery.js';
import type { JobFeedHandler } from './nats/job-feed.js';

export interface RenderServiceOptions {
  jobs: JobQueue;
  images: ImageStore;
  records: RenderRecords;
  quotas: QuotaStore;
  port: MessagePort;
  status: FarmInfo;
  /** Member preferences (results by DM); without it nothing goes to DMs. */
  preferences?: PreferencesStore;
  log: Logger;
  pacer?: EditPacer;
  editMinIntervalMs?: number;
  tokenSwitchAfterMs?: number;
  now?: () => number;
  /** The model the bot renders with: finished renders get an Upscale button when it has a larger size. */
  model?: ModelFacts;
}

interface Tracker {
  record: RenderRecord;
  view: JobView;
  editor: FrameEditor;
  position: number | undefined;
  /** Set once the scheduler announced a position (SCHEDULER=on); with its estimate, if it has one. */
  fromScheduler?: boolean;
  schedulerEtaMs?: number;
  cancellingBy?: string;
  frame?: Uint8Array;
  /** Set once the terminal event arrived (the end is under way). */
  ending?: Promise<void>;
  /** Resolves when the end is complete. */
  ended: Promise<void>;
  markEnded: () => void;
}

export { messageLink } from './render-state.js';

export class RenderService implements JobFeedHandler, RenderTracker {
  private readonly trackers = new Map<string, Tracker>();
  /** Scheduler positions of jobs not followed (yet), newest last. */
  private readonly earlyPositions = new Map<string, JobEvent & { type: 'queued' }>();
  readonly speed = new SpeedMeter();
  private queueTimer: NodeJS.Timeout | undefined;
  /** Renderers seen online at the last queue refresh (for queue ETAs). */
  private renderersOnline = 1;
  private readonly now: () => number;
  /** Totals over every editor this service ran (for the bench and tests). */
  readonly totals = { framesReceived: 0, editsSent: 0, dropped: 0, maxInFlight: 0 };

  constructor(private readonly o: RenderServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.queueTimer = setInterval(() => void this.refreshQueued(), 3000);
    this.queueTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.queueTimer) clearInterval(this.queueTimer);
    await Promise.allSettled([...this.trackers.values()].map((t) => t.editor.idle()));
    for (const t of this.trackers.values()) t.editor.close();
  }

  currentSpeed(): number | undefined {
    return this.speed.current();
  }

  /** Jobs this bot is following for a member. */
  activeJobsOf(userId: string): RenderRecord[] {
    return [...this.trackers.values()].filter((t) => t.record.requesterId === userId).map((t) => t.record);
  }

  /** Where each of the member's followed jobs stands: started, or waiting at the scheduler's position. */
  progressOf(userId: string): RenderProgressView[] {
    return [...this.trackers.values()]
      .filter((t) => t.record.requesterId === userId)
      .map((t) => ({
        record: t.record,
        started: t.view.status !== 'queued',
        position: t.view.status === 'queued' ? t.position : undefined,
        etaMs: t.view.status === 'queued' ? t.schedulerEtaMs : undefined,
      }));
  }

  editorStats(jobId: string): FrameEditorStats | undefined {
    return this.trackers.get(jobId)?.editor.stats;
  }

  /**
   * Starts following a job whose record was just written. With `reply` (an interaction's token,
   * held in memory only) edits go through the interaction until the token runs out; without it
   * (a reroll, or a job found again after a restart) they go to the channel message.
   */
  track(record: RenderRecord, reply?: InteractionReply): void {
    if (this.trackers.has(record.jobId)) return;
    const { channelId, messageId } = record;
    const target: EditTarget = reply
      ? { kind: 'interaction', ...reply, channelId, messageId }
      : { kind: 'channel', channelId, messageId };
    const log = this.o.log.child({ jobId: record.jobId });
    const editor = new FrameEditor({
      port: this.o.port,
      target,
      maxFileBytes: record.attachmentSizeLimit,
      minIntervalMs: this.o.editMinIntervalMs,
      tokenSwitchAfterMs: this.o.tokenSwitchAfterMs,
      pacer: this.o.pacer,
      now: this.now,
      onGone: (e) => log.info({ code: e.code }, 'render message is gone; no more edits'),
      onError: (e) => log.warn({ err: e }, 'render message edit failed'),
    });
    let markEnded = () => {};
    const ended = new Promise<void>((resolve) => (markEnded = resolve));
    this.trackers.set(record.jobId, {
      record,
      view: initialJobView(record.jobId),
      editor,
      position: undefined,
      ended,
      markEnded,
    });
    const early = this.earlyPositions.get(record.jobId);
    this.earlyPositions.delete(record.jobId);
    if (early) this.onQueuedPosition(early);
    void this.refreshQueued();
  }

  /** After a restart: follows every active record again and ends those that ended meanwhile. */
  async resume(): Promise<number> {
    const active = await this.o.records.active();
    for (const record of active) {
      this.track(record);
      const result = await this.o.jobs.result(record.jobId);
      if (result)
        void this.onEvent(result).catch((err: unknown) =>
          this.o.log.error({ err, jobId: record.jobId }, 'finishing a resumed job failed'),
        );
    }
    return active.length;
  }

  onProgress(event: JobEvent & { type: 'progress' }): void {
    this.totals.framesReceived += 1;
    this.speed.record(event.itPerSec, this.now());
    const t = this.trackers.get(event.jobId);
    if (!t || t.ending) return;
    const next = reduceJobView(t.view, event);
    if (next === t.view) return;
    t.view = next;
    if (event.frame) t.frame = Buffer.from(event.frame, 'base64');
    t.editor.show(this.payload(t));
  }

  /**
   * The scheduler's position is the real one: it replaces the bot's reading of the work queue. It
   * can come before the job is followed (the scheduler announces a newcomer within milliseconds,
   * while the submit still waits for its acks): the latest few such are kept for `track`.
   */
  onQueuedPosition(event: JobEvent & { type: 'queued' }): void {
    const t = this.trackers.get(event.jobId);
    if (!t) {
      this.earlyPositions.delete(event.jobId);
      this.earlyPositions.set(event.jobId, event);
      // Most are other bots' or the CLI's jobs: keep only the newest.
      if (this.earlyPositions.size > 200)
        this.earlyPositions.delete(this.earlyPositions.keys().next().value!);
      return;
    }
    if (t.ending || t.cancellingBy || t.view.status !== 'queued' || event.position === undefined) return;
    t.position = event.position;
    t.fromScheduler = true;
    t.schedulerEtaMs = event.etaMs;
    t.editor.show(this.payload(t));
  }

  async onEvent(event: JobEvent): Promise<void> {
    let t = this.trackers.get(event.jobId);
    const terminal = event.type === 'done' || event.type === 'failed' || event.type === 'cancelled';
    if (!t && terminal) {
      // A job of ours that ended while nobody followed it (e.g. during a restart).
      const record = await this.o.records.get(event.jobId);
      if (record?.state !== 'active') return;
      this.track(record);
      t = this.trackers.get(event.jobId);
    }
    if (!t) return;
    if (!terminal) {
      const next = reduceJobView(t.view, event);
      if (next !== t.view && !t.ending) {
        t.view = next;
        t.editor.show(this.payload(t));
      }
      return;
    }
    if (!t.ending) {
      const tracker = t;
      tracker.ending = this.end(tracker, event as TerminalJobEvent).then(
        tracker.markEnded,
        (err: unknown) => {
          // Let the redelivered event try again.
          tracker.ending = undefined;
          throw err;
        },
      );
    }
    await t.ending;
  }

  /** Resolves when the job's message has reached its final state (at once if not followed). */
  whenEnded(jobId: string): Promise<void> {
    return this.trackers.get(jobId)?.ended ?? Promise.resolve();
  }

  /** Shows "cancelling…" right away; the renderer's `cancelled` event ends the job. */
  markCancelling(jobId: string, by: string): void {
    const t = this.trackers.get(jobId);
    if (!t || t.ending) return;
    t.cancellingBy = by;
    t.editor.show(this.payload(t));
  }

  private facts(record: RenderRecord): RenderFacts {
    return renderFacts(record, this.o.model);
  }

  private payload(t: Tracker) {
    const v = t.view;
    let state: RenderState;
    if (t.cancellingBy) {
      state = { kind: 'cancelling', by: t.cancellingBy, frame: t.frame };
    } else if (v.status === 'running') {
      const total = v.total ?? t.record.params.steps;
      const itPerSec = v.itPerSec ?? this.speed.current();
      state = {
        kind: 'running',
        step: v.step,
        total,
        itPerSec: v.itPerSec,
        etaMs: estimateEtaMs({ stepsLeft: total - v.step, stepsAhead: 0, itPerSec, renderers: 1 }),
        frame: t.frame,
      };
    } else {
      const ahead = t.position && t.position > 1 ? (t.position - 1) * t.record.params.steps : 0;
      state = {
        kind: 'queued',
        position: t.position,
        etaMs:
          t.schedulerEtaMs ??
          estimateEtaMs({
            stepsLeft: t.record.params.steps,
            stepsAhead: ahead,
            itPerSec: this.speed.current(),
            renderers: this.renderersOnline,
          }),
      };
    }
    return renderPayload(this.facts(t.record), state);
  }

  private async refreshQueued(): Promise<void> {
    const queued = [...this.trackers.values()].filter(
      (t) => t.view.status === 'queued' && !t.ending && !t.cancellingBy,
    );
    if (queued.length === 0) return;
    try {
      const renderers = await this.o.status.renderers();
      this.renderersOnline = Math.max(1, renderers.length);
      if (this.speed.current() === undefined) {
        const known = renderers.map((r) => r.recentItPerSec).filter((s) => s > 0);
        if (known.length > 0) this.speed.record(known.reduce((a, b) => a + b, 0) / known.length, this.now());
      }
      for (const t of queued) {
        if (t.record.queueSeq === undefined || t.fromScheduler) continue;
        const { position } = await this.o.status.position(t.record.params.model, t.record.queueSeq);
        if (position === t.position || t.view.status !== 'queued') continue;
        t.position = position;
        t.editor.show(this.payload(t));
      }
    } catch (err) {
      this.o.log.debug({ err }, 'queue position refresh failed');
    }
  }

  private async end(t: Tracker, event: TerminalJobEvent): Promise<void> {
    const { record } = t;
    const facts = this.facts(record);
    const { state, refund } = await finalRenderState(this.o, record, t.frame, event);
    // Each step is idempotent, so a redelivered event or a restarted bot may repeat them all.
    // The quota first: once the message says "cancelled" or "failed", the refund has happened.
    await this.o.quotas.settle(record.guildId, record.requesterId, record.jobId, refund);
    const final = renderPayload(facts, state);
    await t.editor.finish(final);
    await this.o.records.finish(
      record.jobId,
      state.kind === 'done' ? 'done' : event.type === 'cancelled' ? 'cancelled' : 'failed',
      state.kind === 'done' && event.type === 'done' ? { imageKey: event.image.key } : undefined,
    );
    // 🔁 last: when it shows, a reroll finds the render finished.
    if (state.kind === 'done') {
      await this.o.port
        .react(record.channelId, record.messageId, '🔁')
        .catch((err: unknown) => this.o.log.warn({ err, jobId: record.jobId }, 'could not add 🔁'));
      if (this.o.preferences) {
        const link = messageLink(record.guildId, record.channelId, record.messageId);
        await deliverByDm({ ...this.o, preferences: this.o.preferences, now: this.now }, record, final, link);
      }
    }
    const s = t.editor.stats;
    this.totals.editsSent += s.sent;
    this.totals.dropped += s.dropped;
    this.totals.maxInFlight = Math.max(this.totals.maxInFlight, s.maxInFlight);
    this.trackers.delete(record.jobId);
    this.o.log.info(
      { jobId: record.jobId, outcome: event.type, edits: s.sent, dropped: s.dropped, refunded: refund },
      'render message finished',
    );
  }
}
