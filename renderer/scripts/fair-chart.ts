/**
 * The README picture of the fair-share bench: every job's time to start, FIFO against fair, server A's
 * flood and server B's late jobs on their own rows. Reads renderer/scripts/readme/fair-bench.json
 * (written by `npm run bench:fair`), writes fair-wait.svg and fair-wait.png next to it.
 *   node --import tsx renderer/scripts/fair-chart.ts
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

type Point = [number, number, string];
interface BenchJson {
  dMs: number;
  fifo: { points: Point[] };
  fair: { points: Point[] };
}

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'readme');
const W = 760;
const ROW = 46;
const LEFT = 130;
const RIGHT = 30;
const TOP = 40;

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? 0;
}

function chart(data: BenchJson): string {
  const rows = [
    { label: 'FIFO · server A', points: data.fifo.points.filter((p) => p[2] === 'A'), colour: '#8a8f98' },
    { label: 'FIFO · server B', points: data.fifo.points.filter((p) => p[2] === 'B'), colour: '#e8590c' },
    { label: 'fair · server A', points: data.fair.points.filter((p) => p[2] === 'A'), colour: '#8a8f98' },
    { label: 'fair · server B', points: data.fair.points.filter((p) => p[2] === 'B'), colour: '#e8590c' },
  ];
  const maxS = Math.ceil(Math.max(...rows.flatMap((r) => r.points.map((p) => p[1]))));
  const x = (s: number) => LEFT + ((W - LEFT - RIGHT) * s) / maxS;
  const H = TOP + rows.length * ROW + 40;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, sans-serif" font-size="12">`,
    '<title>Time to start per job, plain FIFO against the fair-share scheduler</title>',
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="20" y="22" font-size="14" font-weight="bold">Time to start per job: 200 jobs from A at t=0, 5 from B at t=2 s; 4 renderers, D=${data.dMs / 1000} s</text>`,
  ];
  for (let s = 0; s <= maxS; s += maxS > 10 ? 2 : 1) {
    out.push(
      `<line x1="${x(s)}" y1="${TOP}" x2="${x(s)}" y2="${TOP + rows.length * ROW}" stroke="#e5e7eb"/>`,
    );
    out.push(`<text x="${x(s)}" y="${TOP + rows.length * ROW + 16}" text-anchor="middle">${s} s</text>`);
  }
  rows.forEach((row, i) => {
    const y0 = TOP + i * ROW;
    out.push(`<text x="${LEFT - 10}" y="${y0 + ROW / 2 + 4}" text-anchor="end">${row.label}</text>`);
    row.points.forEach((p, k) => {
      const jitter = ((k * 7919) % 29) - 14;
      out.push(
        `<circle cx="${x(p[1]).toFixed(1)}" cy="${(y0 + ROW / 2 + jitter * 0.9).toFixed(1)}" r="3" fill="${row.colour}" fill-opacity="0.7"/>`,
      );
    });
    const p95 = quantile(
      row.points.map((p) => p[1]),
      0.95,
    );
    out.push(
      `<line x1="${x(p95)}" y1="${y0 + 6}" x2="${x(p95)}" y2="${y0 + ROW - 6}" stroke="#111827" stroke-width="2"/>`,
    );
    out.push(`<text x="${x(p95) + 4}" y="${y0 + 14}" font-size="11">p95 ${p95.toFixed(2)} s</text>`);
  });
  out.push(
    `<text x="${(LEFT + W - RIGHT) / 2}" y="${H - 6}" text-anchor="middle">submit → started (s)</text>`,
  );
  out.push('</svg>');
  return out.join('\n');
}

const data = JSON.parse(await readFile(path.join(dir, 'fair-bench.json'), 'utf8')) as BenchJson;
const svg = chart(data);
await writeFile(path.join(dir, 'fair-wait.svg'), `${svg}\n`);
await sharp(Buffer.from(svg)).png().toFile(path.join(dir, 'fair-wait.png'));
process.stdout.write(
  `wrote ${path.join(path.relative(process.cwd(), dir), 'fair-wait.svg')} and fair-wait.png\n`,
);
