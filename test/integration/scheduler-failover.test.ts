/**
 * SIGKILL of the active scheduler during a flood: a standby (another process) takes the lease over
 * within 5 s, rebuilds the queue from intake, and every job runs exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SchedulerLease,
  bindFarm,
  decodeMessage,
  farmSettingsFromConfig,
  getJobResult,
  intakeStream,
  jobsStream,
  schedulerLeaseKey,
  submitJob,
  type Farm,
} from '../../shared/src/index.js';
import type { RendererHandle } from '../../renderer/src/worker/renderer-process.js';
import {
  EventRecorder,
  openTestFarm,
  startTestRenderer,
  testConfig,
  testJob,
  waitUntil,
} from '../support/farm-harness.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { spawnScheduler, type ChildScheduler } from '../support/scheduler-child.js';

const JOBS = 80;
let server: NatsServerHandle;
/** The bot: submits, reads results and the backlog, hears events. */
let farm: Farm;
/** The operator: reads the scheduler's bucket (the lease). */
let ops: Farm;
let events: EventRecorder;
const renderers: RendererHandle[] = [];
const children: ChildScheduler[] = [];

async function leaseHolder(): Promise<string | undefined> {
  const entry = await ops.scheduler.get(schedulerLeaseKey());
  if (entry?.operation !== 'PUT') return undefined;
  const decoded = decodeMessage(SchedulerLease, entry.value);
  return decoded.ok ? decoded.value.holder : undefined;
}

async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  server = await startNatsServer();
  const settings = farmSettingsFromConfig(testConfig(server, { SCHEDULER: 'on' }));
  farm = await openTestFarm(server, settings, 'bot');
  ops = await bindFarm(await server.connect('operator'), settings, { schedulerBucket: true });
  events = new EventRecorder(farm.nc);
}, 30_000);

afterAll(async () => {
  events?.stop();
  for (const { child } of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(renderers.map((r) => r.stop({ graceMs: 0 })));
  await farm?.nc.close();
  await ops?.nc.close();
  await server?.dispose();
});

describe('scheduler failover', () => {
  it('a standby takes over within 5 s of a SIGKILL; no job lost, none released or charged twice', async () => {
    const active = spawnScheduler(server, { SCHEDULER_LEASE_MS: '2500' });
    children.push(active);
    await pollUntil(async () => (await leaseHolder()) === active.holder, 20_000, 'first scheduler leads');
    const standby = spawnScheduler(server, { SCHEDULER_LEASE_MS: '2500' });
    children.push(standby);
    await new Promise((r) => setTimeout(r, 1500)); // the standby is up and watching the lease
    for (let i = 0; i < 3; i++) renderers.push(await startTestRenderer(server, { id: `r${i}`, stepMs: 20 }));
    const ids = Array.from({ length: JOBS }, (_, i) => `job-${i}`);
    await Promise.all(
      ids.map((id, i) =>
        submitJob(farm, testJob(id, { steps: 5, requester: { userId: `m${i % 7}`, guildId: `g${i % 3}` } })),
      ),
    );
    await waitUntil(() => events.events.filter((r) => r.event.type === 'started').length >= 15, 30_000);
    const killedAt = Date.now();
    active.child.kill('SIGKILL');
    await pollUntil(async () => (await leaseHolder()) === standby.holder, 10_000, 'standby takes the lease');
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs, `takeover ${takeoverMs} ms\n${standby.output()}`).toBeLessThanOrEqual(5000);

    await waitUntil(
      () => ids.every((id) => events.of(id, 'done').length > 0),
      60_000,
      () =>
        `done ${ids.filter((id) => events.of(id, 'done').length > 0).length}/${JOBS}\n${standby.output().slice(-3000)}`,
    );
    const firstAfterKill = events.events.find((r) => r.event.type === 'started' && r.receivedAt > killedAt);
    expect(firstAfterKill).toBeDefined();
    for (const id of ids) {
      // Released once: one first delivery, so one `started` (no renderer was killed here).
      expect(events.of(id, 'started'), id).toHaveLength(1);
      // Charged once: submitted once (one `queued` without a position), one stored outcome.
      expect(
        events.of(id, 'queued').filter((e) => e.type === 'queued' && e.position === undefined),
      ).toHaveLength(1);
      expect((await getJobResult(farm, id))?.type, id).toBe('done');
    }
    expect((await farm.jsm.streams.info(intakeStream())).state.messages).toBe(0);
    await pollUntil(
      async () => (await farm.jsm.streams.info(jobsStream())).state.messages === 0,
      5000,
      'jobs acked',
    );
    process.stdout.write(`scheduler failover: takeover ${takeoverMs} ms; ${JOBS} jobs, each started once\n`);
  }, 120_000);
});
