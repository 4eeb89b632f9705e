/**
 * Options of onnxruntime-node's WebGPU provider that an operator may set
 * (`RENDERER_WEBGPU_OPTIONS=validationMode=disabled,preferredLayout=NCHW`). The names and values
 * are the ones onnxruntime-node 1.30 accepts for `executionProviders: [{ name: 'webgpu', … }]`;
 * anything else is refused here with a clear message instead of failing the session later.
 */

const CACHE_MODES = ['disabled', 'lazyRelease', 'simple', 'bucket'] as const;

export const WEBGPU_OPTION_VALUES: Readonly<Record<string, readonly string[]>> = {
  /** Layout the provider converts convolutions to (its default: NHWC). */
  preferredLayout: ['NCHW', 'NHWC'],
  /** How much the provider and Dawn validate per call (default: basic in release builds). */
  validationMode: ['disabled', 'wgpuOnly', 'basic', 'full'],
  storageBufferCacheMode: CACHE_MODES,
  uniformBufferCacheMode: CACHE_MODES,
  queryResolveBufferCacheMode: CACHE_MODES,
  defaultBufferCacheMode: CACHE_MODES,
};

export type WebGpuOptions = Record<string, string>;

/** Parses `name=value,name=value` (spaces allowed around the parts); empty gives `{}`. */
export function parseWebGpuOptions(raw: string): WebGpuOptions {
  const out: WebGpuOptions = {};
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const m = /^\s*([A-Za-z]+)\s*=\s*([A-Za-z0-9]+)\s*$/.exec(part);
    if (!m) throw new Error(`'${part.trim()}' is not name=value`);
    const [, name, value] = m as unknown as [string, string, string];
    const allowed = WEBGPU_OPTION_VALUES[name];
    if (!allowed)
      throw new Error(
        `unknown WebGPU option '${name}' (known: ${Object.keys(WEBGPU_OPTION_VALUES).join(', ')})`,
      );
    if (!allowed.includes(value))
      throw new Error(`WebGPU option ${name} must be one of ${allowed.join(', ')} (got '${value}')`);
    if (name in out) throw new Error(`WebGPU option ${name} is given twice`);
    out[name] = value;
  }
  return out;
}

/** The inverse of `parseWebGpuOptions`, for logs and benchmark labels. */
export function formatWebGpuOptions(o: WebGpuOptions): string {
  return Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
