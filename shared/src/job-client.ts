/**
 * What producers and workers do with jobs on NATS: submit, cancel, publish events, and settle a
 * job's outcome exactly once (KV `create`: the first terminal event wins, later ones are dropped).
 */
import { decodeMessage, encodeMessage } from './codec.js';
import {
  CancelReply,
  CancelRequest,
  JobEvent,
  RenderJob,
  TerminalJobEvent,
  type JobQueuedEvent,
  type RenderJobInput,
} from './contracts.js';
import { isCasConflict, refusedLastSequence } from './jetstream-errors.js';
import type { Farm } from './nats.js';
import {
  cancelSubject,
  eventMsgId,
  eventSubject,
  eventsStream,
  frameSubject,
  intakeStream,
  intakeSubject,
  jobSubject,
  jobsConsumer,
  jobsStream,
  queuedEventSubject,
  resultsBucket,
  terminalEventSubject,
} from './subjects.js';

export interface SubmitResult {
  job: RenderJob;
  /** Stream sequence of the job message. */
  seq: number;
  /** True when a job with this id was already queued inside the duplicate window. */
  duplicate: boolean;
}

/**
 * Queues a job: stores it in the jobs bucket, publishes it on `jobSubject(model, jobId)` (or on
 * `intakeSubject(model, jobId)` for the fair-share scheduler when `farm.settings.scheduler`) with
 * `Nats-Msg-Id: jobId` (a retried submit is one job), and publishes `queued` once.
 */
export async function submitJob(
  farm: Farm,
  input: RenderJobInput,
  options: { signal?: AbortSignal } = {},
): Promise<SubmitResult> {
  const job = RenderJob.parse(input);
  options.signal?.throwIfAborted();
  await farm.jobs.put(job.jobId, encodeMessage(RenderJob, job));
  const subject = farm.settings.scheduler
    ? intakeSubject(job.model, job.jobId)
    : jobSubject(job.model, job.jobId);
  const ack = await farm.js.publish(subject, encodeMessage(RenderJob, job), {
    msgID: job.jobId,
  });
  if (!ack.duplicate) {
    const queued: JobQueuedEvent = {
      v: 1,
      jobId: job.jobId,
      at: new Date().toISOString(),
      type: 'queued',
      model: job.model,
    };
    await publishJobEvent(farm, queued);
  }
  return { job, seq: ack.seq, duplicate: ack.duplicate };
}

/**
 * Publishes a lifecycle event on the events stream (deduplicated per job, type and attempt), or
 * a progress event on the frames subject (core NATS, fire and forget).
 *
 * A terminal event goes to `terminalEventSubject(jobId)` with an expected last subject sequence
 * of 0: the stream stores at most one per job, so publishing the stored outcome again (a
 * redelivered job, a retry after a lost ack) is refused by the server, inside the duplicate window
 * or long after it. Returns whether this call stored the event (false for a refused repeat).
 */
export async function publishJobEvent(farm: Pick<Farm, 'nc' | 'js'>, event: JobEvent): Promise<boolean> {
  const data = encodeMessage(JobEvent, event);
  // Progress and the scheduler's position updates: only the newest matters, so core NATS.
  if (event.type === 'progress' || (event.type === 'queued' && event.position !== undefined)) {
    farm.nc.publish(frameSubject(event.jobId), data);
    return true;
  }
  if (event.type === 'done' || event.type === 'failed' || event.type === 'cancelled') {
    const subject = terminalEventSubject(event.jobId);
    try {
      const ack = await farm.js.publish(subject, data, {
        // All terminal events share one message id: a job ends once, whatever the type.
        msgID: eventMsgId(event.jobId, 'terminal'),
        expect: { lastSubjectSequence: 0 },
      });
      return !ack.duplicate;
    } catch (e) {
      if (!isCasConflict(e)) throw e;
      // Refused: the leader says the subject's last message is at `seq`. Only a stored event has
      // one; 0 means its store could not tell, so nothing is known to be published: retry.
      const seq = refusedLastSequence(e);
      if (seq === 0) throw new TerminalEventUnconfirmedError(event.jobId, subject, { cause: e });
      return false; // this job's terminal event is already stored
    }
  }
  const attempt = 'attempt' in event ? event.attempt : undefined;
  // Submitters may publish only `queued` (its own subject); lifecycle events are the renderers'.
  const subject = event.type === 'queued' ? queuedEventSubject(event.jobId) : eventSubject(event.jobId);
  const ack = await farm.js.publish(subject, data, { msgID: eventMsgId(event.jobId, event.type, attempt) });
  return !ack.duplicate;
}

/**
 * A terminal event the stream refused without showing a stored one ("wrong last sequence: 0"): it
 * may not be published. Retryable: the caller publishes it again.
 */
export class TerminalEventUnconfirmedError extends Error {
  override readonly name = 'TerminalEventUnconfirmedError';
  constructor(
    readonly jobId: string,
    readonly subject: string,
    options?: { cause?: unknown },
  ) {
    super(`the terminal event of job ${jobId} was refused but none is stored on ${subject}`, options);
  }
}

