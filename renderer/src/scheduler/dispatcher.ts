/**
 * Releasing one job from intake to the work queue, idempotent by job id. The order makes every
 * crash point safe:
 * 1. a cancellation marker or a result ⇒ never released (settled `cancelled` / dropped);
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
  RenderJob,
  decodeMessage,
  dispatchMarkerKey,
  encodeMessage,
  getJobResult,
  intakeStream,
  isCasConflict,
  jobSubject,
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
  | 'ended';

export interface IntakeEntry {
  job: RenderJob;
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
export async function settleCancelled(farm: Farm, entry: IntakeEntry, by: string): Promise<SettleResult> {
  const settled = await settleJob(farm, {
    v: 1,
    type: 'cancelled',
    jobId: entry.job.jobId,
    at: new Date().toISOString(),
    by,
  });
  await deleteIntake(farm, entry.seq);
  return settled;
}

/** Releases one job; see the module comment for why each step is where it is. */
export async function releaseJob(
  farm: Farm,
  entry: IntakeEntry,
  deps: { holder: string; log: Logger },
): Promise<ReleaseOutcome> {
  const { job } = entry;
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
  const ack = await farm.js.publish(jobSubject(job.model, job.jobId), encodeMessage(RenderJob, job), {
    msgID: job.jobId,
  });
  if (ack.duplicate && outcome === 'released')
    deps.log.warn({ jobId: job.jobId }, 'job was already on the jobs stream');
  await deleteIntake(farm, entry.seq);
  return outcome;
}
