/**
 * The shipped permissions (`shared/src/auth.ts`) on a real nats-server: each role can do its job,
 * and what it must not do is refused by the server, not by convention (issue #12).
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { createUser } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CancelRequest,
  JobEvent,
  RenderJob,
  TerminalJobEvent,
  bindFarm,
  cancelSubject,
  connectNats,
  encodeMessage,
  ensureCredentials,
  eventSubject,
  eventsStream,
  getJobResult,
  intakeSubject,
  schedulerLeaseKey,
  serverWeightsKey,
  jobSubject,
  jobsStream,
  quotasBucket,
  renderRecordsBucket,
  submitJob,
  writeAuthConfig,
  type Farm,
  type FarmRole,
  type NatsConnection,
} from '../../shared/src/index.js';
import {
  EventRecorder,
  openTestFarm,
  repoRoot,
  startTestRenderer,
  testJob,
  type TestServer,
} from '../support/farm-harness.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import type { RendererHandle } from '../../renderer/src/worker/renderer-process.js';

/** The server's refusal as the client reports it (`Permissions Violation for Publish to …`). */
const REFUSED = /permission/i;

async function bind(server: TestServer, farm: Farm, role: FarmRole): Promise<Farm> {
  return bindFarm(await server.connect(role), farm.settings, {
    botBuckets: role === 'bot',
    schedulerBucket: role === 'scheduler' || role === 'operator',
  });
}

const doneEvent = (jobId: string): TerminalJobEvent => ({
  v: 1,
  type: 'done',
  jobId,
  at: new Date().toISOString(),
  attempt: 1,
  rendererId: 'forger',
  image: { key: `renders/${jobId}/attempt-1.png` },
  width: 32,
  height: 32,
  seed: 1,
  elapsedMs: 1,
});

/** Publishes on core NATS and reports whether a subscriber with the right to read it saw it. */
async function delivered(from: NatsConnection, to: NatsConnection, subject: string): Promise<boolean> {
  let seen = false;
  const sub = to.subscribe(subject, {
    callback: () => {
      seen = true;
    },
  });
  await to.flush();
  from.publish(subject, new TextEncoder().encode('{}'));
  await from.flush().catch(() => undefined);
  await new Promise((r) => setTimeout(r, 300));
  sub.unsubscribe();
  return seen;
}

