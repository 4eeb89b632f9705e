/**
 * The cluster configuration shipped in deploy/nats/cluster runs: three nodes from nats-1/2/3.conf
 * (ports, routes and store moved to this machine's free ones), each including the `auth.conf`
 * that `tessera credentials` writes (generated here), form one JetStream cluster that
 * holds the farm with three copies of everything, and a client given every seed URL moves to
 * another node when its own goes.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectNats,
  farmSettingsFromConfig,
  farmStreamNames,
  setupFarm,
  type NatsConnection,
} from '../../shared/src/index.js';
import { repoRoot, testConfig } from '../support/farm-harness.js';
import { connectedNode, startNatsCluster, type NatsCluster } from '../support/nats-cluster.js';

const dir = path.join(repoRoot, 'deploy', 'nats', 'cluster');

describe('deploy/nats/cluster', () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;

  beforeAll(async () => {
    cluster = await startNatsCluster({
      shippedConfig: (i) => ({
        file: path.join(dir, `nats-${i + 1}.conf`),
        includes: [path.join(dir, 'cluster-common.conf')],
      }),
    });
    nc = await cluster.connect('admin', { name: 'cluster-config-test' });
  }, 60_000);
  afterAll(async () => {
    await nc?.close();
    await cluster?.dispose();
  });

  it('names its nodes and holds the farm with three copies of every stream and bucket', async () => {
    expect(cluster.nodes.map((n) => n.name)).toEqual(['tessera-nats-1', 'tessera-nats-2', 'tessera-nats-3']);
    const farm = await setupFarm(nc, farmSettingsFromConfig(testConfig(cluster, { NATS_REPLICAS: '3' })));
    for (const name of farmStreamNames()) {
      const info = await farm.jsm.streams.info(name);
      expect(info.config.num_replicas, name).toBe(3);
      expect(info.cluster?.name).toBe('tessera');
      expect(info.cluster?.leader).toMatch(/^tessera-nats-[123]$/);
    }
  });

  it('refuses a client without a role credential on every node', async () => {
    for (const node of cluster.nodes)
      await expect(
        connectNats({ url: node.url, name: 'anonymous', waitOnFirstConnect: false }),
      ).rejects.toThrow(/authorization/i);
  });

  it('moves a client with all seed URLs to another node when its node dies', async () => {
    const before = connectedNode(nc);
    expect(before).toMatch(/^tessera-nats-[123]$/);
    const reconnected = (async () => {
      for await (const status of nc.status()) if (status.type === 'reconnect') return status.server;
      return undefined;
    })();
    await cluster.node(before!).stop({ kill: true });
    const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000));
    expect(await Promise.race([reconnected, timeout])).toBeDefined();
    await nc.flush();
    expect(connectedNode(nc)).toMatch(/^tessera-nats-[123]$/);
    expect(connectedNode(nc)).not.toBe(before);
    await cluster.node(before!).start();
  });
});
