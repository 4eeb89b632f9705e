/**
 * What the cluster failover test found: a renderer stored a job's result (KV `create`), the node
 * died before the terminal event was published, and the retried settle lost the `create` to its
 * own first write, so no terminal event was ever published. A retry must publish it (once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bindFarm,
  terminalEventSubject,
  eventsStream,
  farmSettingsFromConfig,
  setupFarm,
  settleJob,
  type Farm,
  type TerminalJobEvent,
} from '../../shared/src/index.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { openTestFarm, testConfig } from '../support/farm-harness.js';

describe('settling a job again after the first try stored it but could not publish', () => {
  let server: NatsServerHandle;
  /** Renderers settle jobs: the farm is bound with the renderer credential. */
  let farm: Farm;

  beforeAll(async () => {
    server = await startNatsServer();
    const bot = await openTestFarm(server);
    await bot.nc.close();
    farm = await bindFarm(await server.connect('renderer', { name: 'settle-retry' }), bot.settings);
  });
  afterAll(async () => {
    await farm?.nc.close();
    await server?.dispose();
  });

  const event = (jobId: string, rendererId: string): TerminalJobEvent => ({
    v: 1,
    type: 'cancelled',
    jobId,
    at: '2026-01-01T00:00:00.000Z',
    by: rendererId,
  });

  async function terminalEvents(jobId: string): Promise<number> {
    const info = await farm.jsm.streams.info(eventsStream(), {
      subjects_filter: terminalEventSubject(jobId),
    });
    return info.state.subjects?.[terminalEventSubject(jobId)] ?? 0;
  }

  it('publishes the stored outcome on the retry, and a different outcome still loses', async () => {
    const failing: Farm = {
      ...farm,
      js: { ...farm.js, publish: () => Promise.reject(new Error('node died')) } as Farm['js'],
    };
    await expect(settleJob(failing, event('retry-1', 'a'))).rejects.toThrow('node died');
    expect(await terminalEvents('retry-1')).toBe(0);

    const retried = await settleJob(farm, event('retry-1', 'a'));
    expect(retried.won).toBe(true);
    expect(await terminalEvents('retry-1')).toBe(1);

    const other = await settleJob(farm, event('retry-1', 'b'));
    expect(other.won).toBe(false);
    const again = await settleJob(farm, event('retry-1', 'a'));
    expect(again.won).toBe(true);
    expect(await terminalEvents('retry-1')).toBe(1);
  });
});

describe('NATS_REPLICAS=3 against a single nats-server', () => {
  it('fails the set-up at once, saying it needs a cluster', async () => {
    const server = await startNatsServer();
    const nc = await server.connect('admin', { name: 'r3-on-one-node' });
    try {
      const settings = farmSettingsFromConfig(testConfig(server, { NATS_REPLICAS: '3' }));
      const started = Date.now();
      await expect(setupFarm(nc, settings)).rejects.toThrow(
        /NATS_REPLICAS=3 needs a JetStream cluster of 3 nodes/,
      );
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await nc.close();
      await server.dispose();
    }
  });
});
