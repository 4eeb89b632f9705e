/**
 * `npm run bench:fair`: plain FIFO against the fair-share scheduler on the same farm — 4 renderers,
 * a test engine of fixed duration D = 0.2 s per job (4 steps × 50 ms).
 * 1. Flood: server A's 20 members submit 200 jobs at t = 0; server B's 5 members one each at
 *    t = 2 s. B's time to start (submit → `started`), A's, and the announced ETA against the start.
 * 2. Shares: a continuous backlog from both servers (A keeps twice B's jobs outstanding); renderer
 *    time per server and per member of A, with weights 1:1 and then 2:1.
 * 3. Cost: the scheduler (its own process) — CPU per job at 100 jobs/s, RSS with 10 000 queued.
 * Writes the figures to renderer/scripts/readme/fair-bench.json (for fair-chart.ts). With
 * `--cost-only`, only 3 (nothing written).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type JobLog, type Mode, quantile, startBenchFarm } from './fair-bench-farm.js';
import { measureSchedulerCost } from './fair-bench-cost.js';
import { serverWeightsKey, encodeMessage, ServerWeights } from '../../shared/src/index.js';

const D_MS = 200;
const STEPS = 4;
const FARM = { renderers: 4, stepMs: D_MS / STEPS, steps: STEPS };
const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (line: string) => process.stdout.write(`${line}\n`);

interface FloodResult {
  mode: Mode;
  waitsA: number[];
  waitsB: number[];
  /** [submitted at (s from t0), wait (s), server] per job. */
  points: [number, number, string][];
  etaErrors: number[];
  makespanS: number;
}

async function flood(mode: Mode): Promise<FloodResult> {
  const bench = await startBenchFarm({ mode, ...FARM });
  try {
    // Warm-up: renderers measured once, as on a farm that has been running.
    await Promise.all(Array.from({ length: 8 }, (_, i) => bench.submit('W', `w${i}`)));
    await bench.waitAllEnded(30_000);
    bench.jobs.clear();
    const t0 = Date.now();
    const flood = Promise.all(Array.from({ length: 200 }, (_, i) => bench.submit('A', `a${i % 20}`)));
    await sleep(2000 - (Date.now() - t0));
    await Promise.all(Array.from({ length: 5 }, (_, i) => bench.submit('B', `b${i}`)));
    await flood;
    await bench.waitAllEnded(120_000);
    const all = [...bench.jobs.values()];
    const wait = (j: JobLog) => (j.startedAt! - j.submittedAt) / 1000;
    return {
      mode,
      waitsA: all.filter((j) => j.server === 'A').map(wait),
      waitsB: all.filter((j) => j.server === 'B').map(wait),
      points: all.map((j) => [(j.submittedAt - t0) / 1000, wait(j), j.server]),
      etaErrors: all.flatMap((j) => etaError(j)),
      makespanS: (Math.max(...all.map((j) => j.endedAt!)) - t0) / 1000,
    };
  } finally {
    await bench.stop();
  }
}

/** |announced start − actual start| / actual wait from the announcement, for the first announcement. */
function etaError(job: JobLog): number[] {
  const first = job.etas[0];
  if (!first || job.startedAt === undefined) return [];
  const actual = job.startedAt - first.at;
  if (actual <= 0) return [];
  return [Math.abs(first.etaMs - actual) / actual];
}

interface ShareResult {
  mode: Mode;
  weights: string;
  serverShareA: number;
  memberShareA1: number;
  wantServerA: number;
  wantMemberA1: number;
}

