/**
 * Makes the README's animations (tiny-shapes, CPU provider, 2 threads, fixed seeds: deterministic):
 *   story.webp — a story (`a ^ b ^ c`, generate.py's -cpe): the prompt changes every 100 steps;
 *                the progress frames, scaled 4× (nearest);
 *   zoom.webp  — a zoom video (-zvid): a frame every 4 steps, each zoomed by 1.04 and shifted one
 *                pixel before the loop continues from it; scaled 4×.
 *
 *     nice node --import tsx renderer/scripts/readme-animations.ts [--dir renderer/scripts/readme]
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
    options: { dir: { type: 'string', default: path.join(repoRoot, 'renderer', 'scripts', 'readme') } },
  });
  const engine = await createOnnxEngine({ modelsDir, model: 'tiny-shapes', ep: 'cpu', log: silentLogger() });
  const frames: Uint8Array[] = [];
  let zoom: Uint8Array | undefined;
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
    const video = await engine.render(
      {
        prompts: seg('a yellow circle on a blue background'),
        seed: 5,
        width: 64,
        height: 64,
        steps: 240,
        zoomEvery: 4,
        zoomScale: 1.04,
        zoomShiftX: 1,
        loop: 'classic',
      },
      {},
    );
    zoom = video.video;
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
  await writeFile(path.join(values.dir!, 'story.webp'), await encodeTimelapse(rgb, size, size, 80));
  console.log(`story.webp: ${frames.length} frames`);
  const pages = (await sharp(zoom!).metadata()).pages ?? 1;
  const zoomed = await Promise.all(
    Array.from({ length: pages }, async (_, page) =>
      Uint8Array.from(
        await sharp(zoom!, { page }).removeAlpha().resize(size, size, { kernel: 'nearest' }).raw().toBuffer(),
      ),
    ),
  );
  await writeFile(path.join(values.dir!, 'zoom.webp'), await encodeTimelapse(zoomed, size, size, 60));
  console.log(`zoom.webp: ${pages} frames`);
}

await main();
