/**
 * `tessera renderer`: one renderer process. Builds everything from the environment (see
 * `shared/src/config.ts`): the ONNX engine for RENDERER_MODEL, the NATS connection and the farm
 * worker. Refuses to start, with a clear message, when the engine or the model bundle is missing.
 * SIGTERM / SIGINT: stop taking jobs, finish or hand back the current one, drain, exit 0.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import {
  ConfigError,
  createLogger,
  describeError,
  loadConfig,
  type Config,
  type Logger,
} from '../../shared/src/index.js';
import type { Engine } from './engine/engine.js';
import { startHealthServer, type HealthServer } from './worker/health.js';
import { startRenderer, type RendererHandle } from './worker/renderer-process.js';
import { repoRootFrom } from '../../shared/src/repo-root.js';

const repoRoot = repoRootFrom(import.meta.url);

const USAGE = `usage: tessera renderer

Runs one renderer: takes jobs for RENDERER_MODEL from NATS_URL and renders them with the
VQGAN-CLIP engine. Configured by environment variables (see the README's configuration table):
NATS_URL, RENDERER_MODEL, RENDERER_MODELS_DIR, RENDERER_EP, RENDERER_ID, LOG_LEVEL, …
`;

/** The engine could not be created: no bundle, no engine module, a broken graph … */
export class RendererStartError extends Error {
  override readonly name = 'RendererStartError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Loads the real engine (the only place that does): `createOnnxEngine` from ./engine/onnx-engine.js. */
export async function loadOnnxEngine(config: Config, log: Logger): Promise<Engine> {
  // A relative RENDERER_MODELS_DIR is looked up from the working directory, then from the
  // repository root (so `npx tessera renderer` works from anywhere in a checkout).
  const candidates = path.isAbsolute(config.RENDERER_MODELS_DIR)
    ? [config.RENDERER_MODELS_DIR]
    : [path.resolve(config.RENDERER_MODELS_DIR), path.resolve(repoRoot, config.RENDERER_MODELS_DIR)];
  let modelsDir = candidates[0]!;
  let manifest = path.join(modelsDir, config.RENDERER_MODEL, 'manifest.json');
  for (const dir of candidates) {
    const file = path.join(dir, config.RENDERER_MODEL, 'manifest.json');
    if (
      await access(file).then(
        () => true,
        () => false,
      )
    ) {
      modelsDir = dir;
      manifest = file;
      break;
    }
  }
  try {
    await access(manifest);
  } catch {
    throw new RendererStartError(
      `no model bundle for '${config.RENDERER_MODEL}': no ${path.join(config.RENDERER_MODEL, 'manifest.json')} in ${[...new Set(candidates)].join(' or ')}. ` +
        `Set RENDERER_MODELS_DIR / RENDERER_MODEL to a bundle folder (see models/BUNDLE.md for what it holds and how to build one).`,
    );
  }
  let mod: typeof import('./engine/onnx-engine.js');
  try {
    mod = await import('./engine/onnx-engine.js');
  } catch (cause) {
    throw new RendererStartError(`the VQGAN-CLIP engine could not be loaded: ${describeError(cause)}`, {
      cause,
    });
  }
  try {
    return await mod.createOnnxEngine({
      modelsDir,
      model: config.RENDERER_MODEL,
      ep: config.RENDERER_EP,
      webgpuOptions: config.RENDERER_WEBGPU_OPTIONS,
      log,
    });
  } catch (cause) {
    throw new RendererStartError(
      `the engine could not load model '${config.RENDERER_MODEL}' from ${modelsDir}: ${describeError(cause)}`,
      { cause },
    );
  }
}

/** The probe endpoint when RENDERER_HEALTH_PORT is set: ready while taking jobs over a live connection. */
async function startHealth(
  config: Config,
  renderer: RendererHandle,
  log: Logger,
): Promise<HealthServer | undefined> {
  if (config.RENDERER_HEALTH_PORT === 0) return undefined;
  const health = await startHealthServer(config.RENDERER_HEALTH_PORT, {
    notReady: () => {
      if (renderer.worker.status().state === 'stopping') return 'stopping';
      const nc = renderer.farm.nc;
      return nc.isClosed() || nc.isDraining() ? 'NATS connection closed' : undefined;
    },
  });
  log.info({ port: health.port }, 'health endpoint: /readyz, /livez');
  return health;
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`tessera renderer: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = createLogger({ level: config.LOG_LEVEL, name: 'renderer' });
  let engine: Engine;
  try {
    engine = await loadOnnxEngine(config, log);
  } catch (e) {
    log.fatal({ err: e }, 'renderer cannot start');
    process.stderr.write(`tessera renderer: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }

  let exitCode = 0;
  let wake!: () => void;
  const stopRequested = new Promise<void>((resolve) => (wake = resolve));
  let renderer;
  try {
    renderer = await startRenderer({
      config,
      engine,
      log,
      onEngineCrash: () => {
        exitCode = 1;
        wake();
      },
    });
  } catch (e) {
    // e.g. a server without JetStream, a farm nobody set up (`tessera setup`), or a model without a consumer.
    log.fatal({ err: e }, 'renderer cannot start');
    const cause = e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message})` : '';
    process.stderr.write(
      `tessera renderer: cannot set up NATS at ${config.NATS_URL}: ${describeError(e)}${cause}\n`,
    );
    await engine.close().catch(() => undefined);
    return 1;
  }
  const health = await startHealth(config, renderer, log);
  // `on`, not `once`: a second Ctrl-C while the job is handed back must not kill us half-way.
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info(
      { signal, again: signalled },
      signalled ? 'signal received again: already stopping' : 'signal received',
    );
    signalled = true;
    wake();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await Promise.race([stopRequested, renderer.closed]);
  await renderer.stop();
  await health?.close();
  await engine.close().catch((e: unknown) => log.warn({ err: e }, 'engine did not close cleanly'));
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return exitCode;
}
