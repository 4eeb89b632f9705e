/**
 * The farm on a real 3-node JetStream cluster with R3: an R1 farm is raised to R3 in place, then
 * three renderers (two processes, one in the test process) work through a batch of jobs while the
 * node leading the jobs stream is SIGKILLed, and (once it is back) the node a renderer is
 * connected to. Every job must end exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  JobEvent,
  bindFarm,
  decodeMessage,
  eventsStream,
  farmSettingsFromConfig,
  farmStreamNames,
  getJobResult,
  jobsStream,
  setupFarm,
  submitJob,
  type Farm,
  type NatsConnection,
} from '../../shared/src/index.js';
import { connectedNode, startNatsCluster, type NatsCluster } from '../support/nats-cluster.js';
import {
  openTestFarm,
  spawnTestRenderer,
  startTestRenderer,
  testConfig,
  testJob,
  waitUntil,
  type ChildRenderer,
} from '../support/farm-harness.js';

type Renderer = Awaited<ReturnType<typeof startTestRenderer>>;

const JOBS = 45;
/** Renderer processes, besides one renderer in the test process (whose connection the test can see). */
const CHILD_RENDERERS = 2;

describe('a 3-node NATS cluster with R3', () => {
  let cluster: NatsCluster;
  /** The admin: sets the farm up, reads stream state back. */
  let nc: NatsConnection;
  /** Farms bound with other roles (closed at the end). */
  const farms: Farm[] = [];
  const renderers: Renderer[] = [];
  const children: ChildRenderer[] = [];

  beforeAll(async () => {
    cluster = await startNatsCluster();
    nc = await cluster.connect('admin', { name: 'cluster-test' });
  }, 60_000);
  afterAll(async () => {
    for (const c of children) c.process.kill('SIGKILL');
    await Promise.all(renderers.map((r) => r.stop({ graceMs: 0 }).catch(() => undefined)));
    for (const f of farms) await f.nc.close();
    await nc?.close();
    await cluster?.dispose();
  });

  async function replicasOf(farm: Farm): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const name of farmStreamNames())
      out.set(name, (await farm.jsm.streams.info(name)).config.num_replicas ?? 1);
    return out;
  }

  it('raises an R1 farm to R3 in place, and a process set to 1 does not lower it again', async () => {
    const r1 = await setupFarm(nc, farmSettingsFromConfig(testConfig(cluster)));
    expect([...(await replicasOf(r1)).values()].every((n) => n === 1)).toBe(true);
    // Results are written by renderers only.
    const renderer = await bindFarm(await cluster.connect('renderer'), r1.settings);
    farms.push(renderer);
    await renderer.results.put('before-r3', new TextEncoder().encode('kept'));

    const r3 = await setupFarm(nc, farmSettingsFromConfig(testConfig(cluster, { NATS_REPLICAS: '3' })));
    const raised = await replicasOf(r3);
    expect(Object.fromEntries(raised)).toEqual(Object.fromEntries(farmStreamNames().map((n) => [n, 3])));
    expect(new TextDecoder().decode((await r3.results.get('before-r3'))?.value)).toBe('kept');
    const jobs = await r3.jsm.streams.info(jobsStream());
    expect(jobs.cluster?.replicas?.length).toBe(2);

    await setupFarm(nc, farmSettingsFromConfig(testConfig(cluster, { NATS_REPLICAS: '1' })));
    expect([...(await replicasOf(r3)).values()].every((n) => n === 3)).toBe(true);
    await renderer.results.delete('before-r3');
  }, 60_000);

  it('loses no job and settles none twice when the jobs leader, then a renderer’s node, is killed', async () => {
    const env = { NATS_REPLICAS: '3', JOB_ACK_WAIT_MS: '3000' };
    // The admin step, then the bot's credential: it submits the jobs and reads the results.
    const farm = await openTestFarm(cluster, farmSettingsFromConfig(testConfig(cluster, env)));
    farms.push(farm);
    for (let i = 0; i < CHILD_RENDERERS; i++)
      children.push(spawnTestRenderer(cluster, { id: `cl-proc-${i}`, stepMs: 30, env }));
    for (const c of children)
      await waitUntil(
        () => c.output().includes('renderer ready'),
        60_000,
        () => c.output().slice(-2000),
      );
    renderers.push(await startTestRenderer(cluster, { id: 'cl-in-test', stepMs: 30, env }));

    const ids = Array.from({ length: JOBS }, (_, i) => `cl-job-${i}`);
    for (const id of ids) await submitJob(farm, testJob(id, { steps: 20, seed: 1 }));
    const finished = new Set<string>();
    const poll = async (): Promise<void> => {
      for (const id of ids)
        if (!finished.has(id) && (await getJobResult(farm, id).catch(() => undefined))) finished.add(id);
    };
    const waitResults = async (n: number, timeoutMs: number): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while (finished.size < n) {
        if (Date.now() > deadline)
          throw new Error(`only ${finished.size} of ${n} results after ${timeoutMs} ms`);
        await poll();
        await new Promise((r) => setTimeout(r, 200));
      }
    };

    await waitResults(8, 30_000);
    const leader = await cluster.streamLeader(nc, jobsStream());
    expect(leader).toBeDefined();
    const killedLeaderAt = Date.now();
    await cluster.node(leader!).stop({ kill: true });
    await waitResults(20, 60_000);
    await cluster.node(leader!).start();
    await cluster.waitForJetStream();
    await waitUntilCurrent(nc, 30_000);

    const target = connectedNode(renderers[0]!.farm.nc);
    expect(target).toBeDefined();
    const killedRendererNodeAt = Date.now();
    await cluster.node(target!).stop({ kill: true });
    await waitResults(JOBS, 90_000);
    // Read back with all three nodes up (the killed one may have led the JetStream meta group).
    await cluster.node(target!).start();
    await cluster.waitForJetStream();
    await waitUntilCurrent(nc, 30_000);

    const counts = await terminalCounts(nc, JOBS);
    const lost = ids.filter((id) => (counts.get(id)?.length ?? 0) === 0);
    const doubled = ids.filter((id) => (counts.get(id)?.length ?? 0) > 1);
    const logsOf = (id: string) =>
      children.flatMap((c) =>
        c
          .output()
          .split('\n')
          .filter((l) => l.includes(`"${id}"`)),
      );
    expect(lost, lost.flatMap(logsOf).join('\n')).toEqual([]);
    expect(doubled).toEqual([]);
    for (const id of ids) {
      const result = await getJobResult(farm, id);
      expect(result?.type).toBe('done');
      // The one result in KV is the one terminal event published.
      expect(counts.get(id)?.[0]?.at).toBe(result?.at);
    }
    const stall = longestStall(counts);
    console.info(
      `cluster failover: ${JOBS} jobs, killed ${leader} (jobs leader) at +0 ms, ${target} (renderer node) at ` +
        `+${killedRendererNodeAt - killedLeaderAt} ms; 0 lost, 0 double; longest stall without a result ` +
        `${stall.ms} ms (ending ${stall.endsAt - killedLeaderAt} ms after the first kill)`,
    );
  }, 200_000);
});

