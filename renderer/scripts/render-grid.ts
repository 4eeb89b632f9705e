/**
 * Renders the README's grid of real tiny-shapes renders, with their prompts:
 *
 *     node --import tsx renderer/scripts/render-grid.ts [--out renderer/scripts/readme] [--model tiny-shapes]
 *
 * Writes grid.png (renders upscaled 4×, nearest neighbour, with the prompt and seed under each)
 * and grid.md (the same as a markdown table, for places where the captions should be text).
 * Default settings of the bundle, CPU provider, so the grid is reproducible byte for byte.
 * Captions are SVG text drawn by sharp (librsvg + fontconfig): they need a font; on a bare
 * Debian, `apt-get install fonts-dejavu-core`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import sharp from 'sharp';
import { parsePromptLine } from '../../shared/src/prompt-syntax.js';
import { createOnnxEngine } from '../src/engine/onnx-engine.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The grid: every colour as object and as background, every shape, and the prompt syntax. */
export const GRID: { prompt: string; seed: number }[] = [
  { prompt: 'a red circle on a blue background', seed: 1 },
  { prompt: 'a yellow square on a purple background', seed: 2 },
  { prompt: 'a white triangle on a black background', seed: 3 },
  { prompt: 'a green circle on a white background', seed: 4 },
  { prompt: 'a blue square on a orange background', seed: 5 },
  { prompt: 'a black triangle on a yellow background', seed: 6 },
  { prompt: 'a purple circle on a green background', seed: 7 },
  { prompt: 'a orange square on a red background', seed: 8 },
  { prompt: 'a big red triangle on a white background', seed: 9 },
  { prompt: 'a small yellow circle on a blue background', seed: 10 },
  { prompt: 'a green square on a black background | a circle:-0.5', seed: 11 },
  { prompt: 'a white circle on a purple background', seed: 12 },
];

const SCALE = 4;
const COLUMNS = 4;
const CAPTION = 44;
const PAD = 8;

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Greedy word wrap to at most `max` characters per line. */
function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function caption(text: string, width: number): Buffer {
  const lines = wrap(text, 38).slice(0, 3);
  const tspans = lines
    .map((l, i) => `<tspan x="${width / 2}" dy="${i === 0 ? 0 : 13}">${escapeXml(l)}</tspan>`)
    .join('');
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${CAPTION}"><text x="${width / 2}" y="12" font-family="DejaVu Sans, sans-serif" font-size="11" fill="#222" text-anchor="middle">${tspans}</text></svg>`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, model: { type: 'string' }, 'models-dir': { type: 'string' } },
  });
  const outDir = path.resolve(values.out ?? path.join(repoRoot, 'renderer', 'scripts', 'readme'));
  const model = values.model ?? 'tiny-shapes';
  const engine = await createOnnxEngine({
    modelsDir: path.resolve(values['models-dir'] ?? path.join(repoRoot, 'models')),
    model,
    ep: 'cpu',
    log: pino({ level: 'warn', base: null }, pino.destination(2)),
  });
  const [width, height] = engine.manifest.image.defaultSize;
  const steps = engine.manifest.defaults.steps;
  const cellW = width * SCALE;
  const cellH = height * SCALE + CAPTION;
  const tiles: sharp.OverlayOptions[] = [];
  try {
    for (const [i, { prompt, seed }] of GRID.entries()) {
      const parsed = parsePromptLine(prompt);
      if (!parsed.ok) throw new Error(`grid prompt '${prompt}': ${parsed.error.message}`);
      const result = await engine.render(
        { prompts: parsed.prompts.map((p) => ({ kind: 'text', ...p })), seed, width, height, steps },
        {},
      );
      process.stderr.write(
        `${i + 1}/${GRID.length} ${prompt} (seed ${seed}, ${(result.elapsedMs / 1000).toFixed(1)} s)\n`,
      );
      const big = await sharp(result.png)
        .resize(cellW, height * SCALE, { kernel: 'nearest' })
        .png()
        .toBuffer();
      const left = PAD + (i % COLUMNS) * (cellW + PAD);
      const top = PAD + Math.floor(i / COLUMNS) * (cellH + PAD);
      tiles.push(
        { input: big, left, top },
        { input: caption(`${prompt} · seed ${seed}`, cellW), left, top: top + height * SCALE + 2 },
      );
    }
  } finally {
    await engine.close();
  }
  const rows = Math.ceil(GRID.length / COLUMNS);
  const grid = await sharp({
    create: {
      width: PAD + COLUMNS * (cellW + PAD),
      height: PAD + rows * (cellH + PAD),
      channels: 3,
      background: '#ffffff',
    },
  })
    .composite(tiles)
    .png({ compressionLevel: 9 })
    .toBuffer();
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'grid.png'), grid);
  const table = [
    `Renders by the bundled \`${model}\` model, ${width}×${height}, ${steps} steps (its defaults), CPU provider. Regenerate with`,
    '`node --import tsx renderer/scripts/render-grid.ts`; render one with `npx tessera render "<prompt>" --seed N --out x.png`.',
    '',
    '| # | prompt | seed |',
    '|---|---|---|',
    ...GRID.map(({ prompt, seed }, i) => `| ${i + 1} | \`${prompt.replaceAll('|', '\\|')}\` | ${seed} |`),
    '',
  ].join('\n');
  await writeFile(path.join(outDir, 'grid.md'), table);
  process.stderr.write(`wrote ${path.relative(process.cwd(), path.join(outDir, 'grid.png'))} and grid.md\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`render-grid: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
