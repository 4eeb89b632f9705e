import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  initialJobView,
  publishJobEvent,
  reduceJobView,
  submitJob,
  type Farm,
  type NatsConnection,
} from '../../shared/src/index.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import {
  EventRecorder,
  openTestFarm,
  spawnTestRenderer,
  testJob,
  waitUntil,
  type ChildRenderer,
} from '../support/farm-harness.js';

describe('renderer processes that die or are stopped mid-job', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let farm: Farm;
  let events: EventRecorder;
  const children: ChildRenderer[] = [];

  async function spawnReady(id: string, env: Record<string, string> = {}): Promise<ChildRenderer> {
    const child = spawnTestRenderer(server, { id, stepMs: 20, env });
    children.push(child);
    await waitUntil(
      () => child.output().includes('renderer ready'),
      20_000,
      () => child.output(),
    );
    return child;
  }

  beforeAll(async () => {
    server = await startNatsServer();
    farm = await openTestFarm(server);
    nc = farm.nc;
    events = new EventRecorder(nc);
  });
  afterAll(async () => {
    for (const c of children) c.process.kill('SIGKILL');
    events?.stop();
    await nc?.close();
    await server?.dispose();
  });

  it('finishes a job on another renderer after SIGKILL, with exactly one done and stale frames ignored', async () => {
    const [a, b] = await Promise.all([spawnReady('kill-a'), spawnReady('kill-b')]);
    const byId = new Map([a, b].map((c) => [c.id, c]));
    await submitJob(farm, testJob('job-kill', { steps: 100 }));
    const started = await events.waitFor('job-kill', 'started');
    if (started.type !== 'started') throw new Error('unexpected');
    await waitUntil(() => events.of('job-kill', 'progress').length >= 2, 5000);
    const victim = byId.get(started.rendererId)!;
    victim.process.kill('SIGKILL');
    await victim.exited;

    const done = await events.waitFor('job-kill', 'done', 20_000);
    if (done.type !== 'done') throw new Error('unexpected');
    const survivor = [a, b].find((c) => c !== victim)!;
    expect(done.rendererId).toBe(survivor.id);
    expect(done.attempt).toBe(2);

    // A late frame from the dead attempt (as a slow network would deliver it) must not show.
    const late = await server.connect('renderer');
    await publishJobEvent(
      { nc: late, js: jetstream(late) },
      {
        v: 1,
        type: 'progress',
        jobId: 'job-kill',
        at: new Date().toISOString(),
        attempt: 1,
        step: 99,
        total: 100,
        itPerSec: 1,
        frame: 'c3RhbGU=',
      },
    );
    await late.flush();
    await late.close();
    await new Promise((r) => setTimeout(r, 500));
    expect(events.of('job-kill', 'done')).toHaveLength(1);
    expect(events.of('job-kill', 'started').map((e) => (e.type === 'started' ? e.attempt : 0))).toEqual([
      1, 2,
    ]);

    let view = initialJobView('job-kill');
    const attemptsShown: number[] = [];
    for (const e of events.of('job-kill')) {
      const next = reduceJobView(view, e);
      if (next !== view && e.type === 'progress') attemptsShown.push(e.attempt);
      view = next;
    }
    expect(view.status).toBe('done');
    expect(view.result?.type === 'done' && view.result.attempt).toBe(2);
    // Once attempt 2 started, no attempt-1 frame was shown.
    const firstOfSecond = attemptsShown.indexOf(2);
    expect(firstOfSecond).toBeGreaterThanOrEqual(0);
    expect(attemptsShown.slice(firstOfSecond).every((n) => n === 2)).toBe(true);
  });

  it('hands the current job back on SIGTERM so another renderer takes it at once, and exits cleanly', async () => {
    const [c] = await Promise.all([
      // AckWait 4 s here, so a hand-back (nak) and an expired lease are far apart in time.
      spawnReady('term-c', { RENDERER_SHUTDOWN_GRACE_MS: '200', JOB_ACK_WAIT_MS: '4000' }),
      spawnReady('term-d', { JOB_ACK_WAIT_MS: '4000' }),
    ]);
    // Make sure `term-c` takes the job: pause the others until their pending pulls expire (1 s).
    const others = children.filter(
      (o) => o !== c && o.process.exitCode === null && o.process.signalCode === null,
    );
    for (const o of others) o.process.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 1300));
    await submitJob(farm, testJob('job-term', { steps: 150 }));
    const started = await events.waitFor('job-term', 'started');
    for (const o of others) o.process.kill('SIGCONT');
    expect(started.type === 'started' && started.rendererId).toBe('term-c');
    await waitUntil(() => events.of('job-term', 'progress').length >= 1, 5000);
    const sent = Date.now();
    c.process.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    await waitUntil(() => events.of('job-term', 'started').length >= 2, 10_000);
    const restartedAt = events.events.filter(
      (r) => r.event.jobId === 'job-term' && r.event.type === 'started',
    )[1]!.receivedAt;
    // Handed back (nak), not left to AckWait (4 s) expiring.
    expect(restartedAt - sent).toBeLessThan(2500);
    const done = await events.waitFor('job-term', 'done', 20_000);
    expect(done.type === 'done' && done.rendererId).not.toBe('term-c');
    expect(events.of('job-term', 'done')).toHaveLength(1);
  });
});
