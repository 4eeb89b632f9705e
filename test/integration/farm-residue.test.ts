import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  farmSettingsFromConfig,
  getJobResult,
  jobsConsumer,
  jobsStream,
  submitJob,
  type Farm,
  type NatsConnection,
} from '../../shared/src/index.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { eventually, openTestFarm, startTestRenderer, testConfig, testJob } from '../support/farm-harness.js';

const ENV = { RENDERER_SWEEP_INTERVAL_MS: '300' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What is left in the queue and where the consumer stands (for a failing assertion). Read as
 * `admin`: reading single messages of the jobs stream is not the bot's to do.
 */
async function describeQueue(server: NatsServerHandle): Promise<string> {
  const nc = await server.connect('admin', { name: 'test-describe-queue' });
  try {
    const jsm = await jetstreamManager(nc);
    const c = await jsm.consumers.info(jobsStream(), jobsConsumer('tiny-shapes'));
    const left: string[] = [];
    const info = await jsm.streams.info(jobsStream());
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(jobsStream(), { seq }).catch(() => null);
      if (m) left.push(`${seq}:${m.subject.split('.').at(-1)}`);
    }
    return `ack floor ${c.ack_floor.stream_seq}, delivered ${c.delivered.stream_seq}, pending ${c.num_pending}/${c.num_ack_pending}; left ${left.join(' ')}`;
  } finally {
    await nc.close();
  }
}

describe('the work queue after nats-server SIGKILLs', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let farm: Farm;
  let renderers: Awaited<ReturnType<typeof startTestRenderer>>[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    farm = await openTestFarm(server, farmSettingsFromConfig(testConfig(server, ENV)));
    nc = farm.nc;
    renderers = await Promise.all(
      ['res-1', 'res-2', 'res-3'].map((id) => startTestRenderer(server, { id, stepMs: 5, env: ENV })),
    );
  });
  afterAll(async () => {
    for (const r of renderers) await r.stop({ graceMs: 0 });
    await nc?.close();
    await server?.dispose();
  });

  it('holds exactly the jobs still pending after three kills under load', async () => {
    const ids = Array.from({ length: 45 }, (_, i) => `job-res-${i}`);
    // Jobs for a model nobody serves stay queued (well inside JOB_MAX_QUEUE_S): the pending ones.
    const waiting = Array.from({ length: 4 }, (_, i) => `job-res-idle-${i}`);
    for (const id of waiting) await submitJob(farm, testJob(id, { model: 'nobody-serves' }));
    for (const id of ids) await submitJob(farm, testJob(id, { steps: 6 }));

    const finished = async () =>
      (await Promise.all(ids.map((id) => getJobResult(farm, id).catch(() => undefined)))).filter(Boolean)
        .length;
    for (let kill = 1; kill <= 3; kill++) {
      // Kill while renderers are acking jobs back to back.
      const target = kill * 10;
      const deadline = Date.now() + 30_000;
      while ((await finished()) < target && Date.now() < deadline) await sleep(20);
      await server.stop({ kill: true });
      await sleep(300);
      await server.restart();
    }
    const deadline = Date.now() + 60_000;
    let done = await finished();
    while (done < ids.length && Date.now() < deadline) {
      await sleep(250);
      done = await finished();
    }
    expect(done).toBe(ids.length);

    // Settled jobs never linger: within a few sweeps the stream holds only the waiting jobs.
    const count = async () => (await farm.jsm.streams.info(jobsStream())).state.messages;
    const until = Date.now() + 10_000;
    while ((await count()) !== waiting.length && Date.now() < until) await sleep(100);
    expect(await count(), await describeQueue(server)).toBe(waiting.length);
    for (const id of waiting) expect(await getJobResult(farm, id)).toBeUndefined();
    // A redelivery in flight (an ack the crash lost) is acked within moments.
    const consumerState = async () => {
      const c = await farm.jsm.consumers.info(jobsStream(), jobsConsumer('tiny-shapes'));
      return `${c.num_pending}/${c.num_ack_pending}`;
    };
    expect(await eventually(consumerState, '0/0', 5000), await describeQueue(server)).toBe('0/0');
  });
});
