/** The farm's job queue and image store over NATS (JetStream stream, KV and object store). */
import {
  getJobResult,
  requestCancel,
  submitJob,
  type CancelOutcome,
  type Farm,
  type RenderJobInput,
  type TerminalJobEvent,
} from '../../../shared/src/index.js';
import type { ImageStore, JobQueue } from '../core/ports.js';

export class NatsJobQueue implements JobQueue {
  constructor(private readonly farm: Farm) {}

  async submit(job: RenderJobInput): Promise<{ seq: number }> {
    const submitted = await submitJob(this.farm, job);
    return { seq: submitted.seq };
  }

  /** A renderer settles a queued job's cancel, so the model is not needed here. */
  cancel(request: { jobId: string; by: string }, _model: string): Promise<CancelOutcome> {
    return requestCancel(this.farm, request);
  }

  result(jobId: string): Promise<TerminalJobEvent | undefined> {
    return getJobResult(this.farm, jobId);
  }
}

export class NatsImageStore implements ImageStore {
  constructor(private readonly farm: Pick<Farm, 'images'>) {}

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.farm.images.putBlob({ name: key }, bytes);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.farm.images.getBlob(key)) ?? undefined;
  }
}
