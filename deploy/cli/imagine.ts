/**
 * `tessera imagine "prompt" [--seed N] [--steps N] …`: submits a render to the farm over NATS,
 * draws a progress bar on stderr, writes the frames and the final image under ./out/, and prints
 * the image's path on stdout. Ctrl-C cancels the job.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ConfigError,
  JobEvent,
  checkModelServed,
  connectFromConfig,
  decodeMessage,
  bindFarm,
  schedulerLeads,
  FarmNotSetUpError,
  jobEventSubjects,
  farmSettingsFromConfig,
  frameSubject,
  getJobResult,
  initialJobView,
  inputImageKey,
  loadConfig,
  reduceJobView,
  requestCancel,
  servedModels,
  submitJob,
  type Config,
  type Farm,
  type JobView,
  type RenderJobInput,
} from '../../shared/src/index.js';
import { withLocalCredentials } from './credentials.js';
import { ImagineUsageError, jobFromArgs, num, parseImagineArgs } from './imagine-job.js';

const USAGE = `usage: tessera imagine "text[:weight[:stop]] | … [^ next story part …]" [options]

options:
  --seed N          random seed (default: random; printed so you can repeat a render)
  --steps N         iterations (default: the model's)
  --size WxH        image size (default: the model's)
  --options "…"     generate.py's options as /imagine takes them, e.g.
                    "loop=reference cutn=32 augments=Af,Pe optimiser=AdamW init_noise=pixels"
  --cutn N --lr X --loop L --cut-method M --cut-pow X --augments LIST --cut-noise X
  --optimiser O --init-weight X --init-noise pixels|gradient --story-every N --zoom-every N
  --zoom-scale X --zoom-shift-x N --zoom-shift-y N --auto-stop-window N --auto-stop-delta X
                    the same options as the flags of tessera render (see tessera render --help)
  --init FILE       start from this image (uploaded to the object store)
  --model NAME      model (default RENDERER_MODEL)
  --out DIR         where frames and the image go (default ./out)
  --no-frames       do not write progress frames
  --timeout S       give up after S seconds (default 600)
Connects to NATS_URL. Frames go to OUT/<jobId>/frame-<step>.webp, the image to OUT/<jobId>.png
(its path is printed), a zoom video (zoom_every) to OUT/<jobId>.webp (printed on the next line).
`;

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

type NatsConnection = Awaited<ReturnType<typeof connectFromConfig>>;

interface Progress {
  readonly view: JobView;
  /** Settles once the job has a result, or `end()` is called (cancel, timeout). */
  readonly ended: Promise<void>;
  end(): void;
  onEvent(event: JobEvent): void;
  /** Waits for the frame writes and ends the progress line. */
  flush(): Promise<void>;
}

/** The job's view folded from its events: a bar on stderr and, unless `framesDir` is absent, frames. */
function trackProgress(jobId: string, framesDir: string | undefined): Progress {
  let view = initialJobView(jobId);
  let resolveEnd!: () => void;
  const ended = new Promise<void>((r) => (resolveEnd = r));
  const tty = process.stderr.isTTY;
  let lastPrinted = -1;
  const writes: Promise<void>[] = [];
  return {
    get view() {
      return view;
    },
    ended,
    end: () => resolveEnd(),
    onEvent(event) {
      const next = reduceJobView(view, event);
      if (next === view) return;
      if (event.type === 'progress' && event.frame && framesDir) {
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
    },
    async flush() {
      await Promise.all(writes);
      if (tty) process.stderr.write('\n');
    },
  };
}

/** Submits the job and waits for its end: a result, a Ctrl-C cancel, or the timeout. */
async function submitAndWait(
  nc: NatsConnection,
  farm: Farm,
  job: RenderJobInput,
  timeoutMs: number,
  progress: Progress,
): Promise<{ interrupted: boolean }> {
  const { jobId } = job;
  for (const subject of [...jobEventSubjects(jobId), frameSubject(jobId)]) {
    nc.subscribe(subject, {
      callback: (_err, msg) => {
        const decoded = decodeMessage(JobEvent, msg.data);
        if (decoded.ok) progress.onEvent(decoded.value);
      },
    });
  }
  await nc.flush();
  const submitted = await submitJob(farm, job);
  process.stderr.write(
    `job ${jobId}: seed ${job.seed}, ${job.width}x${job.height}, ${submitted.job.steps} steps, model ${job.model}\n`,
  );

  // Events may be missed across a reconnect; the results bucket is the source of truth.
  const poll = setInterval(() => {
    void getJobResult(farm, jobId).then(
      (r) => r && progress.onEvent(r),
      () => undefined,
    );
  }, 2000);
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write('\ncancelling…\n');
    void requestCancel(farm, { jobId, by: 'cli' }).then((o) => {
      if (o.status === 'cancelled') progress.end();
    });
  };
  process.on('SIGINT', onSigint);
  const timer = setTimeout(() => progress.end(), timeoutMs);
  await progress.ended;
  clearTimeout(timer);
  clearInterval(poll);
  process.off('SIGINT', onSigint);
  await progress.flush();
  return { interrupted };
}

/** Says how the job ended and saves its image to `OUT/<jobId>.png`; the exit code. */
async function saveResult(
  farm: Farm,
  jobId: string,
  progress: Progress,
  ending: { interrupted: boolean; timeoutMs: number; outDir: string },
): Promise<number> {
  const result = progress.view.result ?? (await getJobResult(farm, jobId));
  if (!result) {
    process.stderr.write(
      ending.interrupted
        ? `job ${jobId} cancelled\n`
        : `tessera imagine: no result after ${ending.timeoutMs / 1000} s (is a renderer running? try: npx tessera farm)\n`,
    );
    return ending.interrupted ? 130 : 1;
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
  const file = path.join(ending.outDir, `${jobId}.png`);
  await writeFile(file, png);
  const video = result.video ? await farm.images.getBlob(result.video.key) : null;
  const videoFile = path.join(ending.outDir, `${jobId}.webp`);
  if (video) await writeFile(videoFile, video);
  process.stderr.write(
    `done in ${(result.elapsedMs / 1000).toFixed(1)} s on ${result.rendererId ?? 'a renderer'}\n`,
  );
  process.stdout.write(`${path.relative(process.cwd(), file)}\n`);
  if (video) process.stdout.write(`${path.relative(process.cwd(), videoFile)}\n`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseImagineArgs(argv);
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
  let job: RenderJobInput;
  try {
    job = await jobFromArgs(values, positionals, config);
  } catch (e) {
    if (!(e instanceof ImagineUsageError)) throw e;
    process.stderr.write(`tessera imagine: ${e.message}\n`);
    return 2;
  }
  const { jobId } = job;

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
    const served = checkModelServed(job.model, await servedModels(nc));
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

    const progress = trackProgress(jobId, values['no-frames'] ? undefined : framesDir);
    const timeoutMs = (num('timeout', values.timeout) ?? 600) * 1000;
    const { interrupted } = await submitAndWait(nc, farm, job, timeoutMs, progress);
    return await saveResult(farm, jobId, progress, { interrupted, timeoutMs, outDir });
  } finally {
    await nc.drain().catch(() => undefined);
  }
}
