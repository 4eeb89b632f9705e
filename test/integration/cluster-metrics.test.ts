/** A renderer with METRICS_PORT set serves its jobs, render times and the queue depth on /metrics. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bindFarm,
  jobsConsumer,
  jobsStream,
  submitJob,
  type Farm,
  type NatsConnection,
} from '../../shared/src/index.js';
import { freePort, startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { EventRecorder, openTestFarm, startTestRenderer, testJob } from '../support/farm-harness.js';

describe('renderer metrics', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let farm: Farm;
  let events: EventRecorder;
  let renderer: Awaited<ReturnType<typeof startTestRenderer>> | undefined;

  beforeAll(async () => {
    server = await startNatsServer();
    farm = await openTestFarm(server);
    nc = farm.nc;
    events = new EventRecorder(nc);
  });
  afterAll(async () => {
    await renderer?.stop({ graceMs: 0 });
    events?.stop();
    await nc?.close();
    await server?.dispose();
  });

  it('counts finished jobs and reports the jobs consumer’s depth', async () => {
    const port = await freePort();
    // Jobs queued before the renderer starts show as queue depth on the first scrape.
    for (const id of ['m-1', 'm-2', 'm-3']) await submitJob(farm, testJob(id, { steps: 4 }));
    renderer = await startTestRenderer(server, {
      id: 'metrics-r',
      stepMs: 300,
      env: { METRICS_PORT: String(port) },
    });
    expect(renderer.metricsPort).toBe(port);
    const first = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const depth = Number(first.match(/tessera_queue_depth\{consumer="([^"]+)",role="renderer"\} (\d+)/)?.[2]);
    expect(first).toContain(`consumer="${jobsConsumer('tiny-shapes')}"`);
    expect(depth).toBeGreaterThanOrEqual(2);
    expect(depth).toBeLessThanOrEqual(3);

    for (const id of ['m-1', 'm-2', 'm-3']) await events.waitFor(id, 'done', 20_000);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/tessera_jobs_total\{outcome="done",role="renderer"\} 3/);
    expect(text).toMatch(/tessera_render_seconds_count\{role="renderer"\} 3/);
    const stepsPerS = Number(text.match(/tessera_render_steps_per_second\{role="renderer"\} ([\d.]+)/)?.[1]);
    expect(stepsPerS).toBeGreaterThan(1);
    expect(stepsPerS).toBeLessThan(4);
    expect(text).toMatch(/tessera_queue_depth\{consumer="[^"]+",role="renderer"\} 0/);
  });

  it('counts a job failed by the max-deliveries advisory', async () => {
    const port = renderer!.metricsPort!;
    // The renderer is busy with a long job while a dead "renderer" (the test, with the renderer
    // credential) takes the next job JOB_MAX_DELIVER (3) times without acking: the server sends
    // the max-deliveries advisory and the running renderer fails that job.
    await submitJob(farm, testJob('m-busy', { steps: 40 }));
    await events.waitFor('m-busy', 'started', 10_000);
    await submitJob(farm, testJob('m-adv', { steps: 4 }));
    const dead = await bindFarm(await server.connect('renderer', { name: 'dead-renderer' }), farm.settings);
    try {
      const consumer = await dead.js.consumers.get(jobsStream(), jobsConsumer('tiny-shapes'));
      for (let delivery = 1; delivery <= 3; delivery++) {
        const msg = await consumer.next({ expires: 3000 });
        expect(msg?.info.deliveryCount).toBe(delivery);
      }
      // The server notices MaxDeliver when it would redeliver, i.e. while someone is pulling.
      expect(await consumer.next({ expires: 2000 })).toBeNull();
    } finally {
      await dead.nc.close();
    }
    await events.waitFor('m-adv', 'failed', 10_000);
    expect(events.of('m-busy', 'done')).toEqual([]);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/tessera_jobs_total\{outcome="failed",role="renderer"\} 1/);
  });
});
