/**
 * Every message that crosses NATS, as zod schemas. Each schema is exported with its inferred
 * type under the same name; every top-level message carries `v: 1` so that a process can tell
 * an old or future message from a broken one. Parse at every boundary (see `codec.ts`).
 */
import { z } from 'zod';
import { LoopOptions, MAX_STORY_SEGMENTS } from './loop-options.js';

/** The schema version every message written by this code carries. */
export const CONTRACT_VERSION = 1 as const;

/**
 * Job ids are Discord snowflakes or other short tokens: they become NATS subject tokens and KV
 * keys, so they may not contain dots, wildcards or spaces.
 */
export const JobId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'a job id is 1-64 characters of A-Z a-z 0-9 _ -');
export type JobId = z.infer<typeof JobId>;

/**
 * The one model-name rule (NATS subject tokens, `RENDERER_MODEL`, bundle folder names under models/):
 * `tiny-shapes`, `vqgan-imagenet-f16-16384`.
 */
export const ModelName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a model name is lower-case a-z 0-9 _ - (max 64)');
export type ModelName = z.infer<typeof ModelName>;

/** A reference to bytes in the images object store (see `subjects.ts` for the store name). */
export const ImageRef = z.object({
  key: z.string().min(1).max(256),
  contentType: z.string().max(100).optional(),
  bytes: z.number().int().nonnegative().optional(),
});
export type ImageRef = z.infer<typeof ImageRef>;

const weight = z.number().finite().min(-100).max(100);
const stop = z.number().finite().min(-1).max(5);

/** One text prompt, already parsed from `text:weight:stop`. */
export const TextPrompt = z.object({
  text: z.string().trim().min(1).max(500),
  weight: weight.default(1),
  stop: stop.optional(),
});
export type TextPrompt = z.infer<typeof TextPrompt>;

/** An image prompt: the image lives in the object store. */
export const ImagePrompt = z.object({
  image: ImageRef,
  weight: weight.default(1),
  stop: stop.optional(),
});
export type ImagePrompt = z.infer<typeof ImagePrompt>;

/** Who asked (for quotas, mentions in replies, and logs). */
export const Requester = z.object({
  userId: z.string().min(1).max(64),
  guildId: z.string().max(64).optional(),
  channelId: z.string().max(64).optional(),
  interactionId: z.string().max(64).optional(),
  username: z.string().max(100).optional(),
  /** The member's fair-share weight within their server (from role weights); default 1. */
  weight: z.number().finite().min(0.01).max(100).optional(),
});
export type Requester = z.infer<typeof Requester>;

/** A render request, as published on `jobSubject(model, jobId)` with `Nats-Msg-Id: jobId`. */
export const RenderJob = z
  .object({
    v: z.literal(CONTRACT_VERSION),
    jobId: JobId,
    /** The prompt as the person typed it, for display; the renderer uses `prompts`. */
    promptText: z.string().max(2000).optional(),
    prompts: z.array(TextPrompt).max(16).default([]),
    imagePrompts: z.array(ImagePrompt).max(4).default([]),
    seed: z.number().int().min(0).max(0xffffffff),
    width: z.number().int().min(8).max(2048),
    height: z.number().int().min(8).max(2048),
    steps: z.number().int().min(1).max(10_000),
    cutn: z.number().int().min(1).max(256).optional(),
    lr: z.number().finite().positive().max(10).optional(),
    initImage: ImageRef.optional(),
    /** generate.py's options (shared/src/loop-options.ts); absent: the model's defaults. */
    ...LoopOptions.shape,
    /** Story (`a ^ b ^ c`): the prompts after `prompts`, switched to every `storyEvery` steps. */
    story: z
      .array(z.array(TextPrompt).min(1).max(16))
      .max(MAX_STORY_SEGMENTS - 1)
      .optional(),
    model: ModelName,
    requester: Requester,
    /** The job this one rerolls (🔁). */
    parentJobId: JobId.optional(),
    createdAt: z.iso.datetime(),
  })
  .refine((job) => job.prompts.length + job.imagePrompts.length > 0, {
    message: 'a job needs at least one text or image prompt',
    path: ['prompts'],
  });
