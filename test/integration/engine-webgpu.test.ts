/**
 * The engine on onnxruntime-node's WebGPU provider agrees with the CPU provider (tiny-shapes).
 *
 * Runs wherever WebGPU finds an adapter: a GPU node, or any Linux box with Mesa's software Vulkan
 * driver (lavapipe, `mesa-vulkan-drivers` 23 or later; on Debian 12 from bookworm-backports; the
 * 22.3 in bookworm lacks a feature Dawn needs). Without one it is skipped and says why: CI
 * machines have no Vulkan driver, and installing one is not part of the test command.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import path from 'node:path';
import type { RenderRequest } from '../../renderer/src/engine/engine.js';
import { createOnnxEngine, type OnnxEngine } from '../../renderer/src/engine/onnx-engine.js';
import { silentLogger } from '../../shared/src/logger.js';
import { modelsDir } from '../quality/fixtures.js';

async function webgpuAdapter(): Promise<string | undefined> {
  if (!ort.listSupportedBackends().some((b) => b.name === 'webgpu'))
    return 'this onnxruntime-node build has no WebGPU provider';
  try {
    const s = await ort.InferenceSession.create(path.join(modelsDir, 'tiny-shapes', 'decoder.onnx'), {
      executionProviders: ['webgpu'],
      logSeverityLevel: 4,
    });
    await s.release();
    return undefined;
  } catch (err) {
    return `no WebGPU adapter (${(err as Error).message.split('\n')[0]!.slice(-120)})`;
  }
}

const why = await webgpuAdapter();
if (why)
  console.warn(`engine-webgpu: skipped: ${why}. A GPU, or lavapipe (mesa-vulkan-drivers >= 23), runs it.`);

describe.skipIf(why !== undefined)('OnnxEngine on the WebGPU provider', () => {
  const log = silentLogger();
  let cpu: OnnxEngine;
  const request: RenderRequest = {
    prompts: [{ kind: 'text', text: 'a yellow triangle on a green background', weight: 1 }],
    seed: 3,
    width: 64,
    height: 64,
    steps: 4,
    frameEvery: 4,
  };

  beforeAll(async () => {
    cpu = await createOnnxEngine({ modelsDir, model: 'tiny-shapes', ep: 'cpu', log });
  }, 120_000);

  afterAll(async () => {
    await cpu?.close();
  });

  // One WebGPU engine at a time, as in a renderer process: two worker threads sharing the
  // provider's process-wide WebGPU context raced on lavapipe (an engine fell back to the CPU now
  // and then, and a test process crashed at exit).
  it.each([
    ['default options', {}],
    // RENDERER_WEBGPU_OPTIONS reach the provider: other kernels (NCHW convolutions), same image
    ['NCHW layout, validation off', { preferredLayout: 'NCHW', validationMode: 'disabled' }],
  ])(
    'renders what the CPU provider renders, to float rounding (%s)',
    async (_label, webgpuOptions) => {
      const gpu = await createOnnxEngine({
        modelsDir,
        model: 'tiny-shapes',
        ep: 'webgpu',
        webgpuOptions,
        log,
      });
      try {
        expect(gpu.executionProvider, gpu.executionProviderReason).toBe('webgpu'); // not a silent CPU fallback
        expect(gpu.executionProviderReason).toBe('requested webgpu');
        const [a, b] = [await cpu.render(request, {}), await gpu.render(request, {})];
        const [pa, pb] = await Promise.all([a, b].map((r) => sharp(r.png).raw().toBuffer()));
        expect(pa!.length).toBe(64 * 64 * 3);
        let sum = 0;
        let max = 0;
        for (let i = 0; i < pa!.length; i++) {
          const d = Math.abs(pa![i]! - pb![i]!);
          sum += d;
          max = Math.max(max, d);
        }
        // Measured with lavapipe: byte-identical after 4 steps; another seed differs by 56 levels on
        // average. (FSQ rounding can flip a code late in a long render, so 200-step renders differ
        // more, 1.8 levels on average; that is not what this checks.)
        expect(sum / pa!.length).toBeLessThan(1);
        expect(max).toBeLessThanOrEqual(8);
      } finally {
        await gpu.close();
      }
    },
    120_000,
  );
});
