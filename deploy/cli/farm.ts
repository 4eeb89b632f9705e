/**
 * `tessera farm`: renderers online (discovered through `@nats-io/services`), queue depth and jobs
 * in flight per model. `--json` prints one JSON object instead of the table.
 */
import { parseArgs } from 'node:util';
import { Svcm } from '@nats-io/services';
import {
  ConfigError,
  RendererPresence,
  connectFromConfig,
  intakeDepth,
  jobsStream,
  loadConfig,
  parseJobSubject,
  rendererServiceName,
  type Config,
  type NatsConnection,
} from '../../shared/src/index.js';
import { withLocalCredentials } from './credentials.js';

const USAGE = `usage: tessera farm [--json] [--wait MS]

Lists the renderers answering on NATS_URL (id, model, execution provider, busy/idle, recent it/s),
and per model the jobs waiting in the queue and the jobs being rendered.
tessera farm weights [ID:W,…] [--reset]: show or set fair-share server weights (scheduler).
`;

export interface FarmReport {
  renderers: RendererPresence[];
  /** `queued`: in the work queue; `intake`: waiting for the fair-share scheduler (SCHEDULER=on). */
  models: { model: string; intake: number; queued: number; inFlight: number; redelivered: number }[];
  /** Jobs taken by a renderer right now (from presence). */
  rendering: { jobId: string; rendererId: string }[];
}

export async function collectFarmReport(nc: NatsConnection, waitMs: number): Promise<FarmReport> {
  const renderers: RendererPresence[] = [];
  // @nats-io/services bundles older nats-core typings; same connection object at runtime.
  const client = new Svcm(nc as unknown as ConstructorParameters<typeof Svcm>[0]).client({
    strategy: 'timer',
    maxWait: waitMs,
  });
  try {
    for await (const stats of await client.stats(rendererServiceName())) {
      for (const endpoint of stats.endpoints ?? []) {
        const parsed = RendererPresence.safeParse(endpoint.data);
        if (parsed.success) renderers.push(parsed.data);
      }
    }
  } catch {
    // no responders: no renderer online
  }
  renderers.sort((a, b) => a.id.localeCompare(b.id));

  const models = new Map<string, FarmReport['models'][number]>();
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const jsm = await jetstreamManager(nc);
  const empty = (model: string) => ({ model, intake: 0, queued: 0, inFlight: 0, redelivered: 0 });
  for (const [model, count] of await intakeDepth(jsm)) models.set(model, { ...empty(model), intake: count });
  try {
    const info = await jsm.streams.info(jobsStream(), { subjects_filter: '>' });
    for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
      const parsed = parseJobSubject(subject);
      if (!parsed) continue;
      const row = models.get(parsed.model) ?? empty(parsed.model);
      row.queued += count;
      models.set(parsed.model, row);
    }
    for await (const consumer of jsm.consumers.list(jobsStream())) {
      const model = consumer.config.filter_subject
        ? parseJobSubject(consumer.config.filter_subject.replace(/\*$/, 'x'))?.model
        : undefined;
      if (!model) continue;
      const row = models.get(model) ?? empty(model);
      // The consumer's own counts: not yet delivered, and delivered but not acknowledged. (The
      // stream's message count can include a message whose ack was recorded by the consumer but
      // whose removal was lost when the server crashed; the consumer never delivers it again.)
      row.queued = consumer.num_pending;
      row.inFlight = consumer.num_ack_pending;
      row.redelivered = consumer.num_redelivered;
      models.set(model, row);
    }
  } catch {
    // no jobs stream yet: nothing was ever queued
  }
  for (const r of renderers) if (!models.has(r.model)) models.set(r.model, empty(r.model));
  const rendering = renderers.flatMap((r) => (r.jobId ? [{ jobId: r.jobId, rendererId: r.id }] : []));
  return {
    renderers,
    models: [...models.values()].sort((a, b) => a.model.localeCompare(b.model)),
    rendering,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatFarmReport(report: FarmReport): string {
  const lines: string[] = [];
  if (report.renderers.length === 0) lines.push('renderers: none online');
  else {
    lines.push(`renderers: ${report.renderers.length}`);
    lines.push(
      table([
        ['id', 'model', 'ep', 'state', 'job', 'it/s', 'done'],
        ...report.renderers.map((r) => [
          r.id,
          r.model,
          r.executionProvider,
          r.state,
          r.jobId ?? '-',
          r.recentItPerSec.toFixed(1),
          String(r.jobsDone),
        ]),
      ]),
    );
  }
  lines.push('');
  if (report.models.length === 0) lines.push('queue: empty (no jobs stream yet)');
  else
    lines.push(
      table([
        ['model', 'intake', 'queued', 'in flight', 'redelivered'],
        ...report.models.map((m) => [
          m.model,
          String(m.intake),
          String(m.queued),
          String(m.inFlight),
          String(m.redelivered),
        ]),
      ]),
    );
  return `${lines.join('\n')}\n`;
}

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'weights') {
    const { runWeights } = await import('../../renderer/src/scheduler/weights-cli.js');
    return runWeights(argv.slice(1), () => withLocalCredentials(loadConfig(), 'operator'));
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      wait: { type: 'string', default: '1000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: Config;
  try {
    config = withLocalCredentials(loadConfig(), 'operator');
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`tessera farm: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const nc = await connectFromConfig(config, 'tessera-farm', {
    waitOnFirstConnect: false,
    role: 'operator',
  }).catch((e: unknown) => {
    process.stderr.write(
      `tessera farm: cannot reach NATS at ${config.NATS_URL}: ${(e as Error).message} (is it running? npm start)\n`,
    );
    return undefined;
  });
  if (!nc) return 1;
  try {
    const report = await collectFarmReport(nc, Number(values.wait));
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatFarmReport(report));
    return 0;
  } finally {
    await nc.close();
  }
}