describe('farm permissions on a real nats-server (shipped auth config)', () => {
  let server: NatsServerHandle;
  let bot: Farm;
  let renderer: Farm;
  let operator: Farm;
  let worker: RendererHandle;
  let events: EventRecorder;

  beforeAll(async () => {
    server = await startNatsServer();
    bot = await openTestFarm(server);
    renderer = await bind(server, bot, 'renderer');
    operator = await bind(server, bot, 'operator');
    worker = await startTestRenderer(server, { id: 'auth-r1', stepMs: 5 });
    events = new EventRecorder(bot.nc);
  });
  afterAll(async () => {
    events?.stop();
    await worker?.stop();
    for (const f of [bot, renderer, operator]) await f?.nc.close();
    await server?.dispose();
  });

  it('refuses a connection without credentials, or with a key the server does not list', async () => {
    await expect(connectNats({ url: server.url, name: 'anon', waitOnFirstConnect: false })).rejects.toThrow(
      /authorization/i,
    );
    const stranger = createUser().getSeed();
    await expect(
      connectNats({ url: server.url, name: 'stranger', nkeySeed: stranger, waitOnFirstConnect: false }),
    ).rejects.toThrow(/authorization/i);
  });

  it('renders a job end to end with role credentials (bot submits, renderer renders, operator reads)', async () => {
    await submitJob(bot, testJob('auth-ok'));
    const done = await events.waitFor('auth-ok', 'done', 15_000);
    expect(done.type).toBe('done');
    expect((await getJobResult(operator, 'auth-ok'))?.type).toBe('done');
    if (done.type !== 'done') throw new Error('unexpected');
    expect((await operator.images.getBlob(done.image.key))?.byteLength).toBeGreaterThan(0);
    // The operator submits too (`tessera imagine`).
    await submitJob(operator, testJob('auth-ok-cli'));
    expect((await events.waitFor('auth-ok-cli', 'done', 15_000)).type).toBe('done');
  });

  it('refuses to start a renderer for a model the admin set up no consumer for, naming the fix', async () => {
    await expect(
      startTestRenderer(server, { id: 'auth-other', env: { RENDERER_MODEL: 'other-model' } }),
    ).rejects.toThrow(/no jobs consumer for model other-model.*FARM_MODELS.*tessera setup/);
  });

  it('refuses a renderer publishing a job', async () => {
    const job = encodeMessage(RenderJob, RenderJob.parse(testJob('forged-job')));
    await expect(renderer.js.publish(jobSubject('tiny-shapes', 'forged-job'), job)).rejects.toThrow(REFUSED);
    const info = await bot.jsm.streams.info(jobsStream(), { subjects_filter: '>' });
    expect(info.state.subjects?.['tessera.jobs.tiny-shapes.forged-job']).toBeUndefined();
  });

  it('refuses a renderer publishing a cancel', async () => {
    const cancel = encodeMessage(CancelRequest, {
      v: 1,
      jobId: 'someone-elses',
      by: 'forger',
      at: new Date().toISOString(),
    });
    await expect(
      renderer.nc.request(cancelSubject('someone-elses'), cancel, { timeout: 2000 }),
    ).rejects.toThrow(REFUSED);
    // The renderer connection may listen on cancels, so it is the witness: nothing got through.
    expect(await delivered(renderer.nc, renderer.nc, cancelSubject('someone-elses'))).toBe(false);
    expect(await delivered(bot.nc, renderer.nc, cancelSubject('someone-elses'))).toBe(true);
  });

  it('refuses a renderer writing quotas, settings or render records, and reading them', async () => {
    const bytes = new TextEncoder().encode('{"used":0}');
    await expect(renderer.quotas.put('guild.user', bytes)).rejects.toThrow(REFUSED);
    await expect(renderer.guildSettings.put('guild', bytes)).rejects.toThrow(REFUSED);
    await expect(renderer.renderRecords.put('job.x', bytes)).rejects.toThrow(REFUSED);
    await expect(renderer.quotas.get('guild.user')).rejects.toThrow(REFUSED);
    await expect(operator.quotas.put('guild.user', bytes)).rejects.toThrow(REFUSED);
    // The bot owns them.
    await bot.quotas.put('guild.user', bytes);
    expect((await bot.quotas.get('guild.user'))?.string()).toBe('{"used":0}');
  });

  it('refuses a renderer (and the bot and the operator) deleting or creating a stream', async () => {
    for (const farm of [renderer, bot, operator]) {
      await expect(farm.jsm.streams.delete(jobsStream())).rejects.toThrow(REFUSED);
      await expect(farm.jsm.streams.delete(`KV_${quotasBucket()}`)).rejects.toThrow(REFUSED);
      await expect(farm.jsm.streams.add({ name: 'ROGUE', subjects: ['rogue.>'] })).rejects.toThrow(REFUSED);
    }
    expect((await bot.jsm.streams.info(jobsStream())).config.name).toBe(jobsStream());
  });

  it('refuses the bot and the operator writing a result or a lifecycle event', async () => {
    for (const [who, farm] of [
      ['bot', bot],
      ['operator', operator],
    ] as const) {
      const jobId = `forged-result-${who}`;
      await expect(
        farm.results.create(jobId, encodeMessage(TerminalJobEvent, doneEvent(jobId))),
      ).rejects.toThrow(REFUSED);
      await expect(
        farm.js.publish(eventSubject(jobId), encodeMessage(JobEvent, doneEvent(jobId))),
      ).rejects.toThrow(REFUSED);
      expect(await getJobResult(bot, jobId)).toBeUndefined();
    }
    const info = await bot.jsm.streams.info(eventsStream(), {
      subjects_filter: 'tessera.events.forged-result-*',
    });
    expect(info.state.subjects ?? {}).toEqual({});
  });

  it('refuses a renderer publishing a queued event or a job through the KV of jobs', async () => {
    await expect(
      renderer.js.publish(`tessera.events.auth-ok.queued`, new TextEncoder().encode('{}')),
    ).rejects.toThrow(REFUSED);
    await expect(renderer.jobs.put('forged', new TextEncoder().encode('{}'))).rejects.toThrow(REFUSED);
  });

  it('keeps intake to submitters and the lease to the scheduler (operator: weights only)', async () => {
    const scheduler = await bind(server, bot, 'scheduler');
    try {
      const job = encodeMessage(RenderJob, RenderJob.parse(testJob('forged-intake')));
      const intake = intakeSubject('tiny-shapes', 'forged-intake');
      await expect(renderer.js.publish(intake, job)).rejects.toThrow(REFUSED);
      await expect(scheduler.js.publish(intake, job)).rejects.toThrow(REFUSED);
      const lease = new TextEncoder().encode('{}');
      await expect(bot.scheduler.put(schedulerLeaseKey(), lease)).rejects.toThrow(REFUSED);
      await expect(operator.scheduler.put(schedulerLeaseKey(), lease)).rejects.toThrow(REFUSED);
      await expect(renderer.scheduler.put(schedulerLeaseKey(), lease)).rejects.toThrow(REFUSED);
      // What each may do there: the operator sets weights, the scheduler holds its lease.
      await operator.scheduler.put(serverWeightsKey(), new TextEncoder().encode('{}'));
      await scheduler.scheduler.put(schedulerLeaseKey(), lease);
      await scheduler.scheduler.delete(schedulerLeaseKey());
      // The scheduler is farm-side but no submitter and not the bot: no queued events, no quotas.
      await expect(scheduler.quotas.put('guild.user', lease)).rejects.toThrow(REFUSED);
      await expect(
        scheduler.js.publish(
          eventSubject('forged-intake'),
          encodeMessage(JobEvent, doneEvent('forged-intake')),
        ),
      ).rejects.toThrow(REFUSED);
    } finally {
      await scheduler.nc.close();
    }
  });

  it("keeps the bot's records (which hold interaction tokens) away from the renderer and the operator", async () => {
    for (const farm of [renderer, operator]) {
      await expect(farm.renderRecords.get('job.auth-ok')).rejects.toThrow(REFUSED);
      await expect(farm.jsm.streams.info(`KV_${renderRecordsBucket()}`)).rejects.toThrow(REFUSED);
    }
  });
  // No Discord token on the farm: the bot keeps the interaction token in memory only; the e2e
  // test 'keeps the interaction token in the bot' (test/e2e/bot-imagine.test.ts) scans the job
  // bytes and the render record after a real /imagine.
});

