import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bindFarm,
  farmSettingsFromConfig,
  getJobResult,
  jobsConsumer,
  jobsStream,
  silentLogger,
  submitJob,
  type Farm,
  type NatsConnection,
} from '../../shared/src/index.js';
import { startMaxDeliveriesListener } from '../../renderer/src/worker/max-deliveries.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { EventRecorder, eventually, openTestFarm, testConfig, testJob } from '../support/farm-harness.js';

describe('a job whose renderers never finish it', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let farm: Farm;
  /** The renderers' side: pulls without acking, and runs the advisory listeners. */
  let rendererFarm: Farm;
  let events: EventRecorder;

  beforeAll(async () => {
    server = await startNatsServer();
    farm = await openTestFarm(
      server,
      farmSettingsFromConfig(testConfig(server, { JOB_MAX_DELIVER: '2', JOB_ACK_WAIT_MS: '600' })),
    );
    nc = farm.nc;
    rendererFarm = await bindFarm(await server.connect('renderer'), farm.settings);
    events = new EventRecorder(nc);
  });
  afterAll(async () => {
    events?.stop();
    await nc?.close();
    await rendererFarm?.nc.close();
    await server?.dispose();
  });

  it('fails visibly once (max-deliveries advisory) and leaves no message behind', async () => {
    // Two listeners, as two renderers would run: the queue group and first-writer-wins keep it to one event.
    const listeners = [0, 1].map((i) =>
      startMaxDeliveriesListener({
        farm: rendererFarm,
        model: 'tiny-shapes',
        rendererId: `adv-${i}`,
        log: silentLogger(),
      }),
    );
    await submitJob(farm, testJob('job-stuck'));
    const consumer = await rendererFarm.js.consumers.get(jobsStream(), jobsConsumer('tiny-shapes'));
    // A "renderer" that takes the job and dies every time (never acks).
    for (let delivery = 1; delivery <= 2; delivery++) {
      const msg = await consumer.next({ expires: 3000 });
      expect(msg?.info.deliveryCount).toBe(delivery);
    }
    // The server notices MaxDeliver when it would redeliver, i.e. while someone is pulling.
    expect(await consumer.next({ expires: 2000 })).toBeNull();
    const failed = await events.waitFor('job-stuck', 'failed', 5000);
    expect(failed.type === 'failed' && failed.code).toBe('max-deliveries');
    await new Promise((r) => setTimeout(r, 300));
    expect(events.of('job-stuck', 'failed')).toHaveLength(1);
    expect((await getJobResult(farm, 'job-stuck'))?.type).toBe('failed');
    expect(await eventually(async () => (await farm.jsm.streams.info(jobsStream())).state.messages, 0)).toBe(
      0,
    );
    for (const l of listeners) l.stop();
  });
});
