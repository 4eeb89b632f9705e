/**
 * When a job reaches MaxDeliver (its renderers kept dying or timing out), the server keeps the
 * message in the work-queue stream and publishes an advisory. Every renderer of the model listens
 * (one of them in a queue group handles each advisory): it publishes `failed` once (first writer
 * wins) and deletes the message.
 * https://docs.nats.io/running-a-nats-service/nats_admin/monitoring/monitoring_jetstream
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import {
  jobsStream,
  maxDeliveriesAdvisory,
  jobIdOfMessage,
  settleJob,
  type Farm,
  type FarmMetrics,
  type SettleResult,
} from '../../../shared/src/index.js';

/** The fields of `io.nats.jetstream.advisory.v1.max_deliver` we use. */
const MaxDeliveriesAdvisory = z.object({
  stream: z.string(),
  consumer: z.string(),
  stream_seq: z.number().int().positive(),
  deliveries: z.number().int().nonnegative(),
});

export async function failExhaustedJob(
  farm: Farm,
  seq: number,
  deliveries: number,
  rendererId: string,
  log: Logger,
): Promise<SettleResult | undefined> {
  let message;
  try {
    message = await farm.jsm.streams.getMessage(jobsStream(), { seq });
  } catch {
    message = null;
  }
  if (!message) return undefined; // already removed (settled and acked elsewhere)
  const jobId = jobIdOfMessage({
    subject: message.subject,
    msgId: message.header?.get('Nats-Msg-Id'),
    data: message.data,
    seq,
  });
  const result = await settleJob(farm, {
    v: 1,
    type: 'failed',
    jobId,
    at: new Date().toISOString(),
    code: 'max-deliveries',
    reason: `The job was tried ${deliveries} times and no renderer finished it (renderers crashed or timed out).`,
    retryable: false,
    rendererId,
    attempt: deliveries,
  });
  log.warn({ jobId, seq, deliveries, published: result.won }, 'job reached max deliveries');
  await farm.jsm.streams.deleteMessage(jobsStream(), seq, false).catch(() => undefined);
  return result;
}

export function startMaxDeliveriesListener(deps: {
  farm: Farm;
  model: string;
  rendererId: string;
  log: Logger;
  metrics?: FarmMetrics;
}): { stop(): void } {
  const { farm, log } = deps;
  const sub = farm.nc.subscribe(maxDeliveriesAdvisory(deps.model), {
    queue: `tessera-max-deliveries-${deps.model}`,
    callback: (err, msg) => {
      if (err) return;
      let advisory;
      try {
        advisory = MaxDeliveriesAdvisory.parse(msg.json());
      } catch (e) {
        log.warn({ err: e }, 'unreadable max-deliveries advisory');
        return;
      }
      failExhaustedJob(farm, advisory.stream_seq, advisory.deliveries, deps.rendererId, log).then(
        (r) => r?.won && deps.metrics?.recordSettled(r.event),
        (e: unknown) => log.error({ err: e, seq: advisory.stream_seq }, 'could not fail an exhausted job'),
      );
    },
  });
  return { stop: () => sub.unsubscribe() };
}
