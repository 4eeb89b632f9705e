/**
 * RENDERER_EP=auto picks a provider that is faster than the CPU: WebGPU only where a GPU device
 * exists. Found when Mesa's software Vulkan driver (lavapipe) was installed on a CPU machine: auto
 * then chose WebGPU on it, the playground's render ran 20 times slower and its e2e test timed out.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gpuDeviceNodes } from '../../renderer/src/onnx/gpu-devices.js';
import { createOnnxRuntime } from '../../renderer/src/onnx/onnx-runtime.js';
import { modelsDir } from '../quality/fixtures.js';

const probeGraph = path.join(modelsDir, 'tiny-shapes', 'decoder.onnx');

describe('GPU device nodes', () => {
  it('finds NVIDIA, DRM render and WSL nodes and nothing else', () => {
    const fake: Record<string, string[]> = {
      '/dev': ['null', 'nvidia0', 'nvidia1', 'nvidiactl', 'nvidia-uvm', 'dxg', 'tty0'],
      '/dev/dri': ['card0', 'renderD128'],
    };
    expect(gpuDeviceNodes((d) => fake[d] ?? [])).toEqual([
      '/dev/nvidia0',
      '/dev/nvidia1',
      '/dev/dxg',
      '/dev/dri/renderD128',
    ]);
    expect(gpuDeviceNodes((d) => (d === '/dev' ? ['null', 'nvidiactl'] : []))).toEqual([]);
  });
});

describe('createOnnxRuntime with auto', () => {
  it('skips WebGPU on a Linux machine without a GPU device, and says why', async () => {
    const rt = await createOnnxRuntime({
      ep: 'auto',
      intraOpNumThreads: 1,
      probeGraph,
      gpuDevices: () => [],
      platform: 'linux',
    });
    expect(rt.executionProvider).toBe('cpu');
    expect(rt.reason).toMatch(/webgpu: no GPU device \(\/dev\/nvidia\*, \/dev\/dri\/renderD\*\)/);
    expect(rt.reason).toMatch(/using cpu$/);
  });

  it('tries WebGPU where a GPU device exists (it still needs an adapter)', async () => {
    const rt = await createOnnxRuntime({
      ep: 'auto',
      intraOpNumThreads: 1,
      probeGraph,
      gpuDevices: () => ['/dev/nvidia0'],
      platform: 'linux',
    });
    expect(rt.reason).not.toMatch(/no GPU device/);
    if (rt.executionProvider === 'cpu')
      expect(rt.reason).toMatch(/webgpu: /); // no adapter here: a reason, not silence
    else expect(rt.executionProvider).toBe('webgpu');
  });

  it('lets an explicit RENDERER_EP=webgpu use whatever adapter there is', async () => {
    const rt = await createOnnxRuntime({
      ep: 'webgpu',
      intraOpNumThreads: 1,
      probeGraph,
      gpuDevices: () => [],
      platform: 'linux',
    });
    expect(rt.reason).not.toMatch(/no GPU device/);
  });

  it('readies Vulkan before WebGPU starts and says what it did (vulkan-icd.ts)', async () => {
    let calls = 0;
    const rt = await createOnnxRuntime({
      ep: 'webgpu',
      intraOpNumThreads: 1,
      probeGraph,
      platform: 'linux',
      prepareVulkan: () => {
        calls++;
        return 'Vulkan through /opt/nv/libEGL_nvidia.so.0 (headless)';
      },
    });
    expect(calls).toBe(1);
    expect(rt.reason).toMatch(/Vulkan through \/opt\/nv\/libEGL_nvidia\.so\.0/);
  });
});
