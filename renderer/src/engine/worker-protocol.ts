/**
 * Messages between `OnnxEngine` (main thread) and its worker thread. Both ends are this
 * package's code in one process, so plain discriminated unions suffice (no wire parsing).
 */
import type { WebGpuOptions } from '../../../shared/src/webgpu-options.js';
import type { ExecutionProviderChoice } from '../onnx/onnx-runtime.js';
import type { BundleManifest } from './bundle.js';
import type { RenderRequest, RenderResult } from './engine.js';
import type { LoopProgress } from './render-loop.js';

export interface WorkerInit {
  modelsDir: string;
  model: string;
  ep: ExecutionProviderChoice;
  intraOpNumThreads: number;
  webgpuOptions?: WebGpuOptions;
  /** Int32Array over it: [0] = id of the render to cancel (0 = none). */
  cancel: SharedArrayBuffer;
}

export interface SerializedError {
  name: string;
  message: string;
  identifier?: string;
  model?: string;
  file?: string;
}

export type ToWorker = { type: 'render'; id: number; request: RenderRequest } | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; executionProvider: string; reason: string; manifest: BundleManifest; loadMs: number }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'log'; level: 'info' | 'warn' | 'debug'; msg: string; fields?: Record<string, unknown> }
  | { type: 'progress'; id: number; progress: LoopProgress }
  | { type: 'done'; id: number; result: RenderResult }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'closed' };

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const out: SerializedError = { name: err.name, message: err.message };
  const e = err as Error & { identifier?: unknown; model?: unknown; file?: unknown };
  if (typeof e.identifier === 'string') out.identifier = e.identifier;
  if (typeof e.model === 'string') out.model = e.model;
  if (typeof e.file === 'string') out.file = e.file;
  return out;
}
