/**
 * The one module that imports onnxruntime-node. Everything else sees `HostTensor`s and the
 * `GraphSession` port, so the engine's loop can be tested with fakes and the runtime swapped.
 *
 * Execution providers: `cuda` is not shipped in the npm package (GPU images install it), `webgpu`
 * is (Vulkan on Linux), `cpu` always works. `auto` tries cuda, then webgpu (only where a GPU
 * device exists: see gpu-devices.ts), then cpu, and every explicit choice falls back to cpu, each
 * time with the reason.
 */
import * as ort from 'onnxruntime-node';
import type { WebGpuOptions } from '../../../shared/src/webgpu-options.js';
import { gpuDeviceNodes } from './gpu-devices.js';
import { preferHeadlessNvidiaIcd, systemIcdHost } from './vulkan-icd.js';

export type ExecutionProviderName = 'cpu' | 'webgpu' | 'cuda';
export type ExecutionProviderChoice = 'auto' | ExecutionProviderName;

export type HostTensor =
  | { type: 'float32'; data: Float32Array; dims: readonly number[] }
  | { type: 'int64'; data: BigInt64Array; dims: readonly number[] };

export interface GraphInput {
  name: string;
  /** Declared shape; strings are symbolic (dynamic) axes. */
  shape: ReadonlyArray<number | string>;
}

/** One loaded ONNX graph. */
export interface GraphSession {
  readonly inputs: readonly GraphInput[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}

export interface RuntimeOptions {
  ep: ExecutionProviderChoice;
  /** Threads for one operator on the CPU provider; fixed so that results are reproducible. */
  intraOpNumThreads: number;
  /** Options of the WebGPU provider (RENDERER_WEBGPU_OPTIONS), already validated. */
  webgpuOptions?: WebGpuOptions;
}

export interface OnnxRuntime {
  /** The provider in use. */
  readonly executionProvider: ExecutionProviderName;
  /** Why that provider (for the log). */
  readonly reason: string;
  load(file: string): Promise<GraphSession>;
}

function sessionOptions(ep: ExecutionProviderName, o: RuntimeOptions): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [
      ep === 'webgpu' && o.webgpuOptions && Object.keys(o.webgpuOptions).length
        ? { name: 'webgpu', ...o.webgpuOptions }
        : ep,
    ],
    intraOpNumThreads: o.intraOpNumThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 4, // failures surface as exceptions with the same text
    // No busy-waiting between operators: on a shared box, spinning threads slow everyone down.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

function toOrt(t: HostTensor): ort.Tensor {
  return new ort.Tensor(t.type, t.data, t.dims);
}

function fromOrt(name: string, t: ort.Tensor): HostTensor {
  if (t.type === 'float32') return { type: 'float32', data: t.data as Float32Array, dims: [...t.dims] };
  if (t.type === 'int64') return { type: 'int64', data: t.data as BigInt64Array, dims: [...t.dims] };
  throw new TypeError(`graph output '${name}' has type ${t.type}; the engine reads float32 and int64`);
}

class OrtGraphSession implements GraphSession {
  readonly inputs: readonly GraphInput[];
  readonly outputNames: readonly string[];

  constructor(private readonly session: ort.InferenceSession) {
    this.inputs = session.inputMetadata.map((m) => ({ name: m.name, shape: m.isTensor ? [...m.shape] : [] }));
    this.outputNames = session.outputNames;
  }

  async run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    const input: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) input[k] = toOrt(v);
    const out = await this.session.run(input);
    const result: Record<string, HostTensor> = {};
    for (const [k, v] of Object.entries(out)) result[k] = fromOrt(k, v);
    return result;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** A one-line reason from onnxruntime's long native messages. */
function reasonOf(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  if (/WebGPU adapter/i.test(m)) return 'no WebGPU adapter (no GPU, or no Vulkan driver)';
  if (/Cuda|providers_cuda|providers_shared/i.test(m) && /load/i.test(m))
    return 'the CUDA provider library is not installed';
  return m.split('\n')[0]!.slice(0, 200);
}

/**
 * Picks an execution provider by loading `probeGraph` with each candidate in turn.
 * `notes` collects why candidates were skipped (the caller logs them).
 */
export async function createOnnxRuntime(
  options: RuntimeOptions & {
    probeGraph: string;
    /** GPU device nodes (tests pass their own; the default looks under /dev on Linux). */
    gpuDevices?: () => string[];
    platform?: NodeJS.Platform;
    /** Readies Vulkan for WebGPU (the default: vulkan-icd.ts); returns a note for the reason. */
    prepareVulkan?: () => string | undefined;
  },
): Promise<OnnxRuntime> {
  const supported = new Set(ort.listSupportedBackends().map((b) => b.name));
  const candidates: ExecutionProviderName[] =
    options.ep === 'auto' ? ['cuda', 'webgpu', 'cpu'] : options.ep === 'cpu' ? ['cpu'] : [options.ep, 'cpu'];
  const skipped: string[] = [];
  const notes: string[] = [];
  for (const ep of candidates) {
    if (!supported.has(ep)) {
      skipped.push(`${ep}: not in this onnxruntime-node build`);
      continue;
    }
    if (
      ep === 'webgpu' &&
      options.ep === 'auto' &&
      (options.platform ?? process.platform) === 'linux' &&
      (options.gpuDevices ?? gpuDeviceNodes)().length === 0
    ) {
      skipped.push(
        'webgpu: no GPU device (/dev/nvidia*, /dev/dri/renderD*), and a software Vulkan driver is slower than the CPU (RENDERER_EP=webgpu forces it)',
      );
      continue;
    }
    if (ep === 'webgpu' && (options.platform ?? process.platform) === 'linux') {
      const note = (options.prepareVulkan ?? (() => preferHeadlessNvidiaIcd(systemIcdHost)))();
      if (note) notes.push(note);
    }
    try {
      if (ep !== 'cpu') {
        // Quiet probe: a missing provider is expected here and reported as a reason, not as native error lines.
        ort.env.logLevel = 'fatal';
        const probe = await ort.InferenceSession.create(options.probeGraph, {
          ...sessionOptions(ep, options),
          logSeverityLevel: 4,
        });
        await probe.release();
      }
      const reason =
        options.ep === ep
          ? `requested ${ep}`
          : `${options.ep === 'auto' ? 'auto' : `requested ${options.ep}`}: ${skipped.length ? `${skipped.join('; ')}; ` : ''}using ${ep}`;
      return {
        executionProvider: ep,
        reason: notes.length ? `${reason} (${notes.join('; ')})` : reason,
        load: async (file) =>
          new OrtGraphSession(await ort.InferenceSession.create(file, sessionOptions(ep, options))),
      };
    } catch (err) {
      skipped.push(`${ep}: ${reasonOf(err)}`);
    }
  }
  throw new Error(`no execution provider works: ${[...skipped, ...notes].join('; ')}`);
}
