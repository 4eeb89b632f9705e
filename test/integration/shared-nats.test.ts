import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bindFarm,
  getJobResult,
  jobsConsumer,
  jobsStream,
  requestCancel,
  settleJob,
  setupFarm,
  silentLogger,
  submitJob,
  type Farm,
  type FarmSettings,
  type NatsConnection,
  type RenderJobInput,
} from '../../shared/src/index.js';
import { startCancelListener } from '../../renderer/src/worker/cancel-listener.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

const settings: FarmSettings = {
  models: ['tiny-shapes'],
  ackWaitMs: 5000,
  maxDeliver: 3,
  duplicateWindowMs: 120_000,
  eventsMaxAgeS: 3600,
  resultsMaxAgeS: 3600,
};

function job(jobId: string): RenderJobInput {
  return {
    v: 1,
    jobId,
    prompts: [{ text: 'a red disc' }],
    seed: 1,
    width: 64,
    height: 64,
    steps: 4,
    model: 'tiny-shapes',
    requester: { userId: 'u1' },
    createdAt: new Date().toISOString(),
  };
}

describe('NATS setup and job helpers (real nats-server)', () => {
  let server: NatsServerHandle;
  let admin: NatsConnection;
  /** Submits and cancels, as the bot does. */
  let farm: Farm;
  /** Settles jobs and answers cancel requests, as a renderer does. */
  let rendererFarm: Farm;
  let cancels: { stop(): void };

  beforeAll(async () => {
    server = await startNatsServer();
    admin = await server.connect('admin');
    await setupFarm(admin, settings);
    farm = await bindFarm(await server.connect('bot'), settings, { botBuckets: true });
    rendererFarm = await bindFarm(await server.connect('renderer'), settings);
    const idle = { cancel: () => false };
    cancels = startCancelListener({ farm: rendererFarm, worker: idle, log: silentLogger() });
  });
  afterAll(async () => {
    cancels?.stop();
    for (const nc of [admin, farm?.nc, rendererFarm?.nc]) await nc?.close();
    await server?.dispose();
  });

  it('sets up streams, consumers and buckets idempotently, updating changed limits', async () => {
    await setupFarm(admin, settings);
    await setupFarm(admin, { ...settings, ackWaitMs: 7000, maxDeliver: 4 });
    const info = await farm.jsm.consumers.info(jobsStream(), jobsConsumer('tiny-shapes'));
    expect(info.config.ack_wait).toBe(7000 * 1_000_000);
    expect(info.config.max_deliver).toBe(4);
  });

  it('stores a job published twice with the same id once', async () => {
    const first = await submitJob(farm, job('dup1'));
    const second = await submitJob(farm, job('dup1'));
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    const info = await farm.jsm.streams.info(jobsStream(), { subjects_filter: '>' });
    expect(info.state.subjects?.['tessera.jobs.tiny-shapes.dup1']).toBe(1);
  });

  it('keeps the first terminal event of a job and drops later ones', async () => {
    const at = new Date().toISOString();
    const a = await settleJob(rendererFarm, {
      v: 1,
      type: 'failed',
      jobId: 'settle1',
      at,
      reason: 'first',
      code: 'engine-error',
    });
    const b = await settleJob(rendererFarm, { v: 1, type: 'cancelled', jobId: 'settle1', at, by: 'u' });
    expect(a.won).toBe(true);
    expect(b.won).toBe(false);
    expect((await getJobResult(farm, 'settle1'))?.type).toBe('failed');
  });

  it('cancels a queued job: a renderer answering the request removes it from the queue and settles it', async () => {
    await submitJob(farm, job('cancel1'));
    const outcome = await requestCancel(farm, { jobId: 'cancel1', by: 'u1' });
    expect(outcome.status).toBe('cancelled');
    expect((await getJobResult(farm, 'cancel1'))?.type).toBe('cancelled');
    const info = await farm.jsm.streams.info(jobsStream(), { subjects_filter: '>' });
    expect(info.state.subjects?.['tessera.jobs.tiny-shapes.cancel1']).toBeUndefined();
    expect((await requestCancel(farm, { jobId: 'cancel1', by: 'u1' })).status).toBe('already-finished');
  });
});
