/**
 * Every NATS name tessera uses: subjects, streams, consumers, KV buckets and the object store.
 * Build them here and nowhere else.
 *
 * Layout:
 * - jobs:    `tessera.jobs.<model>.<jobId>`  → work-queue stream `TESSERA_JOBS`, one durable pull
 *            consumer per model (`renderer-<model>`, filter `tessera.jobs.<model>.*`).
 * - events:  `tessera.events.<jobId>`        → stream `TESSERA_EVENTS` (bounded by age): queued,
 *            started, so a restarted bot can catch up; the one terminal event (done, failed,
 *            cancelled) on `tessera.events.<jobId>.end`, which the stream stores at most once.
 * - frames:  `tessera.frames.<jobId>`        → core NATS only: progress events with frames.
 * - cancel:  `tessera.cancel.<jobId>`        → core NATS; the marker lives in the cancellations bucket.
 * - intake:  `tessera.intake.<model>.<jobId>` → stream `TESSERA_INTAKE` (limits retention): jobs waiting
 *            for the fair-share scheduler, which removes each one once it is on the jobs stream.
 */
import { JobId, ModelName } from './contracts.js';

export const SUBJECT_ROOT = 'tessera';

function token(kind: string, value: string, schema: typeof JobId | typeof ModelName): string {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new TypeError(`not a valid ${kind} for a NATS subject: ${JSON.stringify(value)}`);
  }
  return parsed.data;
}

/** Work-queue stream holding render jobs until a renderer acks them. */
export function jobsStream(): string {
  return 'TESSERA_JOBS';
}
/** The subjects the jobs stream captures: exactly `tessera.jobs.<model>.<jobId>`. */
export function jobsStreamSubjects(): string[] {
  return [`${SUBJECT_ROOT}.jobs.*.*`];
}
export function jobSubject(model: string, jobId: string): string {
  return `${SUBJECT_ROOT}.jobs.${token('model', model, ModelName)}.${token('job id', jobId, JobId)}`;
}
/** Every job subject, whatever the model (`tessera.jobs.>`). */
export function allJobsSubject(): string {
  return `${SUBJECT_ROOT}.jobs.>`;
}
/** Filter of one model's durable consumer. */
export function modelJobsFilter(model: string): string {
  return `${SUBJECT_ROOT}.jobs.${token('model', model, ModelName)}.*`;
}
/** The durable pull consumer every renderer of `model` shares. */
export function jobsConsumer(model: string): string {
  return `renderer-${token('model', model, ModelName)}`;
}
/** Parses `tessera.jobs.<model>.<jobId>` back into its parts (undefined if it is not one). */
export function parseJobSubject(subject: string): { model: string; jobId: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== SUBJECT_ROOT || parts[1] !== 'jobs') return undefined;
  const [, , model, jobId] = parts as [string, string, string, string];
  return { model, jobId };
}
/** Advisory the server publishes when a job message hits MaxDeliver. */
export function maxDeliveriesAdvisory(model: string): string {
  return `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${jobsStream()}.${jobsConsumer(model)}`;
}

/** Jobs waiting for the fair-share scheduler (when it is on); it deletes each message once released. */
export function intakeStream(): string {
  return 'TESSERA_INTAKE';
}
/** The subjects the intake stream captures: exactly `tessera.intake.<model>.<jobId>`. */
export function intakeStreamSubjects(): string[] {
  return [`${SUBJECT_ROOT}.intake.*.*`];
}
export function intakeSubject(model: string, jobId: string): string {
  return `${SUBJECT_ROOT}.intake.${token('model', model, ModelName)}.${token('job id', jobId, JobId)}`;
}
/** Parses `tessera.intake.<model>.<jobId>` back into its parts (undefined if it is not one). */
export function parseIntakeSubject(subject: string): { model: string; jobId: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== SUBJECT_ROOT || parts[1] !== 'intake') return undefined;
  const [, , model, jobId] = parts as [string, string, string, string];
  return { model, jobId };
}

/** Durable stream of job lifecycle events, bounded by age. */
export function eventsStream(): string {
  return 'TESSERA_EVENTS';
}
export function eventSubject(jobId: string): string {
  return `${SUBJECT_ROOT}.events.${token('job id', jobId, JobId)}`;
}
/**
 * Subject of a job's terminal event (done | failed | cancelled). It is published with an expected
 * last subject sequence of 0, so the events stream itself refuses a second one, whatever the
 * duplicate window.
 */
export function terminalEventSubject(jobId: string): string {
  return `${eventSubject(jobId)}.end`;
}
/** Every subject one job's lifecycle events arrive on (for a core subscription to one job). */
export function jobEventSubjects(jobId: string): string[] {
  return [eventSubject(jobId), queuedEventSubject(jobId), terminalEventSubject(jobId)];
}
/** Every job event subject, terminal ones included. */
export function allEventsSubject(): string {
  return `${SUBJECT_ROOT}.events.>`;
}
/**
 * `queued` rides its own subject (`tessera.events.<jobId>.queued`) because submitters publish it:
 * the server lets the bot and the operator publish only these, and only renderers the lifecycle
 * events on `eventSubject(jobId)` (started, done, failed, cancelled). Both are in the events stream.
 */