describe('the shipped deploy configuration', () => {
  it('is valid for nats-server with the generated auth file, and refuses to start without it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-deploy-conf-'));
    try {
      const conf = path.join(dir, 'nats-server.conf');
      await copyFile(path.join(repoRoot, 'deploy', 'nats', 'nats-server.conf'), conf);
      const check = () => spawnSync('nats-server', ['-c', conf, '-t'], { encoding: 'utf8' });
      expect(check().status).not.toBe(0);
      await writeAuthConfig(path.join(dir, 'auth.conf'), await ensureCredentials(path.join(dir, 'creds')));
      const ok = check();
      expect(ok.status, ok.stderr).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('farm permissions: jetstream handles of other roles', () => {
  it('names the roles a test server hands out', async () => {
    const server = await startNatsServer();
    try {
      expect(Object.keys(server.credentials ?? {}).sort()).toEqual([
        'admin',
        'bot',
        'operator',
        'renderer',
        'scheduler',
      ]);
      const nc = await server.connect('admin');
      // Admin manages streams but is not a submitter: no job publish.
      await expect(
        jetstream(nc).publish(jobSubject('tiny-shapes', 'admin-job'), new TextEncoder().encode('{}')),
      ).rejects.toThrow(REFUSED);
      await nc.close();
    } finally {
      await server.dispose();
    }
  });
});
