/**
 * The worker thread behind `OnnxEngine`: loads the bundle's graphs once, then renders one
 * request at a time. onnxruntime's native run() blocks its thread, which is why this is not the
 * main thread. Cancellation comes through shared memory, polled before every step.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createOnnxRuntime, type GraphSession } from '../onnx/onnx-runtime.js';
import { loadBundle, ModelBundleError } from './bundle.js';
import { runRender, type LoadedModel } from './render-loop.js';
import { createTokenizer } from './tokenizer.js';
import { serializeError, type FromWorker, type ToWorker, type WorkerInit } from './worker-protocol.js';

if (!parentPort) throw new Error('engine-worker runs only as a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
const cancel = new Int32Array(init.cancel);
// Frames and PNGs are copied, not transferred: sharp's buffers may live in native memory.
const post = (m: FromWorker): void => port.postMessage(m);

async function load(): Promise<LoadedModel> {
  const started = performance.now();
  const bundle = await loadBundle(init.modelsDir, init.model);
  const path = (g: string): string => {
    const p = bundle.graphPath(g);
    if (!p) throw new ModelBundleError(`model '${bundle.name}' has no '${g}' graph`, bundle.name);
    return p;
  };
  const runtime = await createOnnxRuntime({
    ep: init.ep,
    intraOpNumThreads: init.intraOpNumThreads,
    webgpuOptions: init.webgpuOptions,
    probeGraph: path('decoder'),
  });
  const optional = async (g: string): Promise<GraphSession | undefined> =>
    bundle.graphPath(g) ? runtime.load(path(g)) : undefined;
  const { manifest } = bundle;
  const [step, decoder, text, encoder, image, codes, stepReference, imageReference] = await Promise.all([
    runtime.load(path('step')),
    runtime.load(path('decoder')),
    runtime.load(path('text')),
    optional('encoder'),
    optional('image'),
    manifest.latent.init.kind === 'codes' ? optional(manifest.latent.init.graph) : Promise.resolve(undefined),
    optional('stepReference'),
    optional('imageReference'),
  ]);
  const model: LoadedModel = {
    name: bundle.name,
    executionProvider: runtime.executionProvider,
    manifest,
    tokenizer: await createTokenizer(bundle),
    graphs: {
      step,
      decoder,
      text,
      encoder,
      image,
      codes,
      stepReference,
      imageReference,
    },
  };
  post({
    type: 'ready',
    executionProvider: runtime.executionProvider,
    reason: runtime.reason,
    manifest,
    loadMs: Math.round(performance.now() - started),
  });
  return model;
}

// Listen from the start: parentPort drops messages that arrive while no listener is attached.
const loading: Promise<LoadedModel | undefined> = load().catch((err: unknown) => {
  post({ type: 'init-error', error: serializeError(err) });
  return undefined;
});

// Renders are strictly sequential: the main thread sends the next only after 'done'/'error'.
port.on('message', (m: ToWorker) => {
  void loading.then((model) => {
    if (!model) return;
    if (m.type === 'close') {
      void Promise.all(Object.values(model.graphs).map((g) => g?.release())).finally(() => {
        post({ type: 'closed' });
        port.close();
      });
      return;
    }
    const { id, request } = m;
    runRender(model, request, {
      aborted: () => Atomics.load(cancel, 0) === id,
      onProgress: (progress) => post({ type: 'progress', id, progress }),
    }).then(
      (result) => post({ type: 'done', id, result }),
      (err: unknown) => post({ type: 'error', id, error: serializeError(err) }),
    );
  });
});
