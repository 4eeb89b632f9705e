import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RenderJob,
  encodeMessage,
  eventSubject,
  eventsStream,
  farmSettingsFromConfig,
  getJobResult,
  jobSubject,
  jobsStream,
  publishJobEvent,
  settleJob,
  terminalEventSubject,
  type Farm,
  type NatsConnection,
} from '../../shared/src/index.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import {
  EventRecorder,
  eventually,
  spawnTestRenderer,
  startTestRenderer,
  testConfig,
  testJob,
  waitUntil,
  openTestFarm,
  type ChildRenderer,
} from '../support/farm-harness.js';

/** A 1 s duplicate window, so "after the window" is a short wait. */
const ENV = { JOB_DUPLICATE_WINDOW_MS: '1000', JOB_ACK_WAIT_MS: '1500' };

/** How many messages the events stream stores on `subject`. */
async function storedOn(farm: Farm, subject: string): Promise<number> {
  const info = await farm.jsm.streams.info(eventsStream(), { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

async function renderKeys(farm: Farm, jobId: string): Promise<string[]> {
  const list = await farm.images.list();
  return list
    .filter((o) => !o.deleted && o.name.startsWith(`renders/${jobId}/`))
    .map((o) => o.name)
    .sort();
}

describe('one terminal event per job, whatever the duplicate window', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  /** The bot's view: submits jobs, reads results, events and images. */
  let farm: Farm;
  /** A renderer's view: publishes terminal events and settles jobs. */
  let rendererFarm: Farm;
  let events: EventRecorder;
  const children: ChildRenderer[] = [];
  const stoppers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    const settings = farmSettingsFromConfig(testConfig(server, ENV));
    farm = await openTestFarm(server, settings);
    nc = farm.nc;
    rendererFarm = await openTestFarm(server, settings, 'renderer');
    events = new EventRecorder(nc);
  });
  afterAll(async () => {
    for (const c of children) c.process.kill('SIGKILL');
    for (const stop of stoppers) await stop();
    events?.stop();
    await nc?.close();
    await rendererFarm?.nc.close();
    await server?.dispose();
  });

  it('republishing a finished job after the duplicate window makes no second terminal event or result', async () => {
    const renderer = await startTestRenderer(server, { id: 'eo-r', env: ENV });
    stoppers.push(() => renderer.stop({ graceMs: 0 }));
    const job = RenderJob.parse(testJob('job-eo-republish'));
    const t0 = Date.now();
    await farm.js.publish(jobSubject(job.model, job.jobId), encodeMessage(RenderJob, job), {
      msgID: job.jobId,
    });
    await events.waitFor(job.jobId, 'done');
    const result = await farm.results.get(job.jobId);
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + 1300 - Date.now())));

    const again = await farm.js.publish(jobSubject(job.model, job.jobId), encodeMessage(RenderJob, job), {
      msgID: job.jobId,
    });
    expect(again.duplicate, 'the duplicate window has passed').toBe(false);
    // The renderer takes the redelivery, finds the result and acknowledges it.
    expect(
      await eventually(async () => (await farm.jsm.streams.info(jobsStream())).state.messages, 0, 5000),
    ).toBe(0);
    // Publishing the stored outcome (what a redelivery used to do) and settling again are refused.
    const stored = await getJobResult(farm, job.jobId);
    expect(stored?.type).toBe('done');
    expect(await publishJobEvent(rendererFarm, stored!)).toBe(false);
    const late = await settleJob(rendererFarm, {
      ...stored!,
      attempt: 9,
      at: new Date().toISOString(),
    } as never);
    expect(late.won).toBe(false);

    expect(await storedOn(farm, terminalEventSubject(job.jobId))).toBe(1);
    expect(await storedOn(farm, eventSubject(job.jobId))).toBe(1); // `started` only: nothing terminal
    expect((await farm.results.get(job.jobId))?.revision).toBe(result?.revision);
    expect(renderer.engine.renders).toBe(1);
    expect(await renderKeys(farm, job.jobId)).toEqual([`renders/${job.jobId}/attempt-1.png`]);
    await renderer.stop({ graceMs: 0 });
  });

  it('a zombie attempt that finishes after the job ended deletes its own image', async () => {
    const zombie = spawnTestRenderer(server, { id: 'eo-zombie', stepMs: 60, env: ENV });
    children.push(zombie);
    await waitUntil(
      () => zombie.output().includes('renderer ready'),
      20_000,
      () => zombie.output(),
    );
    const jobId = 'job-eo-zombie';
    await farm.js.publish(
      jobSubject('tiny-shapes', jobId),
      encodeMessage(RenderJob, RenderJob.parse(testJob(jobId, { steps: 30 }))),
      { msgID: jobId },
    );
    await events.waitFor(jobId, 'started');
    await waitUntil(() => events.of(jobId, 'progress').length >= 1, 5000);
    zombie.process.kill('SIGSTOP');
    // Past AckWait the job is redelivered to a live renderer, which finishes it.
    const live = await startTestRenderer(server, { id: 'eo-live', env: ENV });
    stoppers.push(() => live.stop({ graceMs: 0 }));
    const done = await events.waitFor(jobId, 'done', 15_000);
    expect(done.type === 'done' && done.attempt).toBe(2);
    zombie.process.kill('SIGCONT');
    await waitUntil(
      () => zombie.output().includes('deleted the image of the losing attempt'),
      15_000,
      () => zombie.output(),
    );
    expect(await renderKeys(farm, jobId)).toEqual([`renders/${jobId}/attempt-2.png`]);
    const result = await getJobResult(farm, jobId);
    expect(result?.type === 'done' && result.image.key).toBe(`renders/${jobId}/attempt-2.png`);
    expect(await storedOn(farm, terminalEventSubject(jobId))).toBe(1);
  });
});
