/**
 * The farm worker: takes one job at a time from its model's durable pull consumer, keeps the
 * lease with `working()` while the engine renders, publishes throttled progress, stores the final
 * image, settles the job first-writer-wins and acks. Failures are classified once: terminal ⇒
 * `failed` + `ack()`; transient ⇒ `nak(backoff)`; the last delivery ⇒ `failed` + `ack()` (an ack,
 * not `term()`, removes the message from the work-queue stream on nats-server 2.9: see `#drop`).
 */
import type { JsMsg, Consumer } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import {
  RenderJob,
  decodeMessage,
  describeError,
  getJobResult,
  jobsConsumer,
  jobsStream,
  publishJobEvent,
  jobIdOfMessage,
  CancelRequest,
  type Farm,
  type FarmMetrics,
  type TerminalJobEvent,
} from '../../../shared/src/index.js';
import type { Engine, RenderProgress } from '../engine/engine.js';
import { classifyFailure, retryDelayMs } from './failure.js';
import { buildRenderRequest } from './job-request.js';
import { ProgressThrottle } from './progress-throttle.js';
import { type StoredResult, storeRenderResult } from './result-store.js';
import { republishOutcome, settleAttempt } from './terminal.js';

export interface RenderWorkerSettings {
  rendererId: string;
  frameEvery: number;
  frameMinIntervalMs: number;
  maxJobBytes: number;
  retryDelayMs: number;
  ackWaitMs: number;
  maxDeliver: number;
}

export interface RenderWorkerStatus {
  state: 'idle' | 'busy' | 'stopping';
  jobId?: string;
  recentItPerSec: number;
  jobsDone: number;
}

/** Why a render's AbortSignal fired. */
class CancelledBy {
  constructor(readonly by: string) {}
}
class ShuttingDown {}

interface CurrentJob {
  jobId: string;
  controller: AbortController;
  finished: Promise<void>;
}

const now = () => new Date().toISOString();

export class RenderWorker {
  readonly #farm: Farm;
  readonly #engine: Engine;
  readonly #log: Logger;
  readonly #settings: RenderWorkerSettings;
  readonly #stopping = new AbortController();
  #current: CurrentJob | undefined;
  #recentItPerSec = 0;
  #jobsDone = 0;
  #loop: Promise<void> | undefined;

  readonly #onEngineCrash: ((e: Error) => void) | undefined;
  readonly #metrics: FarmMetrics | undefined;

  constructor(deps: {
    farm: Farm;
    engine: Engine;
    log: Logger;
    settings: RenderWorkerSettings;
    /** Called when the engine itself died (not just one render): the process should restart. */
    onEngineCrash?: (e: Error) => void;
    metrics?: FarmMetrics;
  }) {
    this.#onEngineCrash = deps.onEngineCrash;
    this.#metrics = deps.metrics;
    this.#farm = deps.farm;
    this.#engine = deps.engine;
    this.#log = deps.log;
    this.#settings = deps.settings;
  }

  get model(): string {
    return this.#engine.model;
  }

  status(): RenderWorkerStatus {
    return {
      state: this.#stopping.signal.aborted ? 'stopping' : this.#current ? 'busy' : 'idle',
      jobId: this.#current?.jobId,
      recentItPerSec: this.#recentItPerSec,
      jobsDone: this.#jobsDone,
    };
  }

