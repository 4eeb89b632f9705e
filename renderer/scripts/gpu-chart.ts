/**
 * The README picture of the GPU check: milliseconds per VQGAN-CLIP step (real-model shapes, 256²,
 * cutn 32) for PyTorch eager and the engine's WebGPU variants, from the summaries that
 * `models/gpu/gpu-check.sh` wrote (kept in models/gpu/results/). Writes gpu-step.svg and .png
 * next to the other README pictures.
 *   node --import tsx renderer/scripts/gpu-chart.ts [models/gpu/results/*.json]
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

interface Run {
  ms_per_step: number;
  runner: string;
}
type Summary = Record<string, Run | string | null>;

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'readme');
const results = path.join(here, '..', '..', 'models', 'gpu', 'results');
const LABELS: Record<string, string> = {
  torch: 'PyTorch eager (CUDA)',
  engine: 'engine, WebGPU, float32',
  'validationMode=disabled': '… validationMode=disabled',
  'preferredLayout=NCHW': '… preferredLayout=NCHW',
  fp16: '… --fp16 export',
  conv: '… --conv-grad conv export',
};

/** One bar per (summary, key), in LABELS order, run number in the label when there are several. */
export function bars(summaries: Summary[]): Array<{ label: string; ms: number; reference: boolean }> {
  const rows: Array<{ label: string; ms: number; reference: boolean }> = [];
  for (const key of Object.keys(LABELS)) {
    summaries.forEach((s, i) => {
      const run = s[key];
      if (run && typeof run === 'object' && Number.isFinite(run.ms_per_step))
        rows.push({
          label: `${LABELS[key]}${summaries.length > 1 ? ` (run ${i + 1})` : ''}`,
          ms: run.ms_per_step,
          reference: key === 'torch',
        });
    });
  }
  return rows;
}

function chart(rows: ReturnType<typeof bars>, title: string): string {
  const W = 760;
  const ROW = 26;
  const LEFT = 290;
  const TOP = 44;
  const maxMs = Math.ceil(Math.max(...rows.map((r) => r.ms)) / 50) * 50;
  const x = (ms: number) => LEFT + ((W - LEFT - 70) * ms) / maxMs;
  const H = TOP + rows.length * ROW + 40;
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, sans-serif" font-size="12">`,
    `<title>${title}</title>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="20" y="24" font-size="14" font-weight="bold">${title}</text>`,
  ];
  for (let ms = 0; ms <= maxMs; ms += 50) {
    svg.push(
      `<line x1="${x(ms)}" y1="${TOP - 6}" x2="${x(ms)}" y2="${TOP + rows.length * ROW}" stroke="#e5e7eb"/>`,
    );
    svg.push(`<text x="${x(ms)}" y="${TOP + rows.length * ROW + 16}" text-anchor="middle">${ms}</text>`);
  }
  rows.forEach((r, i) => {
    const y = TOP + i * ROW;
    svg.push(`<text x="${LEFT - 10}" y="${y + 16}" text-anchor="end">${r.label}</text>`);
    svg.push(
      `<rect x="${LEFT}" y="${y + 4}" width="${(x(r.ms) - LEFT).toFixed(1)}" height="${ROW - 8}" fill="${r.reference ? '#8a8f98' : '#e8590c'}"/>`,
    );
    svg.push(`<text x="${(x(r.ms) + 6).toFixed(1)}" y="${y + 16}">${r.ms.toFixed(0)} ms</text>`);
  });
  svg.push(
    `<text x="${(LEFT + W - 70) / 2}" y="${H - 6}" text-anchor="middle">milliseconds per step (lower is faster)</text>`,
  );
  svg.push('</svg>');
  return svg.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const files =
    process.argv.length > 2
      ? process.argv.slice(2)
      : (await readdir(results))
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => path.join(results, f));
  const summaries = await Promise.all(
    files.map(async (f) => JSON.parse(await readFile(f, 'utf8')) as Summary),
  );
  const svg = chart(
    bars(summaries),
    'One VQGAN-CLIP step, real-model shapes, 256², cutn 32, one H200 (2026-12-04)',
  );
  await writeFile(path.join(out, 'gpu-step.svg'), `${svg}\n`);
  await sharp(Buffer.from(svg)).png().toFile(path.join(out, 'gpu-step.png'));
  process.stdout.write(
    `wrote ${path.relative(process.cwd(), path.join(out, 'gpu-step.svg'))} and gpu-step.png from ${files.length} summaries\n`,
  );
}
