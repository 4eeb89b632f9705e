/**
 * What the bot needs to know about the model it sends jobs to (sizes, default steps and cutouts),
 * read with the renderer's `readManifest` when the bot runs next to the models folder, with the
 * bundled tiny-shapes facts as the fallback (a bot host does not need the model files).
 */
import { readManifest } from '../../renderer/src/index.js';
import type { ModelFacts } from './core/imagine-request.js';

/** tiny-shapes, the bundled demo model (see models/BUNDLE.md). */
export const TINY_SHAPES_FACTS: ModelFacts = {
  name: 'tiny-shapes',
  sizes: [[64, 64]],
  defaultSize: [64, 64],
  defaultSteps: 100,
  defaultCutn: 16,
  maxSteps: 1000,
  loops: ['classic', 'reference'],
  defaultLoop: 'classic',
};

export async function loadModelFacts(model: string, modelsDir: string): Promise<ModelFacts> {
  const fallback: ModelFacts =
    model === TINY_SHAPES_FACTS.name
      ? TINY_SHAPES_FACTS
      : {
          ...TINY_SHAPES_FACTS,
          name: model,
          sizes: [
            [256, 256],
            [512, 512],
          ],
          defaultSize: [256, 256],
          defaultSteps: 300,
          defaultCutn: 32,
          // not known without the bundle: the renderer decides
          loops: undefined,
          defaultLoop: undefined,
        };
  try {
    const { manifest: m } = await readManifest(modelsDir, model);
    return {
      name: model,
      sizes: m.image.sizes,
      defaultSize: m.image.defaultSize,
      defaultSteps: m.defaults.steps,
      defaultCutn: m.defaults.cutn,
      maxSteps: Math.max(fallback.maxSteps, m.defaults.steps * 4),
      loops: m.reference && m.graphs.stepReference ? ['classic', 'reference'] : ['classic'],
      defaultLoop: m.defaults.loop ?? 'classic',
    };
  } catch {
    return fallback;
  }
}
