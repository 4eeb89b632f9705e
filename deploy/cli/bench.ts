/**
 * `tessera bench` (`npm run bench`): the engine's steps/s against PyTorch eager, then the bot's
 * CPU per progress frame when the bot's benchmark is part of this checkout.
 *
 * With options (any of them), only the engine part runs, on the bundle, provider, size and
 * settings given: the GPU check (models/gpu/gpu-check.sh) times the real models this way.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runEngineBench, type EngineBenchOptions } from '../../renderer/src/bench/engine-bench.js';
import type { ExecutionProviderChoice } from '../../renderer/src/onnx/onnx-runtime.js';
import { ConfigError, loadConfig, type Config } from '../../shared/src/index.js';
import { parseWebGpuOptions } from '../../shared/src/webgpu-options.js';

const USAGE = `usage: tessera bench [options]

Without options: engine steps/s (tiny-shapes, CPU) vs PyTorch eager of the same loop, for the
classic loop and generate.py's reference loop, then the bot benchmark.
With options, the engine alone:
  --loop L             classic | reference | both (default: the model's loop)
  --model NAME         bundle under --models-dir (default tiny-shapes)
  --models-dir DIR     default <repo>/models
  --ep EP              auto | cpu | webgpu | cuda (default cpu)
  --size WxH           image size (default: the model's)
  --steps N            steps per timed render (default: the model's)
  --cutn N             cutouts per step (default: the model's)
  --frame-every N      progress frame interval (default: the model's)
  --renders N          timed renders after one warm-up (default 3)
  --threads N          CPU threads per operator (default 2)
  --webgpu-options O   WebGPU provider options, name=value,… (default: $RENDERER_WEBGPU_OPTIONS)
  --prompt TEXT        default "a red circle on a blue background"
  --no-torch           skip the PyTorch comparison (tiny-shapes only anyway)
  --json               also print the figures as one JSON line (last line)
`;

export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

function whole(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new BenchUsageError(`--${name} must be a whole number from ${min} to ${max} (got '${raw}')`);
  return Number(raw);
}

/** `undefined`: no options, the full default benchmark. `'help'`: print usage. */
export function parseBenchArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): EngineBenchOptions | 'help' | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      loop: { type: 'string' },
      'models-dir': { type: 'string' },
      ep: { type: 'string' },
      size: { type: 'string' },
      steps: { type: 'string' },
      cutn: { type: 'string' },
      'frame-every': { type: 'string' },
      renders: { type: 'string' },
      threads: { type: 'string' },
      'webgpu-options': { type: 'string' },
      prompt: { type: 'string' },
      'no-torch': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length) throw new BenchUsageError(`unexpected argument '${positionals[0]}'`);
  if (argv.length === 0) return undefined;
  const o: EngineBenchOptions = {};
  if (values.model !== undefined) o.model = values.model;
  if (values['models-dir'] !== undefined) o.modelsDir = values['models-dir'];
  if (values.loop !== undefined) {
    const loops = { classic: ['classic'], reference: ['reference'], both: ['classic', 'reference'] } as const;
    if (!Object.hasOwn(loops, values.loop))
      throw new BenchUsageError(`--loop must be classic, reference or both (got '${values.loop}')`);
    o.loops = loops[values.loop as keyof typeof loops];
  }
  if (values.ep !== undefined) {
    if (!['auto', 'cpu', 'webgpu', 'cuda'].includes(values.ep))
      throw new BenchUsageError(`--ep must be auto, cpu, webgpu or cuda (got '${values.ep}')`);
    o.ep = values.ep as ExecutionProviderChoice;
  }
  if (values.size !== undefined) {
    const m = /^(\d+)x(\d+)$/i.exec(values.size);
    if (!m) throw new BenchUsageError(`--size must look like 256x256 (got '${values.size}')`);
    o.size = [Number(m[1]), Number(m[2])];
  }
  const steps = whole('steps', values.steps, 1, 100_000);
  if (steps !== undefined) o.steps = steps;
  const cutn = whole('cutn', values.cutn, 1, 1024);
  if (cutn !== undefined) o.cutn = cutn;
  const frameEvery = whole('frame-every', values['frame-every'], 1, 100_000);
  if (frameEvery !== undefined) o.frameEvery = frameEvery;
  const renders = whole('renders', values.renders, 1, 1000);
  if (renders !== undefined) o.renders = renders;
  const threads = whole('threads', values.threads, 1, 256);
  if (threads !== undefined) o.threads = threads;
  if (values.prompt !== undefined) o.prompt = values.prompt;
  const webgpu = values['webgpu-options'];
  if (webgpu !== undefined && webgpu.trim() !== '') {
    try {
      o.webgpuOptions = parseWebGpuOptions(webgpu);
    } catch (err) {
      throw new BenchUsageError(`--webgpu-options: ${(err as Error).message}`);
    }
  } else {
    const fromConfig = loadConfig(env).RENDERER_WEBGPU_OPTIONS; // throws ConfigError on a bad value
    if (Object.keys(fromConfig).length > 0) o.webgpuOptions = fromConfig;
  }
  if (values['no-torch']) o.torch = false;
  if (values.json) o.json = true;
  return o;
}

export async function run(argv: string[]): Promise<number> {
  let options: ReturnType<typeof parseBenchArgs>;
  try {
    options = parseBenchArgs(argv);
  } catch (err) {
    if (err instanceof BenchUsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`tessera bench: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`tessera bench: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (options) {
    await runEngineBench(options);
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`tessera bench: ${err.message}\n`);
    return 2;
  }
  await runEngineBench({ loops: ['classic', 'reference'] });
  // Loaded by path: the bot's benchmark is another package's optional part.
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const botBench = new URL(`../../bot/src/bench/bot-bench.${ext}`, import.meta.url);
  if (existsSync(fileURLToPath(botBench))) {
    const mod = (await import(botBench.href)) as {
      runBotBench?: (options: { config: Config }) => Promise<void>;
    };
    if (typeof mod.runBotBench === 'function') await mod.runBotBench({ config });
  } else {
    process.stdout.write('bot     skipped: bot/src/bench/bot-bench is not in this checkout\n');
  }
  return 0;
}