  /** Starts pulling jobs in the background; `stop()` ends it. */
  start(): void {
    if (this.#loop) return;
    this.#loop = this.#run().catch((e: unknown) => {
      this.#log.error({ err: e }, 'worker loop crashed');
      throw e;
    });
  }

  /** Aborts the current render if it is `jobId` (a cancel request). Returns whether it was running here. */
  cancel(request: CancelRequest): boolean {
    const current = this.#current;
    if (!current || current.jobId !== request.jobId) return false;
    this.#log.info({ jobId: request.jobId, by: request.by }, 'cancelling the running job');
    current.controller.abort(new CancelledBy(request.by));
    return true;
  }

  /**
   * Stops taking jobs; lets the current one finish for up to `graceMs`, then hands it back to the
   * queue (`nak`) so another renderer takes it at once.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping.abort();
    const current = this.#current;
    if (current) {
      const timer = setTimeout(() => current.controller.abort(new ShuttingDown()), graceMs);
      await current.finished;
      clearTimeout(timer);
    }
    await this.#loop?.catch(() => undefined);
  }

  async #run(): Promise<void> {
    const stop = this.#stopping.signal;
    let consumer: Consumer | undefined;
    while (!stop.aborted) {
      let msg: JsMsg | null;
      try {
        consumer ??= await this.#farm.js.consumers.get(jobsStream(), jobsConsumer(this.model));
        msg = await consumer.next({ expires: 1000 });
      } catch (e) {
        // NATS restarting, consumer being recreated …: wait a little and ask again.
        this.#log.warn({ err: e }, 'could not pull a job; retrying');
        consumer = undefined;
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (!msg) continue;
      if (stop.aborted) {
        msg.nak();
        break;
      }
      const controller = new AbortController();
      let resolveFinished!: () => void;
      const finished = new Promise<void>((r) => (resolveFinished = r));
      const jobId = jobIdOfMessage({
        subject: msg.subject,
        msgId: msg.headers?.get('Nats-Msg-Id'),
        data: msg.data,
        seq: msg.seq,
      });
      this.#current = { jobId, controller, finished };
      try {
        await this.#handle(msg, jobId, controller.signal);
      } catch (e) {
        // #handle settles or hands back every job; reaching here means NATS itself failed.
        this.#log.error({ err: e, jobId }, 'could not settle the job; handing it back');
        msg.nak(this.#settings.retryDelayMs);
      } finally {
        this.#current = undefined;
        resolveFinished();
      }
    }
  }

  /**
   * Removes a job that is settled without a render (failed, cancelled). `term()` would leave the
   * message in a work-queue stream on nats-server 2.9, so the job is acknowledged instead: the
   * outcome is already recorded and published.
   */
  #drop(msg: JsMsg, why: string): void {
    this.#log.debug({ seq: msg.seq, why }, 'removing the job message');
    msg.ack();
  }

  async #settle(event: TerminalJobEvent, log: Logger, stored?: StoredResult): Promise<void> {
    const result = await settleAttempt(this.#farm, event, log, {
      imageKey: stored?.image.key,
      videoKey: stored?.video?.key,
    });
    if (result.won) this.#metrics?.recordSettled(event);
  }

  async #handle(msg: JsMsg, jobId: string, signal: AbortSignal): Promise<void> {
    const attempt = msg.info.deliveryCount;
    const { rendererId } = this.#settings;
    const log = this.#log.child({ jobId, attempt, seq: msg.seq });
    const base = { v: 1 as const, jobId, rendererId, attempt };

    const decoded = decodeMessage(RenderJob, msg.data, {
      maxBytes: this.#settings.maxJobBytes,
      subject: msg.subject,
      name: 'job',
    });
    if (!decoded.ok) {
      const failure = classifyFailure(decoded.error, jobId);
      log.warn({ code: failure.code, reason: failure.reason }, 'refusing a job that cannot be rendered');
      await this.#settle(
        { ...base, type: 'failed', at: now(), code: failure.code, reason: failure.reason, retryable: false },
        log,
      );
      this.#drop(msg, failure.code);
      return;
    }
    const job = decoded.value;
    if (job.jobId !== jobId) {
      const reason = `The job says its id is ${job.jobId} but was published as ${jobId}.`;
      log.warn({ bodyJobId: job.jobId }, reason);
      await this.#settle(
        { ...base, type: 'failed', at: now(), code: 'invalid-job', reason, retryable: false },
        log,
      );
      this.#drop(msg, 'invalid-job');
      return;
    }

    const ended = await getJobResult(this.#farm, jobId);
    if (ended) {
      // A redelivery of a job that already ended (its ack was lost): let it go.
      log.info({ result: ended.type }, 'job already ended; acknowledging the redelivery');
      await republishOutcome(this.#farm, ended, log);
      msg.ack();
      return;
    }
    const marker = await this.#farm.cancellations.get(jobId);
    if (marker && marker.operation === 'PUT') {
      const cancel = decodeMessage(CancelRequest, marker.value, { name: 'cancel request' });
      log.info('job was cancelled while queued');
      await this.#settle(
        { ...base, type: 'cancelled', at: now(), by: cancel.ok ? cancel.value.by : 'unknown' },
        log,
      );
      this.#drop(msg, 'cancelled');
      return;
    }
    if (job.model !== this.model) {
      const reason = `This renderer serves ${this.model}, not ${job.model}.`;
      await this.#settle(
        { ...base, type: 'failed', at: now(), code: 'unknown-model', reason, retryable: false },
        log,
      );
      this.#drop(msg, 'unknown-model');
      return;
    }

    const heartbeat = setInterval(
      () => msg.working(),
      Math.max(100, Math.floor(this.#settings.ackWaitMs / 3)),
    );
    try {
      await this.#render(msg, job, signal, log);
    } catch (e) {
      await this.#onRenderError(e, msg, job, signal, log);
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #render(msg: JsMsg, job: RenderJob, signal: AbortSignal, log: Logger): Promise<void> {
    const attempt = msg.info.deliveryCount;
    const { rendererId } = this.#settings;
    const base = { v: 1 as const, jobId: job.jobId, rendererId, attempt };
    log.info({ steps: job.steps, width: job.width, height: job.height, seed: job.seed }, 'rendering');
    await publishJobEvent(this.#farm, {
      ...base,
      type: 'started',
      at: now(),
      executionProvider: this.#engine.executionProvider,
      total: job.steps,
    }).catch((e: unknown) => log.warn({ err: e }, 'could not publish started'));

    const request = await buildRenderRequest(job, this.#farm.images, this.#settings.frameEvery);
    const throttle = new ProgressThrottle({
      every: this.#settings.frameEvery,
      minIntervalMs: this.#settings.frameMinIntervalMs,
    });
    const onProgress = (p: RenderProgress): void => {
      this.#recentItPerSec = p.itPerSec;
      const out = throttle.offer(p);
      if (!out) return;
      void publishJobEvent(this.#farm, {
        ...base,
        type: 'progress',
        at: now(),
        step: out.step,
        total: out.total,
        itPerSec: out.itPerSec,
        frame: out.frame ? Buffer.from(out.frame).toString('base64') : undefined,
      }).catch((e: unknown) => log.debug({ err: e }, 'progress not published'));
    };
    signal.throwIfAborted();
    const result = await this.#engine.render(request, { signal, onProgress });
    signal.throwIfAborted();

    const stored = await storeRenderResult(this.#farm, { jobId: job.jobId, attempt }, result, {
      log,
      signal,
    });
    await this.#settle(
      {
        ...base,
        type: 'done',
        at: now(),
        image: stored.image,
        video: stored.video,
        width: result.width,
        height: result.height,
        seed: result.seed,
        steps: result.steps,
        elapsedMs: result.elapsedMs,
      },
      log,
      stored,
    );
    msg.ack();
    this.#jobsDone += 1;
    log.info({ elapsedMs: result.elapsedMs, key: stored.image.key, video: stored.video?.key }, 'done');
  }

  async #onRenderError(
    e: unknown,
    msg: JsMsg,
    job: RenderJob,
    signal: AbortSignal,
    log: Logger,
  ): Promise<void> {
    const attempt = msg.info.deliveryCount;
    const base = { v: 1 as const, jobId: job.jobId, rendererId: this.#settings.rendererId, attempt };
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (reason instanceof CancelledBy) {
      await this.#settle({ ...base, type: 'cancelled', at: now(), by: reason.by }, log);
      this.#drop(msg, 'cancelled');
      log.info({ by: reason.by }, 'cancelled');
      return;
    }
    if (reason instanceof ShuttingDown) {
      // Hand the job back now rather than letting AckWait expire: another renderer starts at once.
      msg.nak();
      log.info('shutting down: job handed back to the queue');
      return;
    }
    if (e instanceof Error && e.name === 'EngineCrashedError') {
      // Not the job's fault: hand it to another renderer and let this one be restarted.
      msg.nak();
      log.error({ err: e }, 'the engine crashed; job handed back');
      this.#stopping.abort();
      this.#onEngineCrash?.(e);
      return;
    }
    const failure = classifyFailure(e, job.jobId);
    if (!failure.retryable || attempt >= this.#settings.maxDeliver) {
      const lastTry = failure.retryable;
      const text = lastTry
        ? `Rendering failed on every one of ${attempt} attempts; the last error: ${failure.reason}`
        : failure.reason;
      log.warn(
        { code: failure.code, reason: failure.reason, err: e },
        lastTry ? 'job failed on its last delivery' : 'job cannot be rendered',
      );
      await this.#settle(
        {
          ...base,
          type: 'failed',
          at: now(),
          code: lastTry ? 'max-deliveries' : failure.code,
          reason: text.slice(0, 1000),
          retryable: false,
          identifier: failure.context.identifier,
        },
        log,
      );
      this.#drop(msg, failure.code);
      return;
    }
    const delay = retryDelayMs(this.#settings.retryDelayMs, attempt);
    log.warn({ err: e, retryInMs: delay, reason: describeError(e) }, 'render failed; will be retried');
    msg.nak(delay);
  }
}