export type SettleResult =
  | { won: true; event: TerminalJobEvent }
  | { won: false; existing: TerminalJobEvent | undefined };

/**
 * Records the job's outcome if it has none yet (KV `create`: first writer wins) and publishes it
 * when this caller won. A redelivered job therefore never produces two results.
 *
 * The results bucket's leader is asked first: a `create` that loses is a refused publish, and on
 * nats-server < 2.9.21 refused publishes let a stream's replicas drift apart at the next leader
 * change (see `publishMissingTerminalEvent`), so only two attempts settling at the same moment
 * still meet the conflict. A retry after our own write (its ack lost, or the event unpublished)
 * finds its own outcome there and publishes the event if the events stream lacks it.
 */
export async function settleJob(
  farm: Farm,
  event: TerminalJobEvent,
  options: { signal?: AbortSignal } = {},
): Promise<SettleResult> {
  options.signal?.throwIfAborted();
  let existing = await resultOnLeader(farm, event.jobId);
  if (!existing) {
    let created = false;
    try {
      await farm.results.create(event.jobId, encodeMessage(TerminalJobEvent, event));
      created = true;
    } catch (e) {
      if (!isCasConflict(e)) throw e;
    }
    if (created) {
      await publishJobEvent(farm, event);
      return { won: true, event };
    }
    // The conflict says a result exists; a leader elected meanwhile may still be applying it.
    existing = await resultOnLeader(farm, event.jobId);
    for (let i = 0; !existing && i < 10; i++) {
      await new Promise((r) => setTimeout(r, 100));
      existing = await resultOnLeader(farm, event.jobId);
    }
    // Still unreadable: not knowing whose result it is, neither drop this outcome (it may be our
    // own stored one, whose event was never published) nor claim it; the caller retries.
    if (!existing) throw new Error(`job ${event.jobId} has a result that cannot be read yet`);
  }
  if (!sameSettlement(existing, event)) return { won: false, existing };
  await publishMissingTerminalEvent(farm, event);
  return { won: true, event };
}

/**
 * The job's result as the results bucket's leader holds it (`STREAM.MSG.GET`, never a direct get,
 * which any replica answers and one that lags or drifted answers "none").
 */
async function resultOnLeader(farm: Pick<Farm, 'jsm'>, jobId: string): Promise<TerminalJobEvent | undefined> {
  const bucket = resultsBucket();
  // The KV layout: stream `KV_<bucket>`, one subject `$KV.<bucket>.<key>` per key.
  const m = await farm.jsm.streams.getMessage(`KV_${bucket}`, { last_by_subj: `$KV.${bucket}.${jobId}` });
  // A delete or purge marker carries `KV-Operation` and no value.
  if (!m || m.header?.get('KV-Operation')) return undefined;
  const decoded = decodeMessage(TerminalJobEvent, m.data, { name: 'result' });
  return decoded.ok ? decoded.value : undefined;
}

/**
 * Publishes a job's terminal event again only if the events stream holds none yet, asking the
 * stream's leader first (`STREAM.MSG.GET`, last message on the job's terminal subject). For every
 * repeat — a settle retried after a lost ack, a redelivered job that already ended, the residue
 * sweep — rather than sending it blind for the stream to refuse: a refused or deduplicated publish
 * is a failed proposal in every replica, and nats-server before 2.9.21 lets the replicas of a
 * stream drift apart when its leader changes after such failures (nats-io/nats-server#4365,
 * #4366): a follower then lacks messages the leader acknowledged, and a consumer placed on it
 * never sees them. Returns whether this call stored the event.
 */
export async function publishMissingTerminalEvent(
  farm: Pick<Farm, 'nc' | 'js' | 'jsm'>,
  event: TerminalJobEvent,
): Promise<boolean> {
  const stored = await farm.jsm.streams.getMessage(eventsStream(), {
    last_by_subj: terminalEventSubject(event.jobId),
  });
  if (stored) return false;
  return publishJobEvent(farm, event);
}

function sameSettlement(a: TerminalJobEvent, b: TerminalJobEvent): boolean {
  return JSON.stringify(TerminalJobEvent.parse(a)) === JSON.stringify(TerminalJobEvent.parse(b));
}

/** The job's terminal event, if it has ended. */
export async function getJobResult(
  farm: Pick<Farm, 'results'>,
  jobId: string,
): Promise<TerminalJobEvent | undefined> {
  const entry = await farm.results.get(jobId);
  if (entry?.operation !== 'PUT') return undefined;
  const decoded = decodeMessage(TerminalJobEvent, entry.value, { name: 'result' });
  return decoded.ok ? decoded.value : undefined;
}

/** The submitted job, if it is still kept. */
export async function getJob(farm: Pick<Farm, 'jobs'>, jobId: string): Promise<RenderJob | undefined> {
  const entry = await farm.jobs.get(jobId);
  if (entry?.operation !== 'PUT') return undefined;
  const decoded = decodeMessage(RenderJob, entry.value, { name: 'job' });
  return decoded.ok ? decoded.value : undefined;
}

