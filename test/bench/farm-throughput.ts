/**
 * `npm run bench:farm`: farm throughput and memory with the fixed-duration test engine (so this
 * machine's CPU is not what limits it). Starts its own nats-server (with the shipped auth: the bench plays the bot, renderers the renderer).
 *
 * 1. Throughput: N = 1, 2, 4, 8 renderers (the real worker wiring, in this process) each take
 *    jobs of D ms (4 steps of D/4); jobs/min for each N and the ratio to N × the 1-renderer rate.
 * 2. Backlog: 10 000 jobs queued through the shared job client while the bot's job feed (its
 *    durable events consumer) reads every `queued` event; heap and RSS of this process (job
 *    client + job feed) before, after submitting and after the feed caught up; then a renderer
 *    process drains the backlog for a while and its RSS and heap are sampled from its /metrics.
 *
 *   npm run bench:farm -- [--part throughput|backlog|all] [--job-ms 200] [--jobs-per-renderer 40]
 *                         [--backlog 10000] [--drain-s 40]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  farmSettingsFromConfig,
  jobsConsumer,
  jobsStream,
  silentLogger,
  submitJob,
} from '../../shared/src/index.js';
import type { Farm, JobEvent } from '../../shared/src/index.js';
import { startJobFeed } from '../../bot/src/nats/job-feed.js';
import {
  EventRecorder,
  openTestFarm,
  spawnTestRenderer,
  startTestRenderer,
  testConfig,
  testJob,
  waitUntil,
  type TestServer,
} from '../support/farm-harness.js';
import { freePort, startNatsServer } from '../support/nats-server.js';

const { values: args } = parseArgs({
  options: {
    part: { type: 'string', default: 'all' },
    'job-ms': { type: 'string', default: '200' },
    'jobs-per-renderer': { type: 'string', default: '40' },
    backlog: { type: 'string', default: '10000' },
    'drain-s': { type: 'string', default: '40' },
  },
});
const JOB_MS = Number(args['job-ms']);
const STEPS = 4;
const ENV = { JOB_ACK_WAIT_MS: '30000', RENDERER_FRAME_EVERY: '2', RENDERER_FRAME_MIN_INTERVAL_MS: '50' };
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Jobs queued first, then N renderers started together; timed from the first start to the last done. */
async function timeBatch(
  server: TestServer,
  farm: Farm,
  events: EventRecorder,
  n: number,
  ids: string[],
): Promise<{ ms: number; cpuMs: number; redelivered: number }> {
  for (const id of ids) await submitJob(farm, testJob(id, { steps: STEPS }));
  const cpu0 = process.cpuUsage();
  const renderers = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      startTestRenderer(server, { id: `tp-${n}-${i}`, stepMs: JOB_MS / STEPS, env: ENV }),
    ),
  );
  const pending = new Set(ids);
  await waitUntil(
    () => {
      for (const id of pending) if (events.first(id, 'done')) pending.delete(id);
      return pending.size === 0;
    },
    600_000,
    () => `${pending.size} jobs not done`,
  );
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(renderers.map((r) => r.stop({ graceMs: 0 })));
  const first = Math.min(...ids.map((id) => events.first(id, 'started')!.receivedAt));
  const last = Math.max(...ids.map((id) => events.first(id, 'done')!.receivedAt));
  const redelivered = ids.filter((id) => events.of(id, 'started').length > 1).length;
  return { ms: last - first, cpuMs: (cpu.user + cpu.system) / 1000, redelivered };
}

async function throughput(server: TestServer, farm: Farm, events: EventRecorder): Promise<void> {
  const perRenderer = Number(args['jobs-per-renderer']);
  out(
    `throughput: job = ${STEPS} steps × ${JOB_MS / STEPS} ms = ${JOB_MS} ms, ${perRenderer} jobs per renderer`,
  );
  out(
    '| renderers | jobs | seconds | jobs/min | ideal (N × 60/D) | ratio to N × 1-renderer rate | CPU ms/job | redelivered |',
  );
  out('|---|---|---|---|---|---|---|---|');
  let single = 0;
  for (const n of [1, 2, 4, 8]) {
    const ids = Array.from({ length: perRenderer * n }, (_, i) => `tp-${n}-${i}`);
    const { ms, cpuMs, redelivered } = await timeBatch(server, farm, events, n, ids);
    const rate = (ids.length / ms) * 60_000;
    if (n === 1) single = rate;
    const cells = [
      n,
      ids.length,
      (ms / 1000).toFixed(2),
      rate.toFixed(0),
      ((n * 60_000) / JOB_MS).toFixed(0),
    ];
    cells.push((rate / (n * single)).toFixed(3), (cpuMs / ids.length).toFixed(1), redelivered);
    out(`| ${cells.join(' | ')} |`);
  }
  out(
    `(load average at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${os.cpus().length} cores)`,
  );
}

