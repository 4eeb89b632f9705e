import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeMessage,
  getJobResult,
  jobSubject,
  jobsStream,
  requestCancel,
  submitJob,
  RenderJob,
  type Farm,
  type NatsConnection,
} from '../../shared/src/index.js';
import { collectFarmReport } from '../../deploy/cli/farm.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import {
  EventRecorder,
  eventually,
  startTestRenderer,
  openTestFarm,
  testJob,
} from '../support/farm-harness.js';

describe('renderer worker on a real nats-server', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let farm: Farm;
  let events: EventRecorder;
  let renderer: Awaited<ReturnType<typeof startTestRenderer>>;

  beforeAll(async () => {
    server = await startNatsServer();
    farm = await openTestFarm(server);
    nc = farm.nc;
    events = new EventRecorder(nc);
    renderer = await startTestRenderer(server, { id: 'r1', stepMs: 10 });
  });
  afterAll(async () => {
    await renderer?.stop({ graceMs: 0 });
    events?.stop();
    await nc?.close();
    await server?.dispose();
  });

  async function queueDepth(): Promise<number> {
    return (await farm.jsm.streams.info(jobsStream())).state.messages;
  }

  it('takes a job from the queue, streams throttled progress with frames, stores the image and says done', async () => {
    await submitJob(farm, testJob('job-basic', { steps: 12 }));
    const done = await events.waitFor('job-basic', 'done');
    const types = events.of('job-basic').map((e) => e.type);
    expect(types[0]).toBe('queued');
    expect(types).toContain('started');
    const progress = events.of('job-basic', 'progress');
    // RENDERER_FRAME_EVERY=2 ⇒ at most 6 progress events for 12 steps; frames are WebP.
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.length).toBeLessThanOrEqual(6);
    const withFrame = progress.find((e) => e.type === 'progress' && e.frame);
    expect(
      withFrame &&
        withFrame.type === 'progress' &&
        Buffer.from(withFrame.frame!, 'base64').subarray(8, 12).toString(),
    ).toBe('WEBP');
    if (done.type !== 'done') throw new Error('not done');
    expect(done.attempt).toBe(1);
    expect(done.rendererId).toBe('r1');
    const png = await farm.images.getBlob(done.image.key);
    expect(png && Buffer.from(png).subarray(1, 4).toString()).toBe('PNG');
    expect((await getJobResult(farm, 'job-basic'))?.type).toBe('done');
    expect(await eventually(queueDepth, 0)).toBe(0);
  });

  it('renders a job published twice with the same message id once', async () => {
    const first = await submitJob(farm, testJob('job-twice'));
    const again = await farm.js.publish(
      jobSubject('tiny-shapes', 'job-twice'),
      encodeMessage(RenderJob, first.job),
      { msgID: 'job-twice' },
    );
    expect(again.duplicate).toBe(true);
    await events.waitFor('job-twice', 'done');
    await new Promise((r) => setTimeout(r, 300));
    expect(events.of('job-twice', 'started')).toHaveLength(1);
    expect(events.of('job-twice', 'done')).toHaveLength(1);
  });

  it.each([
    [
      'malformed JSON',
      'bad-json',
      new TextEncoder().encode('{"v":1, "jobId": "bad-json", '),
      'malformed-json',
    ],
    [
      'a wrong schema version',
      'bad-version',
      new TextEncoder().encode(JSON.stringify({ ...testJob('bad-version'), v: 2 })),
      'unsupported-version',
    ],
    [
      'missing fields',
      'bad-fields',
      new TextEncoder().encode(JSON.stringify({ v: 1, jobId: 'bad-fields', model: 'tiny-shapes' })),
      'invalid-job',
    ],
    [
      'a body whose job id differs from its subject',
      'bad-id',
      new TextEncoder().encode(JSON.stringify(testJob('someone-else'))),
      'invalid-job',
    ],
    [
      'an over-size payload',
      'bad-size',
      new TextEncoder().encode(
        JSON.stringify({
          ...testJob('bad-size'),
          promptText: 'x'.repeat(1000),
          padding: 'y'.repeat(100_000),
        }),
      ),
      'job-too-large',
    ],
  ])('fails %s with a reason and keeps serving the next job', async (_what, jobId, payload, code) => {
    await farm.js.publish(jobSubject('tiny-shapes', jobId), payload, { msgID: jobId });
    await submitJob(farm, testJob(`${jobId}-next`));
    const failed = await events.waitFor(jobId, 'failed');
    if (failed.type !== 'failed') throw new Error('not failed');
    expect(failed.code).toBe(code);
    expect(failed.reason.length).toBeGreaterThan(10);
    await events.waitFor(`${jobId}-next`, 'done');
    expect(await eventually(queueDepth, 0)).toBe(0);
  });

  it('fails bad input (EngineInputError) at once, without retries', async () => {
    await submitJob(farm, testJob('job-gibberish', { prompts: [{ text: 'gibberish words' }] }));
    const failed = await events.waitFor('job-gibberish', 'failed');
    if (failed.type !== 'failed') throw new Error('not failed');
    expect(failed.code).toBe('bad-input');
    expect(failed.identifier).toBe('unknown-words');
    expect(events.of('job-gibberish', 'started')).toHaveLength(1);
  });

  it('ends a job that fails on every delivery with exactly one failed event', async () => {
    await submitJob(farm, testJob('job-explode', { prompts: [{ text: 'explode please' }] }));
    const failed = await events.waitFor('job-explode', 'failed', 15_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(events.of('job-explode', 'failed')).toHaveLength(1);
    if (failed.type !== 'failed') throw new Error('not failed');
    expect(failed.code).toBe('max-deliveries');
    expect(failed.reason).toContain('exploded');
    expect(events.of('job-explode', 'started').map((e) => (e.type === 'started' ? e.attempt : 0))).toEqual([
      1, 2, 3,
    ]);
    expect(await eventually(queueDepth, 0)).toBe(0);
  });

  it('cancels a running job within a second', async () => {
    await submitJob(farm, testJob('job-cancel-running', { steps: 500 }));
    await events.waitFor('job-cancel-running', 'progress');
    const asked = Date.now();
    const outcome = await requestCancel(farm, { jobId: 'job-cancel-running', by: 'user-1' });
    expect(['cancelling', 'cancelled']).toContain(outcome.status);
    await events.waitFor('job-cancel-running', 'cancelled', 2000);
    expect(events.first('job-cancel-running', 'cancelled')!.receivedAt - asked).toBeLessThan(1000);
    expect(events.of('job-cancel-running', 'done')).toHaveLength(0);
    // `cancelled` is published before the worker finishes settling the message; then it is idle.
    expect(await eventually(async () => renderer.worker.status().state, 'idle', 1000)).toBe('idle');
  });

  it('cancels a queued job before any renderer takes it', async () => {
    await submitJob(farm, testJob('job-blocker', { steps: 60 }));
    await events.waitFor('job-blocker', 'started');
    await submitJob(farm, testJob('job-cancel-queued'));
    const outcome = await requestCancel(farm, { jobId: 'job-cancel-queued', by: 'user-1' });
    expect(outcome.status).toBe('cancelled');
    await events.waitFor('job-cancel-queued', 'cancelled', 1000);
    await events.waitFor('job-blocker', 'done');
    await new Promise((r) => setTimeout(r, 200));
    expect(events.of('job-cancel-queued', 'started')).toHaveLength(0);
    expect(await eventually(queueDepth, 0)).toBe(0);
  });

  it('is discoverable with its model, execution provider, state and the job it renders', async () => {
    await submitJob(farm, testJob('job-presence', { steps: 1000 }));
    await events.waitFor('job-presence', 'progress');
    const busy = await collectFarmReport(nc, 500);
    expect(busy.renderers).toHaveLength(1);
    expect(busy.renderers[0]).toMatchObject({
      id: 'r1',
      model: 'tiny-shapes',
      executionProvider: 'test',
      state: 'busy',
      jobId: 'job-presence',
    });
    expect(busy.renderers[0]!.recentItPerSec).toBeGreaterThan(0);
    expect(busy.models).toEqual([
      { model: 'tiny-shapes', intake: 0, queued: 0, inFlight: 1, redelivered: 0 },
    ]);
    await submitJob(farm, testJob('job-presence-2', { steps: 2 }));
    const queued = await collectFarmReport(nc, 300);
    expect(queued.models[0]).toMatchObject({ queued: 1, inFlight: 1 });
    await requestCancel(farm, { jobId: 'job-presence', by: 'user-1' });
    await events.waitFor('job-presence-2', 'done');
    const idle = async () => {
      const r = await collectFarmReport(nc, 300);
      return JSON.stringify([r.renderers[0]?.state, r.models[0]?.queued, r.models[0]?.inFlight]);
    };
    expect(await eventually(idle, JSON.stringify(['idle', 0, 0]))).toBe(JSON.stringify(['idle', 0, 0]));
  });
});
