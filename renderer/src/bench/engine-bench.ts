/**
 * `npm run bench`, engine part: steps/s of the ONNX engine (CPU provider, the bundle's default
 * settings) and, when the PyTorch environment is there, of the same model and loop in PyTorch
 * eager (models/tessera_models/bench_torch.py), and their ratio.
 */
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { RenderRequest } from '../engine/engine.js';
import { createOnnxEngine } from '../engine/onnx-engine.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PROMPT = 'a red circle on a blue background';

export interface EngineBenchOptions {
  model?: string;
  modelsDir?: string;
  renders?: number;
  threads?: number;
  /** Where lines go (stdout by default). */
  out?: (line: string) => void;
}

export interface EngineBenchResult {
  engineStepsPerSec: number;
  torchStepsPerSec?: number;
}

/** Runs `cmd` and resolves with its stdout, or rejects with its stderr's tail. */
function capture(cmd: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve(stdout) : reject(new Error(`exit ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}

export async function runEngineBench(o: EngineBenchOptions = {}): Promise<EngineBenchResult> {
  const out = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const model = o.model ?? 'tiny-shapes';
  const threads = o.threads ?? 2;
  const renders = o.renders ?? 3;
  const log = pino({ level: 'warn', base: null }, pino.destination(2));
  const engine = await createOnnxEngine({ modelsDir: o.modelsDir ?? path.join(repoRoot, 'models'), model, ep: 'cpu', log, intraOpNumThreads: threads });
  let engineStepsPerSec: number;
  try {
    const d = engine.manifest.defaults;
    const [width, height] = engine.manifest.image.defaultSize;
    const request = (steps: number): RenderRequest => ({ prompts: [{ kind: 'text', text: PROMPT, weight: 1 }], seed: 1, width, height, steps });
    await engine.render(request(3), {}); // warm-up
    let steps = 0;
    let ms = 0;
    let loopRate = 0;
    for (let i = 0; i < renders; i++) {
      const r = await engine.render(request(d.steps), { onProgress: (p) => (loopRate = p.itPerSec) });
      steps += r.steps;
      ms += r.elapsedMs;
      out(`engine  render ${i + 1}/${renders}: ${r.steps} steps in ${(r.elapsedMs / 1000).toFixed(2)} s (${((1000 * r.steps) / r.elapsedMs).toFixed(1)} steps/s whole render, ${loopRate.toFixed(1)} steps/s loop)`);
    }
    engineStepsPerSec = (1000 * steps) / ms;
    out(`engine  ${model}, onnxruntime-node CPU, ${threads} threads, cutn ${d.cutn}, ${width}x${height}: ${engineStepsPerSec.toFixed(1)} steps/s`);
  } finally {
    await engine.close();
  }

  const env = path.resolve(repoRoot, '..', 'shared', 'tools', 'pytorch-env');
  const script = path.join('models', 'tessera_models', 'bench_torch.py');
  const available = await access(env).then(() => access(path.join(repoRoot, script)).then(() => true), () => false);
  if (!available) {
    out(`torch   skipped: the PyTorch environment (${path.relative(repoRoot, env)}) or ${script} is not here; the ratio needs both`);
    return { engineStepsPerSec };
  }
  try {
    // Passive OpenMP waits, like the engine's non-spinning onnxruntime threads: on a busy 2-core
    // machine spinning threads make PyTorch 20x slower, which would flatter the ratio.
    const stdout = await capture(env, ['python', script, '--threads', String(threads)], repoRoot, 600_000, { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' });
    const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
    const parsed = line ? (JSON.parse(line) as { torch_steps_per_s?: unknown }) : {};
    if (typeof parsed.torch_steps_per_s !== 'number') throw new Error(`no torch_steps_per_s in its output: ${stdout.slice(-300)}`);
    const torchStepsPerSec = parsed.torch_steps_per_s;
    out(`torch   same model and loop, PyTorch eager CPU, ${threads} threads (OMP_WAIT_POLICY=PASSIVE): ${torchStepsPerSec.toFixed(1)} steps/s`);
    out(`ratio   engine / torch = ${(engineStepsPerSec / torchStepsPerSec).toFixed(2)}`);
    return { engineStepsPerSec, torchStepsPerSec };
  } catch (err) {
    out(`torch   failed: ${(err as Error).message}`);
    return { engineStepsPerSec };
  }
}