export type RenderJob = z.infer<typeof RenderJob>;
/** What a producer writes before defaults are applied. */
export type RenderJobInput = z.input<typeof RenderJob>;

const eventBase = {
  v: z.literal(CONTRACT_VERSION),
  jobId: JobId,
  /** ISO time the event was produced. */
  at: z.iso.datetime(),
};
/** JetStream delivery attempt (1 = first delivery). Frames of an older attempt are stale. */
const attempt = z.number().int().min(1);

export const JobQueuedEvent = z.object({
  ...eventBase,
  type: z.literal('queued'),
  model: ModelName,
  /**
   * The scheduler's position updates (1 = next to start) and estimated wait from measured speed.
   * Absent on the first `queued` event; updates ride the frames subject (core NATS).
   */
  position: z.number().int().min(1).optional(),
  etaMs: z.number().finite().nonnegative().optional(),
});
export type JobQueuedEvent = z.infer<typeof JobQueuedEvent>;

export const JobStartedEvent = z.object({
  ...eventBase,
  type: z.literal('started'),
  rendererId: z.string().min(1).max(128),
  attempt,
  executionProvider: z.string().max(32).optional(),
  total: z.number().int().min(1).optional(),
});
export type JobStartedEvent = z.infer<typeof JobStartedEvent>;

export const JobProgressEvent = z.object({
  ...eventBase,
  type: z.literal('progress'),
  rendererId: z.string().min(1).max(128).optional(),
  attempt,
  step: z.number().int().min(0),
  total: z.number().int().min(1),
  itPerSec: z.number().finite().nonnegative(),
  /** Small WebP of the current image, base64; rides core NATS (max_payload 1 MB). */
  frame: z.string().max(900_000).optional(),
});
export type JobProgressEvent = z.infer<typeof JobProgressEvent>;

