/**
 * Releasing one job from intake to the work queue, idempotent by job id. The order makes every
 * crash point safe:
 * 1. a cancellation marker or a result ⇒ never released (settled `cancelled` / dropped);
 *    the job itself is read from its intake message only now (the queue keeps no more than the
 *    fair queue's ordering needs and the intake sequence), and a message already gone is not released;
 * 2. KV `create` of the dispatch marker: only one instance ever wins it for a job;
 * 3. publish on the jobs stream with `Nats-Msg-Id: jobId` (a repeat inside the duplicate window is
 *    dropped by the server);
 * 4. delete the intake message (the "ack").
 * A scheduler that finds an intake message whose marker exists (its predecessor died between 2 and
 * 4) publishes again with the same message id — a no-op if step 3 had happened — and deletes it.
 */
import type { Logger } from 'pino';
import {
  CancelRequest,
  DispatchMarker,
  decodeMessage,
  dispatchMarkerKey,
  encodeMessage,
  getJobResult,
  intakeStream,
  isCasConflict,
  jobSubject,
  parseIntakeSubject,
  settleJob,
  type Farm,
  type SettleResult,
} from '../../../shared/src/index.js';

export type ReleaseOutcome =
  | 'released'
  /** Its marker existed: released before (published again inside the duplicate window). */
  | 'already-released'
  | 'cancelled'
  /** It had already ended (a result exists). */
  | 'ended'
  /** Its intake message is gone (removed by a cancel, or by a predecessor after it was released). */
  | 'gone';

/** A queued job as the scheduler keeps it: where its message is in intake, not the job itself. */
export interface IntakeRef {
  jobId: string;
  model: string;
  /** Sequence of its message in the intake stream. */
  seq: number;
}

export async function deleteIntake(farm: Farm, seq: number): Promise<void> {
  try {
    await farm.jsm.streams.deleteMessage(intakeStream(), seq, false);
  } catch {
    // already gone (a cancel removed it, or a predecessor did)
  }
}

/** Settles a job that was cancelled while it waited in intake, and removes it. */
export async function settleCancelled(farm: Farm, entry: IntakeRef, by: string): Promise<SettleResult> {
  const settled = await settleJob(farm, {
    v: 1,
    type: 'cancelled',
    jobId: entry.jobId,
    at: new Date().toISOString(),
    by,
  });
  await deleteIntake(farm, entry.seq);
  return settled;
}

/**
 * The job's bytes from its intake message, as the submitter published them (checked to be this job);
 * undefined when the message is gone.
 */
export async function loadIntakeJob(farm: Farm, entry: IntakeRef): Promise<Uint8Array | undefined> {
  // null when there is no message at that sequence any more.
  const stored = await farm.jsm.streams.getMessage(intakeStream(), { seq: entry.seq });
  if (!stored) return undefined;
  const parsed = parseIntakeSubject(stored.subject);
  return parsed?.jobId === entry.jobId && parsed.model === entry.model ? stored.data : undefined;
}

/** Releases one job; see the module comment for why each step is where it is. */
export async function releaseJob(
  farm: Farm,
  entry: IntakeRef,
  deps: { holder: string; log: Logger },
): Promise<ReleaseOutcome> {
  const job = { jobId: entry.jobId, model: entry.model };
  const [marker, result] = await Promise.all([
    farm.cancellations.get(job.jobId),
    getJobResult(farm, job.jobId),
  ]);
  if (result) {
    await deleteIntake(farm, entry.seq);
    return 'ended';
  }
  if (marker?.operation === 'PUT') {
    const cancel = decodeMessage(CancelRequest, marker.value, { name: 'cancel request' });
    await settleCancelled(farm, entry, cancel.ok ? cancel.value.by : 'unknown');
    return 'cancelled';
  }
  const bytes = await loadIntakeJob(farm, entry);
  if (!bytes) return 'gone';
  const now = new Date();
  const dispatch: DispatchMarker = {
    v: 1,
    jobId: job.jobId,
    model: job.model,
    by: deps.holder,
    at: now.toISOString(),
  };
  let outcome: ReleaseOutcome = 'released';
  try {
    await farm.scheduler.create(dispatchMarkerKey(job.jobId), encodeMessage(DispatchMarker, dispatch));
  } catch (e) {
    if (!isCasConflict(e)) throw e;
    outcome = 'already-released';
    const existing = await farm.scheduler.get(dispatchMarkerKey(job.jobId));
    const prior = existing
      ? decodeMessage(DispatchMarker, existing.value, { name: 'dispatch marker' })
      : undefined;
    const age = prior?.ok ? now.getTime() - Date.parse(prior.value.at) : Number.POSITIVE_INFINITY;
    // Outside the duplicate window a second publish would be a second job: the first one went out.
    if (age >= farm.settings.duplicateWindowMs * 0.8) {
      deps.log.warn({ jobId: job.jobId, ageMs: age }, 'old dispatch marker; not publishing again');
      await deleteIntake(farm, entry.seq);
      return outcome;
    }
  }
  const ack = await farm.js.publish(jobSubject(job.model, job.jobId), bytes, { msgID: job.jobId });
  if (ack.duplicate && outcome === 'released')
    deps.log.warn({ jobId: job.jobId }, 'job was already on the jobs stream');
  await deleteIntake(farm, entry.seq);
  return outcome;
}
