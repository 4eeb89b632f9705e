/**
 * No residue in the work queue. nats-server 2.9 can lose the removal of a job acked just before
 * it was SIGKILLed: the consumer's ack floor says the job was acknowledged, the stream still holds
 * it, and nobody will ever deliver or remove it (it would pile up with each crash and make the
 * queue depth wrong). The sweeper removes this model's messages at or below the consumer's ack
 * floor whose job has a result. One below the floor without a result (its outcome was lost in
 * the same crash, or a max-deliveries advisory was missed) can never be delivered again either:
 * when a second sweep still finds it so, it is settled `failed` and removed.
 */
import type { Logger } from 'pino';
import {
  getJobResult,
  jobsConsumer,
  jobsStream,
  modelJobsFilter,
  parseJobSubject,
  type Farm,
} from '../../../shared/src/index.js';
import { scanJobMessages } from './queue-scan.js';
import { settleAttempt } from './terminal.js';

export interface ResidueSweepResult {
  /** Messages of jobs with a result, removed. */
  removed: number;
  /** Messages below the ack floor without a result, settled `failed` and removed. */
  orphaned: number;
}

export class ResidueSweeper {
  /** Sequences found below the ack floor without a result on the last sweep. */
  #suspects = new Set<number>();

  constructor(
    private readonly farm: Farm,
    private readonly model: string,
    private readonly rendererId: string,
    private readonly log: Logger,
  ) {}

  async sweep(limit = 1000): Promise<ResidueSweepResult> {
    const out = { removed: 0, orphaned: 0 };
    const info = await this.farm.jsm.consumers
      .info(jobsStream(), jobsConsumer(this.model))
      .catch(() => undefined);
    const floor = info?.ack_floor.stream_seq ?? 0;
    const suspects = new Set<number>();
    if (floor > 0) {
      const scan = scanJobMessages(this.farm, { filter: modelJobsFilter(this.model), lastSeq: floor, limit });
      for await (const msg of scan) {
        const jobId = parseJobSubject(msg.subject)?.jobId ?? `seq-${msg.seq}`;
        const ended = await getJobResult(this.farm, jobId).catch(() => undefined);
        if (!ended && !this.#suspects.has(msg.seq)) {
          suspects.add(msg.seq);
          continue;
        }
        if (!ended) {
          await this.#settleOrphan(jobId, msg.seq);
          out.orphaned += 1;
        } else out.removed += 1;
        await this.farm.jsm.streams.deleteMessage(jobsStream(), msg.seq, false).catch(() => false);
      }
    }
    this.#suspects = suspects;
    if (out.removed + out.orphaned > 0)
      this.log.info({ ...out, ackFloor: floor }, 'removed acked jobs left in the work queue');
    return out;
  }

  async #settleOrphan(jobId: string, seq: number): Promise<void> {
    const log = this.log.child({ jobId, seq });
    log.warn('a job below the ack floor has no result; ending it');
    await settleAttempt(
      this.farm,
      {
        v: 1,
        type: 'failed',
        jobId,
        at: new Date().toISOString(),
        code: 'internal',
        reason: 'The farm lost track of this job (its NATS server restarted while it ran). Please try again.',
        retryable: false,
        rendererId: this.rendererId,
      },
      log,
    );
  }
}
