/**
 * Ending a job from a renderer, exactly once. The result's KV `create` decides the winner
 * (`settleJob`); the winner publishes the terminal event, which the events stream stores at most
 * once per job (expected last subject sequence 0). The attempt that loses (a zombie that woke up
 * after its job was redelivered and finished, or two attempts racing) deletes its own image, so
 * nothing but the winner's picture stays in the object store.
 */
import type { Logger } from 'pino';
import {
  publishMissingTerminalEvent,
  settleJob,
  type Farm,
  type SettleResult,
  type TerminalJobEvent,
} from '../../../shared/src/index.js';
import { withRetry } from './retry.js';

/**
 * Settles the job with `event` if it has no outcome yet. When another attempt already ended it
 * and `imageKey` is this attempt's stored render, that image is deleted (unless the stored outcome
 * points at the very same key, which happens only if the server forgot delivery counts); the
 * same for `videoKey`, this attempt's zoom video.
 */
export async function settleAttempt(
  farm: Farm,
  event: TerminalJobEvent,
  log: Logger,
  options: { imageKey?: string; videoKey?: string; signal?: AbortSignal } = {},
): Promise<SettleResult> {
  const result = await withRetry(() => settleJob(farm, event), {
    log,
    what: 'settling the job',
    signal: options.signal,
  });
  if (result.won) return result;
  log.info({ existing: result.existing?.type }, `job already ended; dropping this ${event.type}`);
  const existing = result.existing?.type === 'done' ? result.existing : undefined;
  const key = options.imageKey;
  if (key !== undefined && existing?.image.key !== key) await deleteLosingImage(farm, key, log);
  const video = options.videoKey;
  if (video !== undefined && existing?.video?.key !== video) await deleteLosingImage(farm, video, log);
  return result;
}

/** Deletes a render that lost the race; a failure is logged (the store's TTL removes it later). */
export async function deleteLosingImage(farm: Pick<Farm, 'images'>, key: string, log: Logger): Promise<void> {
  try {
    await withRetry(() => farm.images.delete(key), { log, what: 'deleting a losing image', budgetMs: 5000 });
    log.info({ key }, 'deleted the image of the losing attempt');
  } catch (e) {
    log.warn({ err: e, key }, 'could not delete the image of the losing attempt');
  }
}

/**
 * A redelivery of a job that already ended (its ack was lost): publishes the stored outcome in
 * case the winner crashed between the result and its event — only when the events stream's leader
 * shows none (a blind repeat would be refused, and refusals are what drift cluster replicas apart
 * on nats-server < 2.9.21; see `publishMissingTerminalEvent`). Never a second terminal event.
 */
export async function republishOutcome(farm: Farm, ended: TerminalJobEvent, log: Logger): Promise<void> {
  try {
    const stored = await publishMissingTerminalEvent(farm, ended);
    if (stored) log.info({ result: ended.type }, 'published the missing terminal event');
  } catch (e) {
    log.warn({ err: e }, 'could not check the terminal event of an ended job');
  }
}
