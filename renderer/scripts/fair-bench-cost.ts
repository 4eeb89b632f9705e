/**
 * What the scheduler costs, measured from outside its process (/proc): CPU time per job while jobs
 * arrive at 100/s and instant workers take them, the latency it adds (intake stored → a worker has
 * it), and its resident memory with 10 000 jobs queued.
 */
import {
  RenderJob,
  SchedulerStatus,
  bindFarm,
  decodeMessage,
  encodeMessage,
  farmSettingsFromConfig,
  intakeSubject,
  jobsConsumer,
  jobsStream,
  schedulerLeaseKey,
  schedulerStatusKey,
  type Farm,
} from '../../shared/src/index.js';
import { testConfig, testJob } from '../../test/support/farm-harness.js';
import { startNatsServer } from '../../test/support/nats-server.js';
import { processUsage, spawnScheduler } from '../../test/support/scheduler-child.js';
import { quantile, setUpAndBind } from './fair-bench-farm.js';

const MODEL = 'tiny-shapes';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CostResult {
  jobsPerS: number;
  cpuMsPerJob: number;
  idleCpuMsPerS: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  rssIdleMb: number;
  rssQueuedMb: number;
  queued: number;
}

function intakeJob(jobId: string, i: number): Uint8Array {
  const job = RenderJob.parse(
    testJob(jobId, { steps: 4, requester: { userId: `m${i % 50}`, guildId: `g${i % 5}` } }),
  );
  return encodeMessage(RenderJob, job);
}

async function queuedNow(farm: Farm): Promise<number> {
  const e = await farm.scheduler.get(schedulerStatusKey(MODEL));
  const d = e?.operation === 'PUT' ? decodeMessage(SchedulerStatus, e.value) : undefined;
  return d?.ok ? d.value.queued : 0;
}

/** Instant workers: pull, note the time, ack. */
function startPullers(farm: Farm, count: number, got: Map<string, number>): { stop(): Promise<void> } {
  let running = true;
  const loops = Array.from({ length: count }, async () => {
    const consumer = await farm.js.consumers.get(jobsStream(), jobsConsumer(MODEL));
    while (running) {
      const msg = await consumer.next({ expires: 1000 }).catch((e: unknown) => {
        process.stderr.write(`pull failed: ${String(e)}\n`);
        return null;
      });
      if (!msg) {
        await sleep(5); // never spin on microtasks
        continue;
      }
      got.set(msg.subject.split('.').pop()!, Date.now());
      msg.ack();
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

export async function measureSchedulerCost(say: (line: string) => void): Promise<CostResult> {
  const server = await startNatsServer();
  const settings = farmSettingsFromConfig(testConfig(server, { SCHEDULER: 'on' }));
  // The operator submits to intake and reads the scheduler's status; the instant workers pull as renderers.
  const farm = await setUpAndBind(server, settings, 'operator');
  const workers = await bindFarm(await server.connect('renderer', { name: 'bench-workers' }), settings);
  const scheduler = spawnScheduler(server, { LOG_LEVEL: 'warn' });
  const pid = scheduler.child.pid!;
  try {
    while ((await farm.scheduler.get(schedulerLeaseKey()))?.operation !== 'PUT') await sleep(100);
    const got = new Map<string, number>();
    const pullers = startPullers(workers, 8, got);
    await sleep(2000);
    const idle0 = await processUsage(pid);
    await sleep(5000);
    const idle1 = await processUsage(pid);
    const idleCpuMsPerS = (idle1.cpuMs - idle0.cpuMs) / 5;

    const stored = new Map<string, number>();
    const rate = 100;
    const seconds = 5;
    const t0 = Date.now();
    const pubs: Promise<void>[] = [];
    for (let i = 0; i < rate * seconds; i++) {
      await sleep(t0 + (i * 1000) / rate - Date.now());
      const jobId = `cost-${i}`;
      pubs.push(
        farm.js.publish(intakeSubject(MODEL, jobId), intakeJob(jobId, i), { msgID: jobId }).then(() => {
          stored.set(jobId, Date.now());
        }),
      );
    }
    await Promise.all(pubs);
    while (got.size < rate * seconds && Date.now() - t0 < 30_000) await sleep(50);
    const busy = await processUsage(pid);
    const elapsedS = (Date.now() - t0) / 1000;
    const cpuMsPerJob = (busy.cpuMs - idle1.cpuMs - idleCpuMsPerS * elapsedS) / got.size;
    const latencies = [...got].map(([id, at]) => at - (stored.get(id) ?? at));
    await pullers.stop();

    const rssIdleMb = (await processUsage(pid)).rssBytes / 2 ** 20;
    const N = 10_000;
    for (let i = 0; i < N; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, N - i) }, (_, k) => {
          const jobId = `queued-${i + k}`;
          return farm.js.publish(intakeSubject(MODEL, jobId), intakeJob(jobId, i + k), { msgID: jobId });
        }),
      );
    }
    const deadline = Date.now() + 60_000;
    while ((await queuedNow(farm)) < N - 10 && Date.now() < deadline) await sleep(500);
    await sleep(3000); // a few announcement rounds over the full queue
    const queued = await queuedNow(farm);
    const rssQueuedMb = (await processUsage(pid)).rssBytes / 2 ** 20;
    const result: CostResult = {
      jobsPerS: rate,
      cpuMsPerJob,
      idleCpuMsPerS,
      latencyP50Ms: quantile(latencies, 0.5),
      latencyP95Ms: quantile(latencies, 0.95),
      rssIdleMb,
      rssQueuedMb,
      queued,
    };
    say('\nscheduler cost (its own process, measured from /proc)');
    say(
      `CPU per job at ${rate} jobs/s          ${cpuMsPerJob.toFixed(2)} ms   (target ≤ 5 ms; idle ${idleCpuMsPerS.toFixed(1)} ms/s not counted)`,
    );
    say(`added latency intake → worker       p50 ${result.latencyP50Ms} ms, p95 ${result.latencyP95Ms} ms`);
    say(
      `RSS idle / with ${queued} queued     ${rssIdleMb.toFixed(0)} MB / ${rssQueuedMb.toFixed(0)} MB   (target ≤ 150 MB)`,
    );
    return result;
  } finally {
    scheduler.child.kill('SIGKILL');
    await farm.nc.close();
    await workers.nc.close();
    await server.dispose();
  }
}