export function queuedEventSubject(jobId: string): string {
  return `${SUBJECT_ROOT}.events.${token('job id', jobId, JobId)}.queued`;
}
/** Permission pattern of `queuedEventSubject` (submitters). */
export function queuedEventsSubjects(): string[] {
  return [`${SUBJECT_ROOT}.events.*.queued`];
}
/** Permission pattern of `eventSubject` and `terminalEventSubject` (renderers only). */
export function lifecycleEventsSubjects(): string[] {
  return [`${SUBJECT_ROOT}.events.*`, `${SUBJECT_ROOT}.events.*.end`];
}
/** `Nats-Msg-Id` of an event, so a retried publish of the same event is stored once. */
export function eventMsgId(jobId: string, type: string, attempt?: number): string {
  return attempt === undefined ? `${jobId}.${type}` : `${jobId}.${type}.${attempt}`;
}

/** Progress events (with frames) ride core NATS: nobody needs an old frame. */
export function frameSubject(jobId: string): string {
  return `${SUBJECT_ROOT}.frames.${token('job id', jobId, JobId)}`;
}
export function allFramesSubject(): string {
  return `${SUBJECT_ROOT}.frames.>`;
}

export function cancelSubject(jobId: string): string {
  return `${SUBJECT_ROOT}.cancel.${token('job id', jobId, JobId)}`;
}
export function allCancelsSubject(): string {
  return `${SUBJECT_ROOT}.cancel.*`;
}
/**
 * Queue group in which one renderer answers each cancel request: it removes a job that is still
 * queued and settles it `cancelled` (only renderers may write results and lifecycle events).
 */
export function cancelSettlersQueue(): string {
  return 'tessera-cancel-settlers';
}

/** KV: jobId → the terminal event (done | failed | cancelled); written with `create`. */
export function resultsBucket(): string {
  return 'tessera-results';
}
/** KV: jobId → the submitted RenderJob, for rerolls and for a bot that restarted. */
export function jobsBucket(): string {
  return 'tessera-jobs';
}
/** KV: jobId → CancelRequest, so a job still queued is cancelled when a renderer takes it. */
export function cancellationsBucket(): string {
  return 'tessera-cancellations';
}
/**
 * KV of the fair-share scheduler: the leadership lease (`lease`), one dispatch marker per released
 * job (`dispatch.<jobId>`, written with `create`), operator weights and a status snapshot per model.
 */
export function schedulerBucket(): string {
  return 'tessera-scheduler';
}
export function schedulerLeaseKey(): string {
  return 'lease';
}
export function dispatchMarkerKey(jobId: string): string {
  return `dispatch.${token('job id', jobId, JobId)}`;
}
/** Server (guild) weights set by the operator (`tessera farm weights`); overrides the config. */
export function serverWeightsKey(): string {
  return 'weights.servers';
}
export function schedulerStatusKey(model: string): string {
  return `status.${token('model', model, ModelName)}`;
}
/** KV for the bot: quota counters (compare-and-set with `update`). */
export function quotasBucket(): string {
  return 'tessera-quotas';
}
/** KV for the bot: per-guild settings. */
export function guildSettingsBucket(): string {
  return 'tessera-guild-settings';
}
/** KV for the bot: render records (`job.<jobId>`, `msg.<messageId>`) so a restarted bot finishes its messages. */
export function renderRecordsBucket(): string {
  return 'tessera-bot-renders';
}
/** Durable consumer of the events stream for the bot of one Discord application. */
export function botEventsConsumer(applicationId: string): string {
  return `tessera-bot-${applicationId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}
/** Object store: final renders, init images and image prompts. */
export function imagesStore(): string {
  return 'tessera-images';
}
/** Object key of a final render; per attempt so a late duplicate never overwrites the winner. */
export function renderImageKey(jobId: string, attempt: number): string {
  return `renders/${token('job id', jobId, JobId)}/attempt-${attempt}.png`;
}
/** Object key of a zoom video (an animated WebP) of a final render, per attempt like the image. */
export function renderVideoKey(jobId: string, attempt: number): string {
  return `renders/${token('job id', jobId, JobId)}/attempt-${attempt}.webp`;
}
/** Object key of an uploaded input image (init image or image prompt). */
export function inputImageKey(jobId: string, name: string): string {
  return `inputs/${token('job id', jobId, JobId)}/${name.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/** `@nats-io/services` name under which renderers announce themselves. */
export function rendererServiceName(): string {
  return 'tessera-renderer';
}
/** Subject of a renderer's `presence` endpoint (request → RendererPresence). */
export function rendererPresenceSubject(rendererId: string): string {
  return `${SUBJECT_ROOT}.renderer.${rendererId.replace(/[^A-Za-z0-9_-]/g, '_')}.presence`;
}