export const JobDoneEvent = z.object({
  ...eventBase,
  type: z.literal('done'),
  rendererId: z.string().min(1).max(128).optional(),
  attempt,
  image: ImageRef,
  /** The zoom video (job `zoomEvery`): an animated WebP in the images store (`renderVideoKey`). */
  video: ImageRef.optional(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  seed: z.number().int().min(0).max(0xffffffff),
  /** Steps run: fewer than the job's when auto-stop ended the render on a plateau. */
  steps: z.number().int().min(1).optional(),
  elapsedMs: z.number().nonnegative(),
});
export type JobDoneEvent = z.infer<typeof JobDoneEvent>;

/** Stable identifiers for why a job failed; the bot maps them to friendly replies. */
export const FailureCode = z.enum([
  'malformed-json',
  'unsupported-version',
  'invalid-job',
  'job-too-large',
  'unknown-model',
  'missing-image',
  'bad-input',
  'engine-error',
  'max-deliveries',
  /** No renderer took the job within the maximum queue time (`JOB_MAX_QUEUE_S`). */
  'expired',
  'internal',
]);
export type FailureCode = z.infer<typeof FailureCode>;

export const JobFailedEvent = z.object({
  ...eventBase,
  type: z.literal('failed'),
  /** A sentence a person can read. */
  reason: z.string().min(1).max(1000),
  code: FailureCode,
  /** The engine's own identifier for bad input (e.g. `unknown-words`), when there is one. */
  identifier: z.string().max(64).optional(),
  retryable: z.boolean().optional(),
  rendererId: z.string().max(128).optional(),
  attempt: attempt.optional(),
});
export type JobFailedEvent = z.infer<typeof JobFailedEvent>;

export const JobCancelledEvent = z.object({
  ...eventBase,
  type: z.literal('cancelled'),
  /** The user id (or `cli`, `system`) that asked. */
  by: z.string().min(1).max(64),
  rendererId: z.string().max(128).optional(),
  attempt: attempt.optional(),
});
export type JobCancelledEvent = z.infer<typeof JobCancelledEvent>;

/** Everything published on `eventSubject(jobId)` / `frameSubject(jobId)`. */
export const JobEvent = z.discriminatedUnion('type', [
  JobQueuedEvent,
  JobStartedEvent,
  JobProgressEvent,
  JobDoneEvent,
  JobFailedEvent,
  JobCancelledEvent,
]);
export type JobEvent = z.infer<typeof JobEvent>;

/** The events that end a job; exactly one is stored per job (KV `create`, first writer wins). */
export const TerminalJobEvent = z.discriminatedUnion('type', [
  JobDoneEvent,
  JobFailedEvent,
  JobCancelledEvent,
]);
export type TerminalJobEvent = z.infer<typeof TerminalJobEvent>;

export type JobEventType = JobEvent['type'];

/** Published on `cancelSubject(jobId)` and stored in the cancellations bucket. */
export const CancelRequest = z.object({
  v: z.literal(CONTRACT_VERSION),
  jobId: JobId,
  by: z.string().min(1).max(64),
  reason: z.string().max(500).optional(),
  at: z.iso.datetime(),
});
export type CancelRequest = z.infer<typeof CancelRequest>;

/**
 * A renderer's answer to a cancel request (queue group `cancelSettlersQueue()`): `cancelled` when
 * the job was still queued (removed and settled), `cancelling` when a renderer holds it (it stops
 * and settles within a second), `already-finished` with the result when it had ended.
 */
export const CancelReply = z.discriminatedUnion('status', [
  z.object({ v: z.literal(CONTRACT_VERSION), status: z.literal('cancelled') }),
  z.object({ v: z.literal(CONTRACT_VERSION), status: z.literal('cancelling') }),
  z.object({
    v: z.literal(CONTRACT_VERSION),
    status: z.literal('already-finished'),
    result: TerminalJobEvent.optional(),
  }),
]);
export type CancelReply = z.infer<typeof CancelReply>;

/** What a renderer says about itself through `@nats-io/services` discovery. */
export const RendererPresence = z.object({
  v: z.literal(CONTRACT_VERSION),
  id: z.string().min(1).max(128),
  model: ModelName,
  executionProvider: z.string().min(1).max(32),
  state: z.enum(['idle', 'busy', 'stopping']),
  jobId: JobId.optional(),
  /** Iterations per second over the recent steps (0 before the first job). */
  recentItPerSec: z.number().finite().nonnegative(),
  jobsDone: z.number().int().nonnegative().default(0),
  startedAt: z.iso.datetime(),
});
export type RendererPresence = z.infer<typeof RendererPresence>;

/** The fair-share scheduler's leadership lease (KV `schedulerLeaseKey()`, compare-and-set). */
export const SchedulerLease = z.object({
  v: z.literal(CONTRACT_VERSION),
  holder: z.string().min(1).max(128),
  since: z.iso.datetime(),
  heartbeatAt: z.iso.datetime(),
});
export type SchedulerLease = z.infer<typeof SchedulerLease>;

/** Written with `create` before a job is released to the jobs stream: a job is released once. */
export const DispatchMarker = z.object({
  v: z.literal(CONTRACT_VERSION),
  jobId: JobId,
  model: ModelName,
  by: z.string().min(1).max(128),
  at: z.iso.datetime(),
});
export type DispatchMarker = z.infer<typeof DispatchMarker>;

/** Server (guild) id → fair-share weight; servers not listed weigh 1. */
export const ServerWeights = z.object({
  v: z.literal(CONTRACT_VERSION),
  weights: z.record(z.string().min(1).max(64), z.number().finite().min(0.01).max(1000)),
  at: z.iso.datetime(),
});
export type ServerWeights = z.infer<typeof ServerWeights>;

/** The scheduler's view of one model's queue, written to KV every few seconds (for `/farm`). */
export const SchedulerStatus = z.object({
  v: z.literal(CONTRACT_VERSION),
  model: ModelName,
  holder: z.string().min(1).max(128),
  at: z.iso.datetime(),
  queued: z.number().int().nonnegative(),
  /** Released to the jobs stream and not yet taken by a renderer. */
  released: z.number().int().nonnegative(),
  renderers: z.number().int().nonnegative(),
  msPerStep: z.number().finite().nonnegative().optional(),
  servers: z
    .array(
      z.object({
        server: z.string().max(64),
        weight: z.number(),
        queued: z.number().int(),
        running: z.number().int(),
      }),
    )
    .max(1000),
});
export type SchedulerStatus = z.infer<typeof SchedulerStatus>;
