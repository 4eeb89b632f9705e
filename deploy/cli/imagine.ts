/**
 * `tessera imagine "prompt" [--seed N] [--steps N] …`: submits a render to the farm over NATS,
 * draws a progress bar on stderr, writes the frames and the final image under ./out/, and prints
 * the image's path on stdout. Ctrl-C cancels the job.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  JobEvent,
  checkModelServed,
  connectFromConfig,
  decodeMessage,
  bindFarm,
  schedulerLeads,
  FarmNotSetUpError,
  eventSubject,
  jobEventSubjects,
  farmSettingsFromConfig,
  frameSubject,
  getJobResult,
  initialJobView,
  inputImageKey,
  loadConfig,
  parsePromptLine,
  reduceJobView,
  requestCancel,
  servedModels,
  submitJob,
  type Config,
  type Farm,
  type JobView,
  type RenderJobInput,
} from '../../shared/src/index.js';
import { readManifest } from '../../renderer/src/index.js';
import { withLocalCredentials } from './credentials.js';
import { repoRootFrom } from '../../shared/src/repo-root.js';

const USAGE = `usage: tessera imagine "text[:weight[:stop]] | …" [options]

options:
  --seed N          random seed (default: random; printed so you can repeat a render)
  --steps N         iterations (default: the model's)
  --size WxH        image size (default: the model's)
  --cutn N          cutouts per step      --lr X   learning rate
  --init FILE       start from this image (uploaded to the object store)
  --model NAME      model (default RENDERER_MODEL)
  --out DIR         where frames and the image go (default ./out)
  --no-frames       do not write progress frames
  --timeout S       give up after S seconds (default 600)
Connects to NATS_URL. Frames go to OUT/<jobId>/frame-<step>.webp, the image to OUT/<jobId>.png.
`;

interface ModelDefaults {
  width: number;
  height: number;
  steps: number;
}

/** The model's defaults from a local bundle manifest, when this machine has one. */
async function modelDefaults(config: Config, model: string): Promise<ModelDefaults> {
  const fallback = { width: 64, height: 64, steps: 100 };
  for (const dir of [
    path.resolve(config.RENDERER_MODELS_DIR),
    path.resolve(repoRootFrom(import.meta.url), config.RENDERER_MODELS_DIR),
  ]) {
    try {
      const { manifest } = await readManifest(dir, model);
      const [width, height] = manifest.image.defaultSize;
      return { width, height, steps: manifest.defaults.steps };
    } catch {
      // not here
    }
  }
  return fallback;
}

