/**
 * Nothing waits forever: a job that no renderer has taken within the maximum queue time
 * (`JOB_MAX_QUEUE_S`) ends `failed: expired`. Renderers sweep for them, for every model (a job
 * for a model whose renderers all left has nobody else to end it); the result's KV `create` makes
 * concurrent sweeps settle it once, and the bot refunds on the terminal event.
 *
 * Only jobs never delivered expire: one a renderer took (and maybe handed back) ends by its
 * render or by max-deliveries.
 */
import type { Logger } from 'pino';
import {
  JobId,
  ModelName,
  allJobsSubject,
  jobsConsumer,
  jobsStream,
  parseJobSubject,
  type Farm,
} from '../../../shared/src/index.js';
import { scanJobMessages } from './queue-scan.js';
import { settleAttempt } from './terminal.js';

export interface ExpirySettings {
  rendererId: string;
  maxQueueMs: number;
  /** Most messages one sweep looks at. */
  limit?: number;
}

function describeWait(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 120 ? `${Math.round(s / 60)} minutes` : `${s} seconds`;
}

/** Expires every job queued longer than `maxQueueMs` that no renderer took; returns how many it ended. */
export async function expireQueuedJobs(
  farm: Farm,
  settings: ExpirySettings,
  log: Logger,
  now: () => number = Date.now,
): Promise<number> {
  const cutoff = now() - settings.maxQueueMs;
  const deliveredUpTo = new Map<string, number>();
  const delivered = async (model: string): Promise<number> => {
    let seq = deliveredUpTo.get(model);
    if (seq === undefined) {
      const info = ModelName.safeParse(model).success
        ? await farm.jsm.consumers.info(jobsStream(), jobsConsumer(model)).catch(() => undefined)
        : undefined;
      seq = info?.delivered.stream_seq ?? 0; // no consumer: no renderer ever served it
      deliveredUpTo.set(model, seq);
    }
    return seq;
  };
  let expired = 0;
  for await (const msg of scanJobMessages(farm, {
    filter: allJobsSubject(),
    limit: settings.limit ?? 1000,
  })) {
    if (msg.time.getTime() > cutoff) break; // the stream is in arrival order: the rest is younger
    const job = parseJobSubject(msg.subject);
    if (!job || msg.seq <= (await delivered(job.model))) continue;
    if (await expireOne(farm, { ...job, seq: msg.seq, queuedAt: msg.timestamp }, settings, log, now))
      expired += 1;
  }
  return expired;
}

async function expireOne(
  farm: Farm,
  job: { jobId: string; model: string; seq: number; queuedAt: string },
  settings: ExpirySettings,
  log: Logger,
  now: () => number,
): Promise<boolean> {
  const jobLog = log.child({ jobId: job.jobId, seq: job.seq, model: job.model });
  let won = false;
  if (JobId.safeParse(job.jobId).success) {
    const result = await settleAttempt(
      farm,
      {
        v: 1,
        type: 'failed',
        jobId: job.jobId,
        at: new Date(now()).toISOString(),
        code: 'expired',
        reason: `No renderer of ${job.model} took this job within ${describeWait(settings.maxQueueMs)}, the farm's maximum queue time.`,
        retryable: false,
        rendererId: settings.rendererId,
      },
      jobLog,
    );
    won = result.won;
  }
  // Settled first, removed second: a renderer that takes it in between finds it ended.
  await farm.jsm.streams.deleteMessage(jobsStream(), job.seq, false).catch(() => false);
  if (won) jobLog.warn({ queuedAt: job.queuedAt }, 'job expired in the queue');
  return won;
}
