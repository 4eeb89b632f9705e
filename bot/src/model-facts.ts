/**
 * What the bot needs to know about the model it sends jobs to (sizes, default steps and cutouts),
 * read from the bundle's `manifest.json` when the bot runs next to the models folder, with the
 * bundled tiny-shapes facts as the fallback (a bot host does not need the model files).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { ModelFacts } from './core/imagine-request.js';

const Manifest = z.object({
  name: z.string(),
  image: z.object({
    sizes: z.array(z.tuple([z.number().int(), z.number().int()])).min(1),
    defaultSize: z.tuple([z.number().int(), z.number().int()]),
  }),
  defaults: z
    .object({ steps: z.number().int().positive(), cutn: z.number().int().positive() })
    .partial()
    .optional(),
});

/** tiny-shapes, the bundled demo model (see models/BUNDLE.md). */
export const TINY_SHAPES_FACTS: ModelFacts = {
  name: 'tiny-shapes',
  sizes: [[64, 64]],
  defaultSize: [64, 64],
  defaultSteps: 100,
  defaultCutn: 16,
  maxSteps: 1000,
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
        };
  try {
    const raw: unknown = JSON.parse(await readFile(path.join(modelsDir, model, 'manifest.json'), 'utf8'));
    const m = Manifest.parse(raw);
    return {
      name: model,
      sizes: m.image.sizes,
      defaultSize: m.image.defaultSize,
      defaultSteps: m.defaults?.steps ?? fallback.defaultSteps,
      defaultCutn: m.defaults?.cutn ?? fallback.defaultCutn,
      maxSteps: Math.max(fallback.maxSteps, (m.defaults?.steps ?? 0) * 4),
    };
  } catch {
    return fallback;
  }
}