/** Closed loop: each member keeps `outstanding` jobs in the system; renderer time is counted in a window. */
async function shares(mode: Mode): Promise<ShareResult[]> {
  const bench = await startBenchFarm({ mode, ...FARM });
  const members = [
    { server: 'A', member: 'a1', outstanding: 20 },
    { server: 'A', member: 'a2', outstanding: 20 },
    { server: 'B', member: 'b1', outstanding: 20 },
  ];
  let a1Weight = 1;
  let running = true;
  bench.onEnded((job) => {
    const m = members.find((x) => x.member === job.member);
    if (m && running) void bench.submit(m.server, m.member, m.member === 'a1' ? { weight: a1Weight } : {});
  });
  const results: ShareResult[] = [];
  try {
    for (const m of members) for (let i = 0; i < m.outstanding; i++) await bench.submit(m.server, m.member);
    for (const [wA, wA1] of [
      [1, 1],
      [2, 2],
    ] as const) {
      a1Weight = wA1;
      const weights: ServerWeights = { v: 1, weights: { A: wA }, at: new Date().toISOString() };
      await bench.farm.scheduler.put(serverWeightsKey(), encodeMessage(ServerWeights, weights));
      await sleep(3000); // the queue turns over under the new weights
      const from = Date.now();
      await sleep(8000);
      const to = Date.now();
      const time = (pred: (j: JobLog) => boolean) =>
        [...bench.jobs.values()]
          .filter((j) => pred(j) && j.startedAt !== undefined)
          .reduce((sum, j) => sum + overlap(j.startedAt!, j.endedAt ?? to, from, to), 0);
      const a = time((j) => j.server === 'A');
      const b = time((j) => j.server === 'B');
      const a1 = time((j) => j.member === 'a1');
      results.push({
        mode,
        weights: `${wA}:1 (a1:a2 ${wA1}:1)`,
        serverShareA: a / (a + b),
        memberShareA1: a1 / a,
        wantServerA: wA / (wA + 1),
        wantMemberA1: wA1 / (wA1 + 1),
      });
    }
  } finally {
    running = false;
    await bench.stop();
  }
  return results;
}

function overlap(start: number, end: number, from: number, to: number): number {
  return Math.max(0, Math.min(end, to) - Math.max(start, from));
}

const s = (x: number) => `${x.toFixed(2)} s`;
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

function printFlood(fifo: FloodResult, fair: FloodResult): void {
  say(
    `\nflood: A's 20 members 200 jobs at t=0, B's 5 members 1 each at t=2 s; 4 renderers, D = ${D_MS / 1000} s`,
  );
  say(`${'figure'.padEnd(34)}${'FIFO'.padStart(12)}${'fair'.padStart(12)}   target (fair)`);
  const row = (name: string, a: string, b: string, target = '') =>
    say(`${name.padEnd(34)}${a.padStart(12)}${b.padStart(12)}   ${target}`);
  row("B's time to start, p50", s(quantile(fifo.waitsB, 0.5)), s(quantile(fair.waitsB, 0.5)));
  row(
    "B's time to start, p95",
    s(quantile(fifo.waitsB, 0.95)),
    s(quantile(fair.waitsB, 0.95)),
    `≤ ${s((3 * D_MS) / 1000)}`,
  );
  row("A's time to start, p50", s(quantile(fifo.waitsA, 0.5)), s(quantile(fair.waitsA, 0.5)));
  row("A's time to start, p95", s(quantile(fifo.waitsA, 0.95)), s(quantile(fair.waitsA, 0.95)));
  row('all 205 done after', s(fifo.makespanS), s(fair.makespanS));
  const med = quantile(fair.etaErrors, 0.5);
  row('ETA vs actual start, median error', '—', pct(med), `≤ 25 % (${fair.etaErrors.length} jobs)`);
  row('ETA vs actual start, p90 error', '—', pct(quantile(fair.etaErrors, 0.9)));
}

function printShares(rows: ShareResult[]): void {
  say('\nshares under a continuous backlog (A: members a1, a2 with 20 jobs outstanding each; B: b1 with 20)');
  say(
    `${'mode'.padEnd(6)}${'weights A:B'.padEnd(22)}${"A's share".padStart(12)}${'want'.padStart(9)}${"a1's share of A".padStart(17)}${'want'.padStart(9)}`,
  );
  for (const r of rows) {
    say(
      `${r.mode.padEnd(6)}${r.weights.padEnd(22)}${pct(r.serverShareA).padStart(12)}${pct(r.wantServerA).padStart(9)}${pct(r.memberShareA1).padStart(17)}${pct(r.wantMemberA1).padStart(9)}`,
    );
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--cost-only')) {
    // Only the scheduler's own CPU, latency and memory; the README figures are left as they are.
    await measureSchedulerCost(say);
    return;
  }
  say('fair-share bench (FIFO = no scheduler, jobs straight to the work queue)');
  const fifo = await flood('fifo');
  const fair = await flood('fair');
  printFlood(fifo, fair);
  const shareRows = [...(await shares('fifo')), ...(await shares('fair'))];
  printShares(shareRows);
  const cost = await measureSchedulerCost(say);
  const out = path.join(here, 'readme', 'fair-bench.json');
  await writeFile(out, `${JSON.stringify({ dMs: D_MS, fifo, fair, shares: shareRows, cost }, null, 1)}\n`);
  say(
    `\nfigures written to ${path.relative(process.cwd(), out)} (chart: node --import tsx renderer/scripts/fair-chart.ts)`,
  );
}

await main();
process.exit(0);