export type CancelOutcome =
  /** The job was still queued (or nobody held it): it is gone and `cancelled` was published. */
  | { status: 'cancelled' }
  /** A renderer holds it; it stops within a second and publishes `cancelled` (watch the events). */
  | { status: 'cancelling' }
  /** It had already ended. */
  | { status: 'already-finished'; result: TerminalJobEvent | undefined };

/** How long a canceller waits for a renderer to answer before reporting `cancelling`. */
const CANCEL_REPLY_TIMEOUT_MS = 5000;

/**
 * Cancels a job wherever it is (bot, operator). Leaves a marker in the cancellations bucket (so a
 * renderer that takes it later drops it) and sends the request on the cancel subject: a renderer
 * working on it stops, and one renderer of the settlers' queue group removes a job still queued
 * and settles it `cancelled` (`settleCancelRequest`); submitters may not write results. With no
 * renderer up the answer is `cancelling`: the marker ends the job when a renderer takes it.
 */
export async function requestCancel(
  farm: Farm,
  request: { jobId: string; by: string; reason?: string },
  options: { signal?: AbortSignal } = {},
): Promise<CancelOutcome> {
  const cancel = CancelRequest.parse({ v: 1, at: new Date().toISOString(), ...request });
  const existing = await getJobResult(farm, cancel.jobId);
  if (existing) return { status: 'already-finished', result: existing };
  options.signal?.throwIfAborted();
  await farm.cancellations.put(cancel.jobId, encodeMessage(CancelRequest, cancel));
  options.signal?.throwIfAborted();
  let reply: CancelReply;
  try {
    const msg = await farm.nc.request(cancelSubject(cancel.jobId), encodeMessage(CancelRequest, cancel), {
      timeout: CANCEL_REPLY_TIMEOUT_MS,
    });
    const decoded = decodeMessage(CancelReply, msg.data, { name: 'cancel reply' });
    if (!decoded.ok) return { status: 'cancelling' };
    reply = decoded.value;
  } catch {
    // No renderer answered (none running, or busy past the timeout): the marker does the rest.
    return { status: 'cancelling' };
  }
  return reply.status === 'already-finished'
    ? { status: 'already-finished', result: reply.result }
    : { status: reply.status };
}

/**
 * The renderer's half of a cancel (queue group `cancelSettlersQueue()`): removes a still queued
 * message from the jobs stream and settles the job `cancelled`; a job a renderer holds is left to
 * that renderer (it got the same request).
 */
export async function settleCancelRequest(farm: Farm, cancel: CancelRequest): Promise<CancelReply> {
  const existing = await getJobResult(farm, cancel.jobId);
  if (existing) return { v: 1, status: 'already-finished', result: existing };
  const model = (await getJob(farm, cancel.jobId))?.model;
  let queued = false;
  if (model !== undefined) {
    try {
      const msg = await farm.jsm.streams.getMessage(jobsStream(), {
        last_by_subj: jobSubject(model, cancel.jobId),
      });
      if (msg) {
        const info = await farm.jsm.consumers.info(jobsStream(), jobsConsumer(model)).catch(() => undefined);
        // Delivered and not yet acked ⇒ a renderer holds it and will settle the job itself.
        queued = info === undefined || msg.seq > info.delivered.stream_seq;
        if (queued) await farm.jsm.streams.deleteMessage(jobsStream(), msg.seq, false);
      }
    } catch {
      // no such message: it was acked already (finished) or never queued
    }
    // Still waiting for the scheduler: remove it from intake (the scheduler also drops it on the marker).
    if (!queued) queued = await deleteFromIntake(farm, model, cancel.jobId);
  }
  if (!queued) {
    // A renderer holds it; it may already have stopped and settled the job.
    const after = await getJobResult(farm, cancel.jobId);
    if (after?.type === 'cancelled') return { v: 1, status: 'cancelled' };
    if (after) return { v: 1, status: 'already-finished', result: after };
    return { v: 1, status: 'cancelling' };
  }
  const settled = await settleJob(farm, {
    v: 1,
    type: 'cancelled',
    jobId: cancel.jobId,
    at: cancel.at,
    by: cancel.by,
  });
  // The scheduler may have settled it `cancelled` first (it listens on the cancel subject too).
  if (settled.won || settled.existing?.type === 'cancelled') return { v: 1, status: 'cancelled' };
  return { v: 1, status: 'already-finished', result: settled.existing };
}

async function deleteFromIntake(farm: Farm, model: string, jobId: string): Promise<boolean> {
  try {
    const msg = await farm.jsm.streams.getMessage(intakeStream(), {
      last_by_subj: intakeSubject(model, jobId),
    });
    if (!msg) return false;
    return await farm.jsm.streams.deleteMessage(intakeStream(), msg.seq, false);
  } catch {
    return false; // not in intake: released already, or never submitted there
  }
}