/** Waits until every replica of every farm stream is current again (a restarted node caught up). */
async function waitUntilCurrent(nc: NatsConnection, timeoutMs: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  let behind: string[] = [];
  const deadline = Date.now() + timeoutMs;
  do {
    behind = [];
    for (const name of farmStreamNames()) {
      const info = await jsm.streams.info(name).catch(() => undefined);
      const ok = info?.cluster?.leader && (info.cluster.replicas ?? []).every((r) => r.current && !r.offline);
      if (!ok) behind.push(name);
    }
    if (behind.length === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  } while (Date.now() < deadline);
  throw new Error(`replicas not current after ${timeoutMs} ms: ${behind.join(', ')}`);
}

interface Terminal {
  at: string;
  storedAt: number;
}

/** Every terminal event in the events stream, per job id (read back with an ordered consumer). */
async function terminalCounts(nc: NatsConnection, expected: number): Promise<Map<string, Terminal[]>> {
  const js = jetstream(nc);
  const last = (await (await jetstreamManager(nc)).streams.info(eventsStream())).state.last_seq;
  const consumer = await js.consumers.get(eventsStream());
  const out = new Map<string, Terminal[]>();
  for (let seq = 0; seq < last; ) {
    const msg = await consumer.next({ expires: 5000 });
    if (!msg) break;
    seq = msg.seq;
    const decoded = decodeMessage(JobEvent, msg.data);
    if (!decoded.ok) continue;
    const e = decoded.value;
    if (e.type !== 'done' && e.type !== 'failed' && e.type !== 'cancelled') continue;
    const list = out.get(e.jobId) ?? [];
    list.push({ at: e.at, storedAt: msg.info.timestampNanos / 1e6 });
    out.set(e.jobId, list);
  }
  expect(out.size).toBeLessThanOrEqual(expected);
  return out;
}

/** The longest time between two consecutive results (stream timestamps). */
function longestStall(counts: Map<string, Terminal[]>): { ms: number; endsAt: number } {
  const times = [...counts.values()].flatMap((l) => l.map((t) => t.storedAt)).sort((a, b) => a - b);
  let best = { ms: 0, endsAt: 0 };
  for (let i = 1; i < times.length; i++)
    if (times[i]! - times[i - 1]! > best.ms)
      best = { ms: Math.round(times[i]! - times[i - 1]!), endsAt: Math.round(times[i]!) };
  return best;
}
