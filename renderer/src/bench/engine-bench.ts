/**
 * `npm run bench`, engine part: steps/s of the ONNX engine (the bundle's default settings, CPU
 * provider unless told otherwise) and, when the PyTorch environment is there, of the same model
 * and loop in PyTorch eager (models/tessera_models/bench_torch.py), and their ratio.
 *
 * With options it also times any bundle on any provider at any size (the GPU check of
 * models/REAL_MODELS.md §5 runs `tessera bench --model real --ep webgpu --size 256x256 --cutn 32
 * --steps 100 --no-torch --json` next to models/tessera_models/bench_real.py).
 */
import { spawn, spawnSync } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import type { RenderRequest } from '../engine/engine.js';
import { createOnnxEngine } from '../engine/onnx-engine.js';
import { formatWebGpuOptions, type WebGpuOptions } from '../../../shared/src/webgpu-options.js';
import type { ExecutionProviderChoice } from '../onnx/onnx-runtime.js';
import { repoRootFrom } from '../../../shared/src/repo-root.js';

const repoRoot = repoRootFrom(import.meta.url);
const PROMPT = 'a red circle on a blue background';

export interface EngineBenchOptions {
  model?: string;
  modelsDir?: string;
  renders?: number;
  threads?: number;
  /** Execution provider (default cpu: the figure the PyTorch CPU comparison is about). */
  ep?: ExecutionProviderChoice;
  /** [width, height]; the model's default size when absent. */
  size?: readonly [number, number];
  /** Steps per render, cutouts per step; the model's defaults when absent. */
  steps?: number;
  cutn?: number;
  /**
   * The loops to time, one after the other (default: the model's own); `reference` times
   * generate.py's step (step-reference.onnx) and the torch side runs the same loop.
   */
  loops?: readonly BenchLoop[];
  /** Progress frames every N steps (default: the model's, as users get them). */
  frameEvery?: number;
  prompt?: string;
  /** WebGPU provider options (see shared/src/webgpu-options.ts). */
  webgpuOptions?: WebGpuOptions;
  /** Run the PyTorch comparison (tiny-shapes only; the real models use bench_real.py). */
  torch?: boolean;
  /** Also print one JSON line with the figures (for scripts). */
  json?: boolean;
  /** Where lines go (stdout by default). */
  out?: (line: string) => void;
}

export type BenchLoop = 'classic' | 'reference';

export interface EngineBenchResult {
  /** The loop these figures are for. */
  loop: BenchLoop;
  engineStepsPerSec: number;
  /** Steps/s of the optimisation loop alone (no session loading, text encoding or final PNG). */
  engineLoopStepsPerSec: number;
  executionProvider: string;
  torchStepsPerSec?: number;
}

