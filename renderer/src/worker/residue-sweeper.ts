/**
 * No residue in the work queue. nats-server 2.9 can lose the removal of a job acked just before
 * it was SIGKILLed: the consumer's state says the job was acknowledged, the stream still holds
 * it, and nobody will ever deliver or remove it (it would pile up with each crash and make the
 * queue depth wrong). The sweeper looks at this model's messages up to the consumer's last
 * delivered sequence (never the ones still waiting for a first delivery) and removes those whose
 * job has a result: such a message has no use left, held by a renderer or not. One at or below
 * the ack floor without a result (its outcome was lost in the same crash, or a max-deliveries
 * advisory was missed) can never be delivered again either: when a second sweep still finds it
 * so, it is settled `failed` and removed.
 */
import type { Logger } from 'pino';
import {
  getJobResult,
  jobsConsumer,
  jobsStream,
  modelJobsFilter,
  parseJobSubject,
  publishMissingTerminalEvent,
  type Farm,
} from '../../../shared/src/index.js';
import { scanJobMessages } from './queue-scan.js';
import { settleAttempt } from './terminal.js';

export interface ResidueSweepResult {
  /** Messages of jobs with a result, removed (at or below the ack floor, or acked out of order). */
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
    const delivered = info?.delivered.stream_seq ?? 0;
    const suspects = new Set<number>();
    const filter = modelJobsFilter(this.model);
    for await (const msg of scanJobMessages(this.farm, { filter, lastSeq: delivered, limit })) {
      const jobId = parseJobSubject(msg.subject)?.jobId ?? `seq-${msg.seq}`;
      const ended = await getJobResult(this.farm, jobId).catch(() => undefined);
      if (!ended) {
        // Above the floor: in flight or waiting for a redelivery. At or below it: see the module comment.
        if (msg.seq > floor) continue;
        if (!this.#suspects.has(msg.seq)) {
          suspects.add(msg.seq);
          continue;
        }
        await this.#settleOrphan(jobId, msg.seq);
        out.orphaned += 1;
      } else {
        // The job ended: make sure its one terminal event is stored too (a renderer that lost its
        // NATS node between writing the result and publishing the event may never publish it).
        // Published only when the stream's leader shows none, so a sweep sends no refused repeats.
        await publishMissingTerminalEvent(this.farm, ended).catch(() => false);
        out.removed += 1;
      }
      await this.farm.jsm.streams.deleteMessage(jobsStream(), msg.seq, false).catch(() => false);
    }
    this.#suspects = suspects;
    if (out.removed + out.orphaned > 0)
      this.log.info({ ...out, ackFloor: floor, delivered }, 'removed acked jobs left in the work queue');
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
