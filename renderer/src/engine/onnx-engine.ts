/**
 * `OnnxEngine`: the real `Engine`. The graphs live in a worker thread (engine-worker.ts); this
 * side forwards renders, progress and cancellation, so the caller's event loop stays free for
 * NATS heartbeats and Discord edits while a render runs.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { WebGpuOptions } from '../../../shared/src/webgpu-options.js';
import type { ExecutionProviderChoice } from '../onnx/onnx-runtime.js';
import { ModelBundleError, type BundleManifest } from './bundle.js';
import {
  EngineInputError,
  type Engine,
  type RenderProgress,
  type RenderRequest,
  type RenderResult,
} from './engine.js';
import { abortError } from './render-loop.js';
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from './worker-protocol.js';

export interface OnnxEngineOptions {
  /** Folder holding model bundles (`<modelsDir>/<model>/manifest.json`). */
  modelsDir: string;
  model: string;
  ep: ExecutionProviderChoice;
  log: Logger;
  /** CPU threads per operator (default 2). Fixed, because results depend on it. */
  intraOpNumThreads?: number;
  /** WebGPU provider options (RENDERER_WEBGPU_OPTIONS). */
  webgpuOptions?: WebGpuOptions;
  /** Starts the worker thread (tests wrap it to observe or kill the worker). */
  spawnWorker?: (init: WorkerInit) => Worker;
}

/** The worker died or misbehaved: a retry on a fresh engine may work. */
export class EngineCrashedError extends Error {
  override readonly name = 'EngineCrashedError';
  constructor(
    message: string,
    readonly model: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function rebuildError(e: SerializedError, model: string): Error {
  if (e.name === 'AbortError') return abortError();
  if (e.name === 'EngineInputError') return new EngineInputError(e.message, e.identifier ?? 'bad-request');
  if (e.name === 'ModelBundleError') return new ModelBundleError(e.message, e.model ?? model, e.file);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/**
 * Spawns the worker. From TypeScript sources (tsx, vitest) the worker's entry is a .ts file, and
 * Node 20 does not apply an `--import tsx` loader to a worker's entry module, so a tiny bootstrap
 * registers tsx's ESM hooks inside the worker first and then imports the entry.
 */
export function spawnWorker(init: WorkerInit): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./engine-worker.js', import.meta.url), { workerData: init });
  const entry = new URL('./engine-worker.ts', import.meta.url).href;
  const tsxDir = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(path.join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: init, execArgv: [] });
}

interface Pending {
  id: number;
  resolve(r: RenderResult): void;
  reject(e: unknown): void;
  onProgress?: ((p: RenderProgress) => void) | undefined;
}

type Ready = Extract<FromWorker, { type: 'ready' }>;

/** Starts a worker and waits until its graphs are loaded; on failure the worker is gone. */
async function startWorker(
  spawn: (init: WorkerInit) => Worker,
  init: WorkerInit,
  log: Logger,
): Promise<{ worker: Worker; ready: Ready }> {
  const worker = spawn(init);
  // Only our own listeners come off afterwards: Worker keeps internal ones (port ref-counting).
  let detach = (): void => {};
  const ready = await new Promise<Ready>((resolve, reject) => {
    const onMessage = (m: FromWorker): void => {
      if (m.type === 'ready') resolve(m);
      else if (m.type === 'init-error') reject(rebuildError(m.error, init.model));
      else if (m.type === 'log') log[m.level](m.fields ?? {}, m.msg);
    };
    const onError = (err: Error): void =>
      reject(
        new EngineCrashedError(`engine worker failed to start: ${err.message}`, init.model, { cause: err }),
      );
    const onExit = (code: number): void =>
      reject(new EngineCrashedError(`engine worker exited while loading (code ${code})`, init.model));
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    detach = () => void worker.off('message', onMessage).off('error', onError).off('exit', onExit);
  })
    .catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    })
    .finally(() => detach());
  return { worker, ready };
}

export class OnnxEngine implements Engine {
  /** Undefined after a crash: the next render starts a fresh worker. */
  #worker: Worker | undefined;
  readonly #init: WorkerInit;
  readonly #spawn: (init: WorkerInit) => Worker;
  readonly #cancel: Int32Array;
  readonly #log: Logger;
  #pending: Pending | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  #closed = false;
  #onExit: (() => void) | undefined;

  private constructor(
    readonly model: string,
    readonly executionProvider: string,
    /** Why that provider (e.g. which ones were tried first and why they failed). */
    readonly executionProviderReason: string,
    /** The bundle's manifest (sizes, defaults) for callers that fill in requests. */
    readonly manifest: BundleManifest,
    worker: Worker,
    init: WorkerInit,
    spawn: (init: WorkerInit) => Worker,
    log: Logger,
  ) {
    this.#init = init;
    this.#spawn = spawn;
    this.#cancel = new Int32Array(init.cancel);
    this.#log = log;
    this.#adopt(worker);
  }

