/**
 * Prometheus metrics of a bot or renderer (prom-client), one registry per process part, and the
 * HTTP `/metrics` endpoint on `METRICS_PORT` (0: off). Names:
 * - `tessera_jobs_total{outcome}`: jobs this renderer settled (done | failed | cancelled).
 * - `tessera_render_seconds`: render time of finished jobs (histogram).
 * - `tessera_render_steps_per_second`: steps per second of the last finished job.
 * - `tessera_queue_depth{consumer}`: the whole backlog of each jobs consumer's model, asked of NATS
 *   at scrape time: `num_pending + num_ack_pending` (what KEDA's nats-jetstream scaler reads) plus
 *   the model's jobs still in intake, waiting for the fair-share scheduler (SCHEDULER=on).
 * - `tessera_discord_edits_total`, `tessera_discord_rate_limited_total`: the bot's message edits
 *   and 429 answers from Discord.
 * Plus prom-client's process metrics (`process_resident_memory_bytes`, `nodejs_heap_*`, …).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JetStreamManager } from '@nats-io/jetstream';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TerminalJobEvent } from './contracts.js';
import { intakeStream, jobsStream, parseIntakeSubject, parseJobSubject } from './subjects.js';

export interface FarmMetrics {
  readonly registry: Registry;
  readonly jobs: Counter<'outcome'>;
  readonly renderSeconds: Histogram;
  readonly stepsPerSecond: Gauge;
  readonly queueDepth: Gauge<'consumer'>;
  readonly discordEdits: Counter;
  readonly discordRateLimited: Counter;
  /** Counts a job this process settled (the one place renderers count outcomes). */
  recordSettled(event: TerminalJobEvent): void;
  /** Counts one answer from Discord's REST API (the bot's `client.rest.on('response')`). */
  recordDiscordResponse(request: { method: string; path: string }, status: number): void;
}

/** Where queue depth comes from: the jobs stream's consumers, asked at scrape time. */
export type QueueDepthSource = () => Promise<{ consumer: string; depth: number }[]>;

/** Jobs per model in the intake stream (none when it does not exist: no scheduler ever ran). */
export async function intakeDepth(jsm: JetStreamManager): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const info = await jsm.streams.info(intakeStream(), { subjects_filter: '>' }).catch(() => undefined);
  for (const [subject, count] of Object.entries(info?.state.subjects ?? {})) {
    const model = parseIntakeSubject(subject)?.model;
    if (model !== undefined) out.set(model, (out.get(model) ?? 0) + count);
  }
  return out;
}

/**
 * The backlog of every consumer of the jobs stream: `num_pending + num_ack_pending`, plus the jobs
 * of its model still in intake, so autoscaling sees what waits for the scheduler too.
 */
export function jobsQueueDepth(jsm: JetStreamManager): QueueDepthSource {
  return async () => {
    const intake = await intakeDepth(jsm);
    const out: { consumer: string; depth: number }[] = [];
    for await (const c of jsm.consumers.list(jobsStream())) {
      const filter = c.config.filter_subject;
      // The filter is `tessera.jobs.<model>.*`: parse it as the subject of one job.
      const model = filter ? parseJobSubject(filter.replace(/\*$/, 'x'))?.model : undefined;
      const waiting = model === undefined ? 0 : (intake.get(model) ?? 0);
      out.push({ consumer: c.name, depth: c.num_pending + c.num_ack_pending + waiting });
    }
    return out;
  };
}

export function createFarmMetrics(
  options: { role: 'bot' | 'renderer'; queueDepth?: QueueDepthSource; processMetrics?: boolean } = {
    role: 'renderer',
  },
): FarmMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ role: options.role });
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const jobs = new Counter({
    name: 'tessera_jobs_total',
    help: 'Jobs settled by this process, by outcome.',
    labelNames: ['outcome'] as const,
    registers,
  });
  const renderSeconds = new Histogram({
    name: 'tessera_render_seconds',
    help: 'Render time of finished jobs.',
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers,
  });
  const stepsPerSecond = new Gauge({
    name: 'tessera_render_steps_per_second',
    help: 'Steps per second of the last finished job.',
    registers,
  });
  const source = options.queueDepth;
  const queueDepth = new Gauge({
    name: 'tessera_queue_depth',
    help: "Backlog per jobs consumer: num_pending + num_ack_pending + its model's jobs in intake.",
    labelNames: ['consumer'] as const,
    registers,
    async collect() {
      if (!source) return;
      this.reset();
      // NATS unreachable: leave the gauge empty rather than fail the whole scrape.
      const depths = await source().catch(() => []);
      for (const d of depths) this.set({ consumer: d.consumer }, d.depth);
    },
  });
  const discordEdits = new Counter({
    name: 'tessera_discord_edits_total',
    help: 'Message edits sent to Discord (PATCH of a message or an interaction reply).',
    registers,
  });
  const discordRateLimited = new Counter({
    name: 'tessera_discord_rate_limited_total',
    help: 'Discord REST answers with status 429.',
    registers,
  });
  return {
    registry,
    jobs,
    renderSeconds,
    stepsPerSecond,
    queueDepth,
    discordEdits,
    discordRateLimited,
    recordSettled(event) {
      jobs.inc({ outcome: event.type });
      if (event.type !== 'done' || !(event.elapsedMs > 0)) return;
      renderSeconds.observe(event.elapsedMs / 1000);
      if (event.steps !== undefined) stepsPerSecond.set(event.steps / (event.elapsedMs / 1000));
    },
    recordDiscordResponse(request, status) {
      if (status === 429) discordRateLimited.inc();
      if (request.method.toUpperCase() === 'PATCH' && /\/messages\//.test(request.path)) discordEdits.inc();
    },
  };
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` on `port` (all interfaces). `port` 0 means off: resolves to undefined. */
export async function startMetricsServer(
  port: number,
  registry: Registry,
  options: { host?: string } = {},
): Promise<MetricsServer | undefined> {
  if (port === 0) return undefined;
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found: GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: unknown) => res.writeHead(500).end(`metrics failed: ${String(e)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
