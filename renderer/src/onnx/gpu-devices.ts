/**
 * Is there a GPU at all? `RENDERER_EP=auto` asks before it tries the WebGPU provider: on a
 * machine without one, a software Vulkan driver (Mesa's lavapipe, often installed with desktop
 * packages) still gives WebGPU an adapter, and the engine would then run 20 to 100 times slower
 * than on the CPU provider (measured: tiny-shapes 0.34 s a step against 16 ms).
 *
 * Linux only: GPUs show up as device nodes: `/dev/nvidia0` … (NVIDIA's driver),
 * `/dev/dri/renderD128` … (every DRM driver: AMD, Intel, NVIDIA with nvidia-drm), `/dev/dxg`
 * (WSL). Elsewhere the answer is "unknown" and auto tries WebGPU as before.
 */
import { readdirSync } from 'node:fs';

export type ListDir = (dir: string) => string[];

const systemListDir: ListDir = (dir) => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/** The GPU device nodes present (empty: no GPU). */
export function gpuDeviceNodes(listDir: ListDir = systemListDir): string[] {
  const dev = listDir('/dev')
    .filter((n) => /^nvidia\d+$/.test(n) || n === 'dxg')
    .map((n) => `/dev/${n}`);
  const dri = listDir('/dev/dri')
    .filter((n) => /^renderD\d+$/.test(n))
    .map((n) => `/dev/dri/${n}`);
  return [...dev, ...dri];
}
