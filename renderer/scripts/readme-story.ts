/**
 * Makes the README's story animation: one tiny-shapes render with the reference loop whose
 * prompt changes every `storyEvery` steps (`a ^ b ^ c`, generate.py's -cpe), its progress frames
 * scaled 4× (nearest) into an animated WebP:
 *
 *     nice node --import tsx renderer/scripts/readme-story.ts [--out renderer/scripts/readme/story.webp]
 *
 * Deterministic (fixed seed, CPU provider, 2 threads). A zoom video is not made: the engine has no
 * zoom/pan loop yet.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { silentLogger } from '../../shared/src/logger.js';
import { modelsDir, repoRoot } from '../../test/quality/fixtures.js';
import type { WeightedPrompt } from '../src/engine/engine.js';
import { encodeTimelapse } from '../src/engine/image-io.js';
import { createOnnxEngine } from '../src/engine/onnx-engine.js';

const STORY = [
  'a red circle on a blue background',
  'a yellow square on a purple background',
  'a white triangle on a black background',
];
const SCALE = 4;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: path.join(repoRoot, 'renderer', 'scripts', 'readme', 'story.webp') },
    },
  });
  const engine = await createOnnxEngine({ modelsDir, model: 'tiny-shapes', ep: 'cpu', log: silentLogger() });
  const frames: Uint8Array[] = [];
  const seg = (text: string): WeightedPrompt[] => [{ kind: 'text', text, weight: 1 }];
  try {
    const result = await engine.render(
      {
        prompts: seg(STORY[0]!),
        story: STORY.slice(1).map(seg),
        storyEvery: 100,
        seed: 7,
        width: 64,
        height: 64,
        steps: 300,
        frameEvery: 5,
        loop: 'classic',
      },
      { onProgress: (p) => p.frame && frames.push(p.frame) },
    );
    frames.push(result.png);
  } finally {
    await engine.close();
  }
  const size = 64 * SCALE;
  const rgb = await Promise.all(
    frames.map(async (f) =>
      Uint8Array.from(
        await sharp(f).removeAlpha().resize(size, size, { kernel: 'nearest' }).raw().toBuffer(),
      ),
    ),
  );
  await writeFile(values.out!, await encodeTimelapse(rgb, size, size, 80));
  console.log(`${values.out}: ${frames.length} frames`);
}

await main();