function heap(label: string): void {
  globalThis.gc?.();
  const m = process.memoryUsage();
  out(`  ${label}: rss ${mib(m.rss)}, heap used ${mib(m.heapUsed)}, external ${mib(m.external)}`);
}

/** The bot's job feed (durable events consumer, results watch) with a handler that only counts. */
async function startCountingFeed(farm: Farm): Promise<{ seen: () => number; stop: () => Promise<void> }> {
  let queued = 0;
  const feed = await startJobFeed({
    farm,
    log: silentLogger(),
    consumerName: 'bench-feed',
    handler: {
      onEvent: async (e: JobEvent) => void (e.type === 'queued' && (queued += 1)),
      onProgress: () => undefined,
    },
  });
  return { seen: () => queued, stop: () => feed.stop() };
}

async function scrapeMemory(port: number): Promise<{ rss: number; heap: number } | undefined> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`)
    .then((r) => r.text())
    .catch(() => undefined);
  if (!text) return undefined;
  const read = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)`, 'm').exec(text)?.[1]);
  return { rss: read('process_resident_memory_bytes'), heap: read('nodejs_heap_size_used_bytes') };
}

async function backlog(server: TestServer, farm: Farm, events: EventRecorder): Promise<void> {
  const total = Number(args.backlog);
  out(`\nbacklog: ${total} jobs queued, no renderer running`);
  events.stop();
  const feed = await startCountingFeed(farm);
  heap('this process (job client + bot job feed) before');
  const t0 = Date.now();
  for (let i = 0; i < total; i++) {
    await submitJob(farm, testJob(`bl-${i}`, { steps: 1 }));
    if ((i + 1) % 2500 === 0) heap(`after ${i + 1} submitted (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  await waitUntil(
    () => feed.seen() >= total,
    120_000,
    () => `feed saw ${feed.seen()}`,
  );
  heap(`feed read all ${feed.seen()} queued events`);
  const info = await farm.jsm.consumers.info(jobsStream(), jobsConsumer('tiny-shapes'));
  out(`  queue depth (num_pending + num_ack_pending): ${info.num_pending + info.num_ack_pending}`);

  await drainInChild(server, farm);
  await drainInProcess(server, farm);
  await feed.stop();
  heap('this process after the feed stopped');
}

const queueLeft = async (farm: Farm): Promise<number> => {
  const info = await farm.jsm.consumers.info(jobsStream(), jobsConsumer('tiny-shapes'));
  return info.num_pending + info.num_ack_pending;
};

/** A renderer process drains the backlog; its RSS and heap (not collected first) from its /metrics. */
async function drainInChild(server: TestServer, farm: Farm): Promise<void> {
  const port = await freePort();
  const child = spawnTestRenderer(server, {
    id: 'bl-renderer',
    stepMs: 10,
    env: { ...ENV, LOG_LEVEL: 'warn', METRICS_PORT: String(port) },
  });
  const deadline = Date.now() + 30_000;
  while (!(await scrapeMemory(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  out(`  renderer process, ${args['drain-s']} s draining (1-step jobs of 10 ms), from its /metrics:`);
  const rss: number[] = [];
  for (let s = 0; s <= Number(args['drain-s']); s += 10) {
    const m = await scrapeMemory(port);
    if (m) rss.push(m.rss);
    if (m) out(`    +${s}s: rss ${mib(m.rss)}, heap used ${mib(m.heap)}, queue ${await queueLeft(farm)}`);
    await new Promise((r) => setTimeout(r, 10_000));
  }
  out(`  renderer process rss min ${mib(Math.min(...rss))}, max ${mib(Math.max(...rss))}`);
  child.process.kill('SIGTERM');
  await child.exited;
}

/** A renderer in this process drains on; heap after a full collection every 10 s. */
async function drainInProcess(server: TestServer, farm: Farm): Promise<void> {
  out(`  renderer in this process, ${args['drain-s']} s draining, heap after gc():`);
  const renderer = await startTestRenderer(server, { id: 'bl-inproc', stepMs: 10, env: ENV });
  for (let s = 0; s <= Number(args['drain-s']); s += 10) {
    heap(`+${s}s (queue ${await queueLeft(farm)}, jobs done here ${renderer.worker.status().jobsDone})`);
    await new Promise((r) => setTimeout(r, 10_000));
  }
  await renderer.stop({ graceMs: 0 });
}

async function main(): Promise<void> {
  const server = await startNatsServer();
  let farm: Farm | undefined;
  try {
    // The admin step, then the bot's credential: it submits jobs and runs the job feed.
    farm = await openTestFarm(server, farmSettingsFromConfig(testConfig(server, ENV)));
    const events = new EventRecorder(farm.nc);
    if (args.part !== 'backlog') await throughput(server, farm, events);
    if (args.part !== 'throughput') await backlog(server, farm, events);
    events.stop();
  } finally {
    await farm?.nc.close();
    await server.dispose();
  }
}

await main();