  /** Loads the model in a worker thread; resolves once its graphs are ready. */
  static async create(o: OnnxEngineOptions): Promise<OnnxEngine> {
    const log = o.log.child({ model: o.model });
    const init: WorkerInit = {
      modelsDir: o.modelsDir,
      model: o.model,
      ep: o.ep,
      intraOpNumThreads: o.intraOpNumThreads ?? 2,
      webgpuOptions: o.webgpuOptions,
      cancel: new SharedArrayBuffer(4),
    };
    const spawn = o.spawnWorker ?? spawnWorker;
    const { worker, ready } = await startWorker(spawn, init, log);
    log.info(
      { executionProvider: ready.executionProvider, reason: ready.reason, loadMs: ready.loadMs },
      'engine ready',
    );
    return new OnnxEngine(
      o.model,
      ready.executionProvider,
      ready.reason,
      ready.manifest,
      worker,
      init,
      spawn,
      log,
    );
  }

  #adopt(worker: Worker): void {
    this.#worker = worker;
    worker.on('message', (m: FromWorker) => this.#onMessage(m));
    worker.on('error', (err) =>
      this.#lost(
        worker,
        new EngineCrashedError(`engine worker failed: ${err.message}`, this.model, { cause: err }),
      ),
    );
    worker.on('exit', (code) =>
      this.#lost(worker, new EngineCrashedError(`engine worker exited (code ${code})`, this.model)),
    );
  }

  /** The worker died: fail the render in flight; the next one starts a new worker. */
  #lost(worker: Worker, err: EngineCrashedError): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    if (this.#closed) {
      this.#onExit?.();
      return;
    }
    this.#log.warn({ err: err.message }, 'engine worker lost; the next render starts a new one');
    void worker.terminate();
    this.#pending?.reject(err);
  }

  render(
    request: RenderRequest,
    options: { signal?: AbortSignal; onProgress?: (progress: RenderProgress) => void } = {},
  ): Promise<RenderResult> {
    const run = (): Promise<RenderResult> => this.#start(request, options.signal, options.onProgress);
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #start(
    request: RenderRequest,
    signal: AbortSignal | undefined,
    onProgress: Pending['onProgress'],
  ): Promise<RenderResult> {
    if (this.#closed) throw new EngineCrashedError('engine is closed', this.model);
    if (signal?.aborted) throw abortError();
    if (!this.#worker) {
      const { worker } = await startWorker(this.#spawn, this.#init, this.#log);
      this.#log.info('engine worker restarted');
      this.#adopt(worker);
    }
    const worker = this.#worker!;
    const id = this.#nextId++;
    return new Promise<RenderResult>((resolve, reject) => {
      const onAbort = (): void => {
        Atomics.store(this.#cancel, 0, id);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#pending = undefined;
      };
      this.#pending = {
        id,
        onProgress,
        resolve: (r) => (settle(), resolve(r)),
        reject: (e) => (settle(), reject(e)),
      };
      worker.postMessage({ type: 'render', id, request } satisfies ToWorker);
    });
  }

  #onMessage(m: FromWorker): void {
    const p = this.#pending;
    switch (m.type) {
      case 'log':
        this.#log[m.level](m.fields ?? {}, m.msg);
        return;
      case 'progress':
        if (p?.id === m.id && p.onProgress) {
          const { frame, ...rest } = m.progress;
          try {
            p.onProgress(
              frame
                ? { ...rest, frame: new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength) }
                : rest,
            );
          } catch (err) {
            this.#log.warn({ err }, 'onProgress threw; ignored');
          }
        }
        return;
      case 'done':
        if (p?.id === m.id)
          p.resolve({
            ...m.result,
            png: new Uint8Array(m.result.png.buffer, m.result.png.byteOffset, m.result.png.byteLength),
          });
        return;
      case 'error':
        if (p?.id === m.id) p.reject(rebuildError(m.error, this.model));
        return;
      default:
        return; // 'closed' is followed by the worker's exit
    }
  }

  /** Cancels nothing: waits for the render in flight, then releases the graphs and ends the worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => (this.#onExit = resolve));
    worker.postMessage({ type: 'close' } satisfies ToWorker);
    const timer = setTimeout(() => void worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Creates the engine the renderer and the CLI use. */
export function createOnnxEngine(o: OnnxEngineOptions): Promise<OnnxEngine> {
  return OnnxEngine.create(o);
}
