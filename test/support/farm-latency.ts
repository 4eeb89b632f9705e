/**
 * Measures the farm with the test engine: time from publishing a job to its first progress event
 * and to `done`, and the renderer process's RSS at idle. Run:
 *   node --import tsx test/support/farm-latency.ts [jobs=20] [steps=20] [stepMs=10]
 * Starts its own nats-server and one renderer process (test engine, default frame settings).
 * With FARM_LATENCY_ENGINE=onnx the renderer is the real one (`tessera renderer`, the model
 * bundle under models/), and stepMs is ignored.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { farmSettingsFromConfig, submitJob } from '../../shared/src/index.js';
import {
  EventRecorder,
  openTestFarm,
  repoRoot,
  spawnTestRenderer,
  testConfig,
  testEnv,
  testJob,
  waitUntil,
  type ChildRenderer,
} from './farm-harness.js';
import { startNatsServer } from './nats-server.js';

const [jobs = 20, steps = 20, stepMs = 10] = process.argv.slice(2).map(Number);

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return `median ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, min ${s[0]!.toFixed(1)}, max ${s[s.length - 1]!.toFixed(1)}`;
}

const server = await startNatsServer();
const env = { RENDERER_FRAME_EVERY: '10', RENDERER_FRAME_MIN_INTERVAL_MS: '250', JOB_ACK_WAIT_MS: '30000' };
const real = process.env.FARM_LATENCY_ENGINE === 'onnx';
// The admin step first: renderers only bind to what it created.
const farm = await openTestFarm(server, farmSettingsFromConfig(testConfig(server, env)));

/** The real renderer process (`tessera renderer`), for FARM_LATENCY_ENGINE=onnx. */
function spawnOnnxRenderer(): ChildRenderer {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = spawn(
    process.execPath,
    ['--import', tsx, path.join(repoRoot, 'deploy', 'cli', 'main.ts'), 'renderer'],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...testEnv(server, { ...env, RENDERER_ID: 'latency-onnx', LOG_LEVEL: 'info' }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { id: 'latency-onnx', process: child, exited, output: () => out };
}

const renderer = real
  ? spawnOnnxRenderer()
  : spawnTestRenderer(server, { id: 'latency-r', stepMs, env: { ...env, LOG_LEVEL: 'info' } });
try {
  await waitUntil(
    () => renderer.output().includes('renderer ready'),
    120_000,
    () => renderer.output(),
  );
  const nc = farm.nc;
  const events = new EventRecorder(nc);
  await new Promise((r) => setTimeout(r, 2000));
  const idleBefore = await rssMiB(renderer.process.pid!);

  const toProgress: number[] = [];
  const toStarted: number[] = [];
  const toDone: number[] = [];
  for (let i = 0; i < jobs; i++) {
    const jobId = `lat-${i}`;
    const wall0 = Date.now();
    await submitJob(
      farm,
      testJob(jobId, {
        steps,
        width: 64,
        height: 64,
        // Spread: testJob lays the overrides over its defaults, so `prompts: undefined` would erase them.
        ...(real ? { prompts: [{ text: 'a red circle on a blue background' }] } : {}),
      }),
    );
    const end = await Promise.race([
      events.waitFor(jobId, 'done', 300_000),
      events.waitFor(jobId, 'failed', 300_000),
    ]);
    if (end.type !== 'done') throw new Error(`job failed: ${JSON.stringify(end)}`);
    toStarted.push(events.first(jobId, 'started')!.receivedAt - wall0);
    toProgress.push(events.first(jobId, 'progress')!.receivedAt - wall0);
    toDone.push(events.first(jobId, 'done')!.receivedAt - wall0);
  }
  await new Promise((r) => setTimeout(r, 2000));
  const idleAfter = await rssMiB(renderer.process.pid!);
  process.stdout.write(
    [
      `${real ? `ONNX engine (${renderer.output().match(/"executionProvider":"(\w+)"/)?.[1] ?? '?'}), tiny-shapes 64×64, ${steps} steps` : `test engine: ${steps} steps × ${stepMs} ms`}, ${jobs} jobs one after another, default throttle (every 10 steps, ≥250 ms)`,
      `publish → started:        ${stats(toStarted)}`,
      `publish → first progress: ${stats(toProgress)}`,
      `publish → done:           ${stats(toDone)}${real ? '' : `  (render itself ≈ ${steps * stepMs} ms)`}`,
      `renderer RSS at idle: ${idleBefore.toFixed(1)} MiB before the jobs, ${idleAfter.toFixed(1)} MiB after`,
      '',
    ].join('\n'),
  );
  events.stop();
  await nc.close();
} finally {
  renderer.process.kill('SIGTERM');
  await renderer.exited;
  await server.dispose();
}
