import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  farmSettingsFromConfig,
  intakeStream,
  requestCancel,
  silentLogger,
  submitJob,
  type Farm,
} from '../../shared/src/index.js';
import { startScheduler, type SchedulerHandle } from '../../renderer/src/scheduler/scheduler-process.js';
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

let server: NatsServerHandle;
/** The bot: submits, cancels, reads the backlog and hears events. */
let farm: Farm;
let scheduler: SchedulerHandle;
let renderers: RendererHandle[] = [];
let events: EventRecorder;

beforeAll(async () => {
  server = await startNatsServer();
  farm = await openTestFarm(server, farmSettingsFromConfig(testConfig(server, { SCHEDULER: 'on' })), 'bot');
  events = new EventRecorder(farm.nc);
  // The scheduler with its own credential, as `tessera start` runs it.
  const config = testConfig(server, { SCHEDULER: 'on' }, 'scheduler');
  scheduler = await startScheduler({ config, log: silentLogger(), id: 'sched-test' });
  await scheduler.leading();
}, 30_000);

afterAll(async () => {
  events?.stop();
  await Promise.all(renderers.map((r) => r.stop({ graceMs: 0 })));
  await scheduler?.stop();
  await farm?.nc.close();
  await server?.dispose();
});

const job = (id: string, guildId: string, userId: string) =>
  testJob(id, { steps: 4, requester: { userId, guildId } });

describe('the scheduler between intake and the renderers', () => {
  it('holds jobs in intake while no renderer is free, announcing positions', async () => {
    for (let i = 0; i < 6; i++) await submitJob(farm, job(`flood-${i}`, 'A', `a${i % 2}`));
    await submitJob(farm, job('late-b', 'B', 'b0'));
    await waitUntil(
      () => events.of('late-b', 'queued').some((e) => e.type === 'queued' && e.position !== undefined),
      5000,
    );
    const position = events.of('late-b', 'queued').find((e) => e.type === 'queued' && e.position)!;
    // Fair share: B's single job is second in line (after the A job already released as prefetch).
    expect(position.type === 'queued' && position.position).toBeLessThanOrEqual(3);
    const info = await farm.jsm.streams.info(intakeStream());
    expect(info.state.messages).toBeGreaterThanOrEqual(5);
  });

  it('never releases a job cancelled while it waits, and settles it cancelled', async () => {
    const outcome = await requestCancel(farm, { jobId: 'flood-5', by: 'user-a' });
    expect(outcome.status).toBe('cancelled');
    await events.waitFor('flood-5', 'cancelled');
  });

  it('keeps no copy of a queued job: one whose intake message vanished is never released', async () => {
    const submitted = await submitJob(farm, job('gone-a', 'A', 'a0'));
    await waitUntil(() => events.of('gone-a', 'queued').some((e) => e.type === 'queued' && e.position), 5000);
    // Removed behind the scheduler's back (an admin; no role but the scheduler's and renderers' may).
    const admin = await server.connect('admin', { name: 'test-admin' });
    try {
      await jetstreamManager(admin).then((jsm) => jsm.streams.deleteMessage(intakeStream(), submitted.seq));
    } finally {
      await admin.close();
    }
  });

  it('releases B ahead of the rest of A once renderers come, and every job runs once', async () => {
    renderers = [await startTestRenderer(server, { id: 'r1', stepMs: 20 })];
    const ids = ['flood-0', 'flood-1', 'flood-2', 'flood-3', 'flood-4', 'late-b'];
    for (const id of ids) await events.waitFor(id, 'done', 20_000);
    const startOrder = events.events
      .filter((r) => r.event.type === 'started')
      .sort((x, y) => x.receivedAt - y.receivedAt)
      .map((r) => r.event.jobId);
    expect(startOrder.indexOf('late-b')).toBeLessThanOrEqual(2);
    for (const id of ids) expect(events.of(id, 'started')).toHaveLength(1);
    expect(events.of('flood-5', 'started')).toHaveLength(0);
    expect(events.of('gone-a', 'started')).toHaveLength(0);
    await waitUntil(() => scheduler.active()?.queued()['tiny-shapes'] === 0, 3000);
    const info = await farm.jsm.streams.info(intakeStream());
    expect(info.state.messages).toBe(0);
  }, 40_000);
});
