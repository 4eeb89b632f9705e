/** The public seam of `renderer/`: the Engine port, the farm worker and its wiring. */
export type { Engine, RenderProgress, RenderRequest, RenderResult, WeightedPrompt } from './engine/engine.js';
export { EngineInputError } from './engine/engine.js';
export { RenderWorker, type RenderWorkerSettings, type RenderWorkerStatus } from './worker/render-worker.js';
export { startRenderer, type RendererHandle } from './worker/renderer-process.js';
export { ProgressThrottle } from './worker/progress-throttle.js';
export { loadOnnxEngine, RendererStartError, run } from './main.js';
export { BundleManifest, ModelBundleError, readManifest } from './engine/bundle.js';
