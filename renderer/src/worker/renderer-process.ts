/**
 * Wires one renderer: NATS connection, binding to the farm (`tessera setup` made it), the worker, cancel and max-deliveries
 * listeners and presence. `main.ts` calls it with the ONNX engine; tests call it with a small
 * deterministic engine. Shutdown order: stop taking jobs → finish or hand back the current one →
 * stop presence → drain the connection.
 */
import type { Service } from '@nats-io/services';
import type { Logger } from 'pino';
import {
  bindFarm,
  connectFromConfig,
  createFarmMetrics,
  farmSettingsFromConfig,
  jobsQueueDepth,
  startMetricsServer,
  type Config,
  type Farm,
  type FarmMetrics,
  type RendererPresence,
} from '../../../shared/src/index.js';
import type { Engine } from '../engine/engine.js';
import { startCancelListener } from './cancel-listener.js';
import { startMaxDeliveriesListener } from './max-deliveries.js';
import { startPresence } from './presence.js';
import { startQueueSweeper } from './queue-sweeper.js';
import { RenderWorker } from './render-worker.js';

export const RENDERER_VERSION = '0.1.0';

export interface RendererHandle {
  readonly id: string;
  readonly farm: Farm;
  readonly worker: RenderWorker;
  readonly metrics: FarmMetrics;
  /** Port of `/metrics` (METRICS_PORT), if on. */
  readonly metricsPort: number | undefined;
  presence(): RendererPresence;
  /** Graceful stop (SIGTERM): see the module comment. Safe to call twice. */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** Resolves when the NATS connection has closed. */
  readonly closed: Promise<void>;
}

export async function startRenderer(deps: {
  config: Config;
  engine: Engine;
  log: Logger;
  /** The engine died; the caller should stop and exit non-zero so a supervisor restarts it. */
  onEngineCrash?: (e: Error) => void;
}): Promise<RendererHandle> {
  const { config, engine } = deps;
  const id = config.RENDERER_ID ?? 'renderer';
  const log = deps.log.child({ rendererId: id, model: engine.model });
  log.info({ url: config.NATS_URL }, 'connecting to NATS (waits until it is reachable)');
  const nc = await connectFromConfig(config, `renderer-${id}`, { role: 'renderer' });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect')
        log.warn({ status: s.type }, 'NATS connection status');
    }
  })();
  let farm: Farm;
  try {
    farm = await bindFarm(nc, farmSettingsFromConfig(config, [engine.model]));
  } catch (e) {
    await nc.close().catch(() => undefined);
    throw e;
  }
  const metrics = createFarmMetrics({ role: 'renderer', queueDepth: jobsQueueDepth(farm.jsm) });
  const metricsServer = await startMetricsServer(config.METRICS_PORT, metrics.registry);
  const worker = new RenderWorker({
    farm,
    metrics,
    engine,
    log,
    onEngineCrash: deps.onEngineCrash,
    settings: {
      rendererId: id,
      frameEvery: config.RENDERER_FRAME_EVERY,
      frameMinIntervalMs: config.RENDERER_FRAME_MIN_INTERVAL_MS,
      maxJobBytes: config.RENDERER_MAX_JOB_BYTES,
      retryDelayMs: config.RENDERER_RETRY_DELAY_MS,
      ackWaitMs: config.JOB_ACK_WAIT_MS,
      maxDeliver: config.JOB_MAX_DELIVER,
    },
  });
  const startedAt = new Date().toISOString();
  const presence = (): RendererPresence => {
    const s = worker.status();
    return {
      v: 1,
      id,
      model: engine.model,
      executionProvider: engine.executionProvider,
      state: s.state,
      jobId: s.jobId,
      recentItPerSec: s.recentItPerSec,
      jobsDone: s.jobsDone,
      startedAt,
    };
  };
  const cancels = startCancelListener({ farm, worker, log });
  const advisories = startMaxDeliveriesListener({ farm, model: engine.model, rendererId: id, log, metrics });
  const sweeper = startQueueSweeper({ farm, log, settings: sweeperSettings(config, engine.model, id) });
  let service: Service | undefined;
  try {
    service = await startPresence({ nc, source: { presence }, version: RENDERER_VERSION });
  } catch (e) {
    log.warn({ err: e }, 'presence not available; the renderer works but `tessera farm` will not list it');
  }
  worker.start();
  log.info(
    { executionProvider: engine.executionProvider, metricsPort: metricsServer?.port },
    'renderer ready',
  );

  let stopping: Promise<void> | undefined;
  const stop = (options: { graceMs?: number } = {}): Promise<void> => {
    stopping ??= (async () => {
      log.info('stopping: no new jobs');
      await worker.stop(options.graceMs ?? config.RENDERER_SHUTDOWN_GRACE_MS);
      cancels.stop();
      advisories.stop();
      await sweeper.stop();
      await service?.stop().catch(() => undefined);
      await nc.drain().catch(() => undefined);
      await metricsServer?.close();
      log.info('stopped');
    })();
    return stopping;
  };
  const closed = nc.closed().then(() => undefined);
  const metricsPort = metricsServer?.port;
  return { id, farm, worker, metrics, metricsPort, presence, stop, closed };
}

function sweeperSettings(config: Config, model: string, rendererId: string) {
  return {
    model,
    rendererId,
    intervalMs: config.RENDERER_SWEEP_INTERVAL_MS,
    maxQueueMs: config.JOB_MAX_QUEUE_S * 1000,
  };
}