/** Runs `cmd` and resolves with its stdout, or rejects with its stderr's tail. */
function capture(
  cmd: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`exit ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)),
    );
  });
}

/** What one bench run timed: the figures plus the settings they were taken at. */
interface Timed {
  result: EngineBenchResult;
  width: number;
  height: number;
  steps: number;
  cutn: number;
  /** The bundle's own default size and cutouts (what bench_torch.py times for tiny-shapes). */
  defaults: { size: readonly [number, number]; cutn: number };
  /** The loop that was timed (the torch side runs the same one). */
  loop: 'classic' | 'reference';
}

/** Loads the bundle and times one warm-up plus `renders` renders on the engine. */
async function timeEngine(
  o: EngineBenchOptions,
  loop: BenchLoop | undefined,
  model: string,
  out: (line: string) => void,
): Promise<Timed> {
  const threads = o.threads ?? 2;
  const renders = o.renders ?? 3;
  const log = pino({ level: 'warn', base: null }, pino.destination(2));
  const t0 = performance.now();
  const engine = await createOnnxEngine({
    modelsDir: o.modelsDir ?? path.join(repoRoot, 'models'),
    model,
    ep: o.ep ?? 'cpu',
    webgpuOptions: o.webgpuOptions,
    log,
    intraOpNumThreads: threads,
  });
  const loadMs = performance.now() - t0;
  const executionProvider = engine.executionProvider;
  if (o.ep && o.ep !== 'auto' && executionProvider !== o.ep) {
    // The engine falls back to the CPU when a provider fails; a benchmark must not time that silently.
    await engine.close();
    throw new Error(
      `asked for the ${o.ep} provider but the engine runs on ${executionProvider} (${engine.executionProviderReason}); not timing that`,
    );
  }
  const d = engine.manifest.defaults;
  const [width, height] = o.size ?? engine.manifest.image.defaultSize;
  const steps = o.steps ?? d.steps;
  const cutn = o.cutn ?? d.cutn;
  const webgpu =
    executionProvider === 'webgpu' && o.webgpuOptions && Object.keys(o.webgpuOptions).length
      ? ` (${formatWebGpuOptions(o.webgpuOptions)})`
      : '';
  const timedLoop = loop ?? d.loop ?? 'classic';
  const settings = `${model} ${timedLoop} loop, onnxruntime-node ${executionProvider}${webgpu}${executionProvider === 'cpu' ? `, ${threads} threads` : ''}, ${width}x${height}, cutn ${cutn}`;
  const request = (n: number): RenderRequest => ({
    prompts: [{ kind: 'text', text: o.prompt ?? PROMPT, weight: 1 }],
    seed: 1,
    width,
    height,
    steps: n,
    cutn,
    loop,
    frameEvery: o.frameEvery,
  });
  try {
    out(`engine  ${settings}: sessions loaded in ${(loadMs / 1000).toFixed(1)} s`);
    const tw = performance.now();
    await engine.render(request(3), {}); // warm-up (first runs compile kernels / shaders)
    out(`engine  warm-up render (3 steps) ${((performance.now() - tw) / 1000).toFixed(1)} s`);
    let total = 0;
    let ms = 0;
    let loopSeconds = 0;
    for (let i = 0; i < renders; i++) {
      let loopRate = 0;
      const r = await engine.render(request(steps), { onProgress: (p) => (loopRate = p.itPerSec) });
      total += r.steps;
      ms += r.elapsedMs;
      loopSeconds += loopRate > 0 ? r.steps / loopRate : 0;
      out(
        `engine  render ${i + 1}/${renders}: ${r.steps} steps in ${(r.elapsedMs / 1000).toFixed(2)} s (${((1000 * r.steps) / r.elapsedMs).toFixed(2)} steps/s whole render, ${loopRate.toFixed(2)} steps/s loop)`,
      );
    }
    const engineStepsPerSec = (1000 * total) / ms;
    const engineLoopStepsPerSec = loopSeconds > 0 ? total / loopSeconds : engineStepsPerSec;
    out(
      `engine  ${settings}: ${engineStepsPerSec.toFixed(2)} steps/s whole render, ${engineLoopStepsPerSec.toFixed(2)} steps/s loop (${(1000 / engineLoopStepsPerSec).toFixed(1)} ms/step)`,
    );
    const result = { loop: timedLoop, engineStepsPerSec, engineLoopStepsPerSec, executionProvider };
    return {
      result,
      width,
      height,
      steps,
      cutn,
      defaults: { size: engine.manifest.image.defaultSize, cutn: d.cutn },
      loop: timedLoop,
    };
  } finally {
    await engine.close();
  }
}

/**
 * Why there is no PyTorch figure to compare with, or undefined when there is one:
 * bench_torch.py times tiny-shapes at its default size and cutouts on the CPU, nothing else.
 */
export function torchComparisonGap(
  model: string,
  ep: string,
  timed: Pick<Timed, 'width' | 'height' | 'cutn' | 'defaults'>,
): string | undefined {
  if (model !== 'tiny-shapes')
    return `no PyTorch reference for ${model} here (models/tessera_models/bench_real.py times the real models: models/gpu/README.md)`;
  if (ep !== 'cpu') return `the PyTorch reference runs on the CPU; the engine ran on ${ep}`;
  const [w, h] = timed.defaults.size;
  if (timed.width !== w || timed.height !== h || timed.cutn !== timed.defaults.cutn)
    return `the PyTorch reference times tiny-shapes at ${w}x${h}, cutn ${timed.defaults.cutn} only`;
  return undefined;
}

/** PyTorch eager on the same model and loop (tiny-shapes on the CPU), or undefined with the reason printed. */
async function torchStepsPerSec(
  threads: number,
  timed: Pick<Timed, 'cutn' | 'loop'>,
  out: (line: string) => void,
): Promise<number | undefined> {
  const env = path.resolve(repoRoot, '..', 'shared', 'tools', 'pytorch-env');
  const script = path.join('models', 'tessera_models', 'bench_torch.py');
  const available =
    (await access(path.join(repoRoot, script)).then(
      () => true,
      () => false,
    )) && spawnSync(env, ['ready']).status === 0;
  if (!available) {
    out(
      `torch   skipped: the PyTorch environment (${path.relative(repoRoot, env)} ready) or ${script} is not here; the ratio needs both`,
    );
    return undefined;
  }
  try {
    // Passive OpenMP waits, like the engine's non-spinning onnxruntime threads: on a busy 2-core
    // machine spinning threads make PyTorch 20x slower, which would flatter the ratio.
    const loopArgs = timed.loop === 'reference' ? ['--loop', 'reference'] : [];
    const args = ['python', script, '--threads', String(threads), '--cutn', String(timed.cutn), ...loopArgs];
    const stdout = await capture(env, args, repoRoot, 600_000, {
      ...process.env,
      OMP_WAIT_POLICY: 'PASSIVE',
    });
    const line = stdout
      .trim()
      .split('\n')
      .reverse()
      .find((l) => l.startsWith('{'));
    const parsed = line ? (JSON.parse(line) as { torch_steps_per_s?: unknown }) : {};
    if (typeof parsed.torch_steps_per_s !== 'number')
      throw new Error(`no torch_steps_per_s in its output: ${stdout.slice(-300)}`);
    out(
      `torch   same model and loop, PyTorch eager CPU, ${threads} threads (OMP_WAIT_POLICY=PASSIVE): ${parsed.torch_steps_per_s.toFixed(1)} steps/s`,
    );
    return parsed.torch_steps_per_s;
  } catch (err) {
    out(`torch   failed: ${(err as Error).message}`);
    return undefined;
  }
}

/** Times each loop asked for (`o.loops`, default the model's) and prints a summary of the ratios. */
export async function runEngineBench(o: EngineBenchOptions = {}): Promise<EngineBenchResult[]> {
  const out = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const results: EngineBenchResult[] = [];
  for (const loop of o.loops?.length ? o.loops : [undefined]) results.push(await benchOneLoop(o, loop, out));
  if (results.length > 1)
    out(
      `summary ${results
        .map(
          (r) =>
            `${r.loop}: engine ${r.engineStepsPerSec.toFixed(1)} steps/s${r.torchStepsPerSec === undefined ? '' : `, torch ${r.torchStepsPerSec.toFixed(1)}, ratio ${(r.engineStepsPerSec / r.torchStepsPerSec).toFixed(2)}`}`,
        )
        .join('; ')}`,
    );
  return results;
}

async function benchOneLoop(
  o: EngineBenchOptions,
  loop: BenchLoop | undefined,
  out: (line: string) => void,
): Promise<EngineBenchResult> {
  const model = o.model ?? 'tiny-shapes';
  const timed = await timeEngine(o, loop, model, out);
  let result = timed.result;
  if (o.torch !== false) {
    const gap = torchComparisonGap(model, result.executionProvider, timed);
    const torch = gap === undefined ? await torchStepsPerSec(o.threads ?? 2, timed, out) : undefined;
    if (gap !== undefined) out(`torch   no comparison: ${gap}`);
    if (torch !== undefined) {
      out(`ratio   ${timed.loop} loop: engine / torch = ${(result.engineStepsPerSec / torch).toFixed(2)}`);
      result = { ...result, torchStepsPerSec: torch };
    }
  }
  if (o.json) {
    out(
      JSON.stringify({
        runner: `onnxruntime-node-${result.executionProvider}`,
        model,
        webgpuOptions: o.webgpuOptions ?? {},
        W: timed.width,
        H: timed.height,
        cutn: timed.cutn,
        steps: timed.steps,
        renders: o.renders ?? 3,
        ...result,
        ms_per_step: 1000 / result.engineLoopStepsPerSec,
        it_per_s: result.engineLoopStepsPerSec,
      }),
    );
  }
  return result;
}
