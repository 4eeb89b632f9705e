/**
 * The farm the fair-share benchmark runs on: a fresh nats-server, renderers with the fixed-duration
 * test engine in this process, the scheduler (in this process, or none for plain FIFO), and a log of
 * every job's submit, position announcements, start and end.
 */
import {
  JobEvent,
  allEventsSubject,
  allFramesSubject,
  bindFarm,
  decodeMessage,
  farmSettingsFromConfig,
  setupFarm,
  silentLogger,
  submitJob,
  type Farm,
  type FarmRole,
  type FarmSettings,
} from '../../shared/src/index.js';
import { startScheduler, type SchedulerHandle } from '../src/scheduler/scheduler-process.js';
import type { RendererHandle } from '../src/worker/renderer-process.js';
import { startTestRenderer, testConfig, testJob } from '../../test/support/farm-harness.js';
import { startNatsServer, type NatsServerHandle } from '../../test/support/nats-server.js';

export type Mode = 'fifo' | 'fair';

/**
 * Sets the farm up as `admin` (as `tessera setup` does), then binds it as `role` with that role's
 * credential; the operator's and the scheduler's handles include the scheduler bucket.
 */
export async function setUpAndBind(
  server: NatsServerHandle,
  settings: FarmSettings,
  role: FarmRole,
): Promise<Farm> {
  const admin = await server.connect('admin', { name: 'bench-setup' });
  try {
    await setupFarm(admin, settings);
  } finally {
    await admin.close();
  }
  const schedulerBucket = role === 'operator' || role === 'scheduler';
  return bindFarm(await server.connect(role, { name: `bench-${role}` }), settings, { schedulerBucket });
}

export interface JobLog {
  jobId: string;
  server: string;
  member: string;
  submittedAt: number;
  startedAt?: number;
  endedAt?: number;
  /** Announcements with an estimated wait: when received, and the estimate. */
  etas: { at: number; etaMs: number; position: number }[];
}

export interface BenchFarm {
  readonly mode: Mode;
  readonly farm: Farm;
  readonly jobs: Map<string, JobLog>;
  readonly scheduler: SchedulerHandle | undefined;
  submit(server: string, member: string, options?: { weight?: number }): Promise<string>;
  /** Called with each job that ended (for closed-loop load). */
  onEnded(listener: (job: JobLog) => void): void;
  waitAllEnded(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

const ENV = { RENDERER_FRAME_EVERY: '1000', JOB_ACK_WAIT_MS: '5000' };

export async function startBenchFarm(options: {
  mode: Mode;
  renderers: number;
  stepMs: number;
  steps: number;
  env?: Record<string, string>;
}): Promise<BenchFarm> {
  const server: NatsServerHandle = await startNatsServer();
  const env = { ...ENV, SCHEDULER: options.mode === 'fair' ? 'on' : 'off', ...options.env };
  // The operator submits (as `tessera imagine` would) and sets weights; the scheduler has its own role.
  const farm = await setUpAndBind(server, farmSettingsFromConfig(testConfig(server, env)), 'operator');
  const { nc } = farm;
  const scheduler =
    options.mode === 'fair'
      ? await startScheduler({
          config: testConfig(server, env, 'scheduler'),
          log: silentLogger(),
          id: 'bench-scheduler',
        })
      : undefined;
  await scheduler?.leading();
  const renderers: RendererHandle[] = [];
  for (let i = 0; i < options.renderers; i++)
    renderers.push(await startTestRenderer(server, { id: `r${i}`, stepMs: options.stepMs, env }));
  const jobs = new Map<string, JobLog>();
  const listeners: ((job: JobLog) => void)[] = [];
  const record = (data: Uint8Array): void => {
    const d = decodeMessage(JobEvent, data);
    if (!d.ok) return;
    const job = jobs.get(d.value.jobId);
    if (!job) return;
    const now = Date.now();
    const e = d.value;
    if (e.type === 'queued' && e.position !== undefined && e.etaMs !== undefined)
      job.etas.push({ at: now, etaMs: e.etaMs, position: e.position });
    else if (e.type === 'started') job.startedAt ??= now;
    else if (
      (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') &&
      job.endedAt === undefined
    ) {
      job.endedAt = now;
      for (const l of listeners) l(job);
    }
  };
  const subs = [allEventsSubject(), allFramesSubject()].map((s) =>
    nc.subscribe(s, { callback: (_e, m) => record(m.data) }),
  );
  let n = 0;
  return {
    mode: options.mode,
    farm,
    jobs,
    scheduler,
    async submit(server, member, o = {}) {
      const jobId = `${server}-${member}-${n++}`;
      jobs.set(jobId, { jobId, server, member, submittedAt: Date.now(), etas: [] });
      const requester = { userId: member, guildId: server, weight: o.weight || undefined };
      await submitJob(farm, testJob(jobId, { steps: options.steps, requester }));
      return jobId;
    },
    onEnded: (l) => listeners.push(l),
    async waitAllEnded(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while ([...jobs.values()].some((j) => j.endedAt === undefined)) {
        if (Date.now() > deadline) throw new Error('bench: jobs did not finish in time');
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      listeners.length = 0;
      for (const s of subs) s.unsubscribe();
      await Promise.all(renderers.map((r) => r.stop({ graceMs: 0 })));
      await scheduler?.stop();
      await nc.close();
      await server.dispose();
    },
  };
}

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
