import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MODEL_NOT_SERVED,
  checkModelServed,
  eventsStream,
  farmSettingsFromConfig,
  getJobResult,
  jobsStream,
  servedModels,
  submitJob,
  terminalEventSubject,
  type Farm,
  type NatsConnection,
} from '../../shared/src/index.js';
import { NatsQuotaStore } from '../../bot/src/nats/quota-store.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import {
  EventRecorder,
  eventually,
  openTestFarm,
  repoRoot,
  startTestRenderer,
  testConfig,
  testJob,
} from '../support/farm-harness.js';

/** Jobs expire after 1 s in the queue; renderers sweep every 200 ms. */
const ENV = { JOB_MAX_QUEUE_S: '1', RENDERER_SWEEP_INTERVAL_MS: '200' };

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'deploy', 'cli', 'tessera.mjs'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

describe('nothing waits forever', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let farm: Farm;
  let events: EventRecorder;
  let renderers: Awaited<ReturnType<typeof startTestRenderer>>[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    farm = await openTestFarm(server, farmSettingsFromConfig(testConfig(server, ENV)));
    nc = farm.nc;
    events = new EventRecorder(nc);
    renderers = await Promise.all(
      ['exp-1', 'exp-2'].map((id) => startTestRenderer(server, { id, stepMs: 50, env: ENV })),
    );
  });
  afterAll(async () => {
    for (const r of renderers) await r.stop({ graceMs: 0 });
    events?.stop();
    await nc?.close();
    await server?.dispose();
  });

  it('knows which models the renderers serve, and refuses any other with a readable reason', async () => {
    const served = await servedModels(nc);
    expect([...served]).toEqual(['tiny-shapes']);
    expect(checkModelServed('tiny-shapes', served).ok).toBe(true);
    const refused = checkModelServed('nobody-serves', served);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.error.identifier).toBe(MODEL_NOT_SERVED);
    expect(refused.error.message).toContain('No renderer serves the model nobody-serves');
    expect(refused.error.message).toContain('tiny-shapes');
  });

  it('`tessera imagine` refuses a model no renderer serves at once, and queues nothing', async () => {
    const started = Date.now();
    const { code, stderr } = await runCli(['imagine', 'a red circle', '--model', 'nobody-serves'], {
      ...server.env('operator'),
      LOG_LEVEL: 'silent',
    });
    expect(code, stderr).toBe(1);
    expect(stderr).toContain('No renderer serves the model nobody-serves right now (online: tiny-shapes)');
    expect(Date.now() - started).toBeLessThan(20_000); // process start (tsx) included
    expect((await farm.jsm.streams.info(jobsStream())).state.messages).toBe(0);
  });

  it('ends a job no renderer took within the maximum queue time as failed: expired, once, refunded once', async () => {
    const quotas = new NatsQuotaStore(farm.quotas);
    const rule = { limit: 10, per: 'hour' as const };
    // Two renderers busy for 2 s each; a third job waits behind them, a fourth is for nobody.
    for (const id of ['exp-a', 'exp-b', 'exp-c', 'exp-d']) {
      expect((await quotas.charge('g1', 'u1', id, rule, 10)).ok).toBe(true);
    }
    await submitJob(farm, testJob('exp-a', { steps: 40 }));
    await submitJob(farm, testJob('exp-b', { steps: 40 }));
    await submitJob(farm, testJob('exp-c'));
    await submitJob(farm, testJob('exp-d', { model: 'nobody-serves' }));

    const expired = await Promise.all(['exp-c', 'exp-d'].map((id) => events.waitFor(id, 'failed', 5000)));
    for (const e of expired) {
      expect(e.type === 'failed' && e.code).toBe('expired');
      expect(e.type === 'failed' && e.reason).toMatch(/took this job within 1 seconds/);
    }
    await Promise.all(['exp-a', 'exp-b'].map((id) => events.waitFor(id, 'done', 10_000)));
    for (const id of ['exp-a', 'exp-b', 'exp-c', 'exp-d']) {
      const subject = terminalEventSubject(id);
      const info = await farm.jsm.streams.info(eventsStream(), { subjects_filter: subject });
      expect(info.state.subjects?.[subject], id).toBe(1);
    }
    expect((await getJobResult(farm, 'exp-c'))?.type).toBe('failed');
    expect(renderers.reduce((n, r) => n + r.engine.renders, 0)).toBe(2);
    expect(await eventually(async () => (await farm.jsm.streams.info(jobsStream())).state.messages, 0)).toBe(
      0,
    );

    // The bot settles the quota on every observation of the outcome (events stream and results
    // watch): the refund happens on the first and never again.
    const refunds: boolean[] = [];
    for (const id of ['exp-c', 'exp-c', 'exp-d', 'exp-d'])
      refunds.push(await quotas.settle('g1', 'u1', id, true));
    expect(refunds).toEqual([true, false, true, false]);
    const usage = await quotas.usage('g1', 'u1');
    expect(usage.hour.jobs.sort()).toEqual(['exp-a', 'exp-b']);
  });
});