function bar(view: JobView, width = 30): string {
  const total = view.total ?? 1;
  const done = Math.min(1, view.step / total);
  const filled = Math.round(done * width);
  const rate = view.itPerSec ? ` ${view.itPerSec.toFixed(1)} it/s` : '';
  const who = view.rendererId
    ? ` on ${view.rendererId}${view.attempt > 1 ? ` (attempt ${view.attempt})` : ''}`
    : '';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${view.step}/${total}${rate}${who}`;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        seed: { type: 'string' },
        steps: { type: 'string' },
        size: { type: 'string' },
        cutn: { type: 'string' },
        lr: { type: 'string' },
        init: { type: 'string' },
        model: { type: 'string' },
        out: { type: 'string', default: 'out' },
        'no-frames': { type: 'boolean', default: false },
        timeout: { type: 'string', default: '600' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    process.stderr.write(`tessera imagine: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  let config: Config;
  try {
    config = withLocalCredentials(loadConfig(), 'operator');
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`tessera imagine: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const promptText = positionals.join(' ');
  const prompts = parsePromptLine(promptText);
  if (!prompts.ok) {
    process.stderr.write(`tessera imagine: ${prompts.error.message}\n`);
    return 2;
  }
  const model = values.model ?? config.RENDERER_MODEL;
  const defaults = await modelDefaults(config, model);
  const num = (name: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new Error(`--${name} expects a number, got ${JSON.stringify(raw)}`);
    return n;
  };
  let width = defaults.width;
  let height = defaults.height;
  if (values.size) {
    const m = /^(\d+)x(\d+)$/.exec(values.size);
    if (!m) {
      process.stderr.write(`tessera imagine: --size expects WxH, e.g. 64x64\n`);
      return 2;
    }
    width = Number(m[1]);
    height = Number(m[2]);
  }
  const jobId = `cli-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const seed = values.seed !== undefined ? num('seed', values.seed)! : randomInt(0, 2 ** 32 - 1);
  const job: RenderJobInput = {
    v: 1,
    jobId,
    promptText,
    prompts: prompts.prompts,
    seed,
    width,
    height,
    steps: num('steps', values.steps) ?? defaults.steps,
    model,
    requester: { userId: 'cli', username: os.userInfo().username || 'cli' },
    createdAt: new Date().toISOString(),
    ...(values.cutn !== undefined ? { cutn: num('cutn', values.cutn)! } : {}),
    ...(values.lr !== undefined ? { lr: num('lr', values.lr)! } : {}),
  };

  let nc;
  try {
    nc = await connectFromConfig(config, 'tessera-imagine', { waitOnFirstConnect: false, role: 'operator' });
  } catch (e) {
    process.stderr.write(
      `tessera imagine: cannot reach NATS at ${config.NATS_URL}: ${(e as Error).message} (is it running? npm start)\n`,
    );
    return 1;
  }
  try {
    const served = checkModelServed(model, await servedModels(nc));
    if (!served.ok) {
      process.stderr.write(`tessera imagine: ${served.error.message}\n`);
      return 1;
    }
    let farm: Farm;
    try {
      farm = await bindFarm(nc, farmSettingsFromConfig(config, []), { schedulerBucket: true });
      // SCHEDULER unset: follow the farm (intake when a scheduler leads, as under `npm start`).
      if (process.env.SCHEDULER === undefined && (await schedulerLeads(farm, config.SCHEDULER_LEASE_MS)))
        farm = { ...farm, settings: { ...farm.settings, scheduler: true } };
    } catch (e) {
      if (!(e instanceof FarmNotSetUpError)) throw e;
      process.stderr.write(`tessera imagine: ${e.message}\n`);
      return 1;
    }
    if (values.init) {
      const key = inputImageKey(jobId, path.basename(values.init));
      await farm.images.putBlob({ name: key }, new Uint8Array(await readFile(values.init)));
      job.initImage = { key };
    }
    const outDir = path.resolve(values.out);
    const framesDir = path.join(outDir, jobId);
    if (!values['no-frames']) await mkdir(framesDir, { recursive: true });
    else await mkdir(outDir, { recursive: true });

    let view = initialJobView(jobId);
    let resolveEnd!: () => void;
    const ended = new Promise<void>((r) => (resolveEnd = r));
    const tty = process.stderr.isTTY;
    let lastPrinted = -1;
    const writes: Promise<void>[] = [];
    const onEvent = (event: JobEvent): void => {
      const next = reduceJobView(view, event);
      if (next === view) return;
      if (event.type === 'progress' && event.frame && !values['no-frames']) {
        const file = path.join(
          framesDir,
          `frame-a${event.attempt}-${String(event.step).padStart(5, '0')}.webp`,
        );
        writes.push(writeFile(file, Buffer.from(event.frame, 'base64')));
      }
      view = next;
      if (tty) process.stderr.write(`\r${bar(view)}\x1b[K`);
      else if (Math.floor((view.step / (view.total ?? 1)) * 10) !== lastPrinted) {
        lastPrinted = Math.floor((view.step / (view.total ?? 1)) * 10);
        process.stderr.write(`${bar(view)}\n`);
      }
      if (view.result) resolveEnd();
    };
    for (const subject of [...jobEventSubjects(jobId), frameSubject(jobId)]) {
      nc.subscribe(subject, {
        callback: (_err, msg) => {
          const decoded = decodeMessage(JobEvent, msg.data);
          if (decoded.ok) onEvent(decoded.value);
        },
      });
    }
    await nc.flush();
    const submitted = await submitJob(farm, job);
    process.stderr.write(
      `job ${jobId}: seed ${seed}, ${width}x${height}, ${submitted.job.steps} steps, model ${model}\n`,
    );

    // Events may be missed across a reconnect; the results bucket is the source of truth.
    const poll = setInterval(() => {
      void getJobResult(farm, jobId).then(
        (r) => r && onEvent(r),
        () => undefined,
      );
    }, 2000);
    let interrupted = false;
    const onSigint = (): void => {
      if (interrupted) return;
      interrupted = true;
      process.stderr.write('\ncancelling…\n');
      void requestCancel(farm, { jobId, by: 'cli' }).then((o) => {
        if (o.status === 'cancelled') resolveEnd();
      });
    };
    process.on('SIGINT', onSigint);
    const timeoutMs = (num('timeout', values.timeout) ?? 600) * 1000;
    const timer = setTimeout(resolveEnd, timeoutMs);
    await ended;
    clearTimeout(timer);
    clearInterval(poll);
    process.off('SIGINT', onSigint);
    await Promise.all(writes);
    if (tty) process.stderr.write('\n');

    const result = view.result ?? (await getJobResult(farm, jobId));
    if (!result) {
      process.stderr.write(
        interrupted
          ? `job ${jobId} cancelled\n`
          : `tessera imagine: no result after ${timeoutMs / 1000} s (is a renderer running? try: npx tessera farm)\n`,
      );
      return interrupted ? 130 : 1;
    }
    if (result.type === 'failed') {
      process.stderr.write(`tessera imagine: failed (${result.code}): ${result.reason}\n`);
      return 1;
    }
    if (result.type === 'cancelled') {
      process.stderr.write(`job ${jobId} cancelled by ${result.by}\n`);
      return 130;
    }
    const png = await farm.images.getBlob(result.image.key);
    if (!png) {
      process.stderr.write(`tessera imagine: the image ${result.image.key} is no longer stored\n`);
      return 1;
    }
    const file = path.join(outDir, `${jobId}.png`);
    await writeFile(file, png);
    process.stderr.write(
      `done in ${(result.elapsedMs / 1000).toFixed(1)} s on ${result.rendererId ?? 'a renderer'}\n`,
    );
    process.stdout.write(`${path.relative(process.cwd(), file)}\n`);
    return 0;
  } finally {
    await nc.drain().catch(() => undefined);
  }
}
