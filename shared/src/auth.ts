/**
 * Who may do what on the farm's NATS: one permissions table per role, built from the names in
 * `subjects.ts`, and the nats-server `authorization {}` block rendered from it. `tessera start`,
 * the tests and deploy all use `renderAuthConfig`, so the suite exercises the shipped permissions.
 *
 * Subjects checked against nats-server 2.9.10 and 2.10 (JetStream API:
 * https://docs.nats.io/reference/reference-protocols/nats_api_reference). Wildcards in NATS match
 * whole tokens only, so `renderer-*` is not a pattern: consumer names are matched with `*`.
 */
import { z } from 'zod';
import {
  allCancelsSubject,
  allEventsSubject,
  allFramesSubject,
  cancellationsBucket,
  eventsStream,
  guildSettingsBucket,
  imagesStore,
  intakeStream,
  intakeStreamSubjects,
  jobsBucket,
  jobsStream,
  jobsStreamSubjects,
  lifecycleEventsSubjects,
  queuedEventsSubjects,
  quotasBucket,
  renderRecordsBucket,
  resultsBucket,
  allSchedulerStatusKeys,
  schedulerBucket,
  serverWeightsKey,
  SUBJECT_ROOT,
} from './subjects.js';

/** The five credentials of a farm (DESIGN.md §8); `scheduler` runs the fair-share scheduler. */
export const FarmRole = z.enum(['admin', 'bot', 'renderer', 'operator', 'scheduler']);
export type FarmRole = z.infer<typeof FarmRole>;
export const FARM_ROLES: readonly FarmRole[] = FarmRole.options;

export interface SubjectPermission {
  allow: string[];
  deny: string[];
}
export interface RolePermissions {
  publish: SubjectPermission;
  subscribe: SubjectPermission;
  /** Lets the role answer requests it received (cancel settling, service pings) on their reply subject only. */
  allowResponses: boolean;
}

const API = '$JS.API';

/**
 * Reply subjects of a role. Each role connects with its own inbox prefix, so one role cannot
 * listen to another's replies (KV reads, stream info) by subscribing to `_INBOX.>`.
 */
export function roleInboxPrefix(role: FarmRole): string {
  return `_INBOX_${role}`;
}

const kvStream = (bucket: string): string => `KV_${bucket}`;
const objStream = (store: string): string => `OBJ_${store}`;

/** Reading single messages of a stream (KV get, object metadata), direct or through the leader. */
function readMessages(stream: string): string[] {
  return [`${API}.STREAM.MSG.GET.${stream}`, `${API}.DIRECT.GET.${stream}`, `${API}.DIRECT.GET.${stream}.>`];
}

/**
 * Ephemeral (ordered) consumers over a stream: KV watch/keys and object-store reads. 2.9+ creates
 * them on `CONSUMER.CREATE.<stream>.<name>[.<filter>]`; older clients on `CONSUMER.CREATE.<stream>`.
 */
function orderedReads(stream: string): string[] {
  return [
    `${API}.CONSUMER.CREATE.${stream}`,
    `${API}.CONSUMER.CREATE.${stream}.>`,
    `${API}.CONSUMER.INFO.${stream}.*`,
    `${API}.CONSUMER.DELETE.${stream}.*`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.*`,
  ];
}

/** Reading a KV bucket: info, get, watch, keys, history. */
function kvRead(bucket: string): string[] {
  const stream = kvStream(bucket);
  return [`${API}.STREAM.INFO.${stream}`, ...readMessages(stream), ...orderedReads(stream)];
}

/** Writing a KV bucket: put, create, update, delete, purge (all publishes on `$KV.<bucket>.<key>`). */
function kvWrite(bucket: string): string[] {
  return [`$KV.${bucket}.>`];
}

/** Reading and writing the object store: chunks and metadata on `$O.<store>.>`, old chunks purged on replace. */
function objectStore(store: string, write: boolean): string[] {
  const stream = objStream(store);
  const read = [`${API}.STREAM.INFO.${stream}`, ...readMessages(stream), ...orderedReads(stream)];
  return write ? [...read, `$O.${store}.>`, `${API}.STREAM.PURGE.${stream}`] : read;
}

/** The renderers' `@nats-io/services` endpoints and discovery (`$SRV.PING|INFO|STATS[.name[.id]]`). */
function serviceSubjects(): string[] {
  return ['$SRV.>', `${SUBJECT_ROOT}.renderer.*.presence`];
}

/** What `tessera farm`, `/farm` and the bot's unknown-model check read: backlog (intake too) and consumers. */
function farmStatusReads(): string[] {
  return [
    `${API}.STREAM.INFO.${jobsStream()}`,
    `${API}.STREAM.INFO.${intakeStream()}`,
    `${API}.CONSUMER.INFO.${jobsStream()}.*`,
    `${API}.CONSUMER.LIST.${jobsStream()}`,
    `${API}.CONSUMER.NAMES.${jobsStream()}`,
  ];
}

/** Reading the intake stream's single messages and removing them (the scheduler; renderers on cancel). */
function intakeSettle(): string[] {
  const intake = intakeStream();
  return [`${API}.STREAM.INFO.${intake}`, ...readMessages(intake), `${API}.STREAM.MSG.DELETE.${intake}`];
}

/** Submitting and cancelling jobs (bot and operator): to the work queue, or to intake (`SCHEDULER=on`). */
function submitterPublish(): string[] {
  return [
    ...jobsStreamSubjects(),
    ...intakeStreamSubjects(),
    ...queuedEventsSubjects(),
    allCancelsSubject(),
    ...kvWrite(jobsBucket()),
    ...kvWrite(cancellationsBucket()),
    `${API}.STREAM.INFO.${eventsStream()}`,
    ...orderedReads(eventsStream()),
    ...kvRead(resultsBucket()),
    ...kvRead(jobsBucket()),
    ...kvRead(cancellationsBucket()),
    ...objectStore(imagesStore(), true),
    ...farmStatusReads(),
    ...serviceSubjects(),
  ];
}

function renderer(): RolePermissions {
  const jobs = jobsStream();
  return {
    publish: {
      allow: [
        `${API}.INFO`,
        `${API}.STREAM.INFO.${jobs}`,
        `${API}.STREAM.INFO.${eventsStream()}`,
        `${API}.CONSUMER.INFO.${jobs}.*`,
        // METRICS_PORT: the queue depth of every jobs consumer (`jobsQueueDepth`).
        `${API}.CONSUMER.LIST.${jobs}`,
        `${API}.CONSUMER.MSG.NEXT.${jobs}.*`,
        `$JS.ACK.${jobs}.>`,
        // Settling without a render (cancelled while queued, max deliveries): read and remove the message.
        `${API}.STREAM.MSG.GET.${jobs}`,
        `${API}.STREAM.MSG.DELETE.${jobs}`,
        // A cancelled job still waiting for the fair-share scheduler is removed from intake.
        ...intakeSettle(),
        ...lifecycleEventsSubjects(),
        // Before publishing a job's terminal event again: is it stored? (`publishMissingTerminalEvent`)
        `${API}.STREAM.MSG.GET.${eventsStream()}`,
        `${SUBJECT_ROOT}.frames.*`,
        ...kvWrite(resultsBucket()),
        ...kvRead(resultsBucket()),
        ...kvRead(jobsBucket()),
        ...kvRead(cancellationsBucket()),
        ...objectStore(imagesStore(), true),
      ],
      deny: [],
    },
    subscribe: {
      allow: [
        `${roleInboxPrefix('renderer')}.>`,
        allCancelsSubject(),
        `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${jobs}.*`,
        ...serviceSubjects(),
      ],
      deny: [],
    },
    allowResponses: true,
  };
}

/**
 * `/farm` reads the scheduler's per-model status snapshot (counts per server, weights): the bucket's
 * info and direct gets of the status keys only — not the lease, dispatch markers or weights entry.
 */
function schedulerStatusReads(): string[] {
  const stream = kvStream(schedulerBucket());
  return [
    `${API}.STREAM.INFO.${stream}`,
    `${API}.DIRECT.GET.${stream}.$KV.${schedulerBucket()}.${allSchedulerStatusKeys()}`,
  ];
}

function bot(): RolePermissions {
  const events = eventsStream();
  const owned = [quotasBucket(), guildSettingsBucket(), renderRecordsBucket()];
  return {
    publish: {
      allow: [
        `${API}.INFO`,
        ...submitterPublish(),
        ...owned.flatMap((b) => [...kvRead(b), ...kvWrite(b)]),
        ...schedulerStatusReads(),
        // Its own durable consumer of the events stream (`tessera-bot-<app>`).
        `${API}.CONSUMER.DURABLE.CREATE.${events}.*`,
        `$JS.ACK.${events}.>`,
      ],
      deny: [],
    },
    subscribe: {
      allow: [`${roleInboxPrefix('bot')}.>`, allEventsSubject(), allFramesSubject()],
      deny: [],
    },
    allowResponses: false,
  };
}

function operator(): RolePermissions {
  return {
    publish: {
      // `tessera farm weights` writes the server weights; the lease and dispatch markers stay the scheduler's.
      allow: [
        `${API}.INFO`,
        ...submitterPublish(),
        ...kvRead(schedulerBucket()),
        `$KV.${schedulerBucket()}.${serverWeightsKey()}`,
      ],
      deny: [],
    },
    subscribe: {
      allow: [`${roleInboxPrefix('operator')}.>`, allEventsSubject(), allFramesSubject()],
      deny: [],
    },
    allowResponses: false,
  };
}

/**
 * The fair-share scheduler: reads intake whole (an ordered consumer) and deletes what it released,
 * publishes jobs to the work queue, owns its KV bucket, watches the jobs consumers' state and
 * announces positions on the frames subject. It settles jobs that never reach a renderer
 * (cancelled while in intake, invalid), so like a renderer it may write results and terminal events
 * — farm-side and trusted; it may not touch the bot's buckets, presence or the images.
 */
function scheduler(): RolePermissions {
  const jobs = jobsStream();
  const bucket = schedulerBucket();
  return {
    publish: {
      allow: [
        `${API}.INFO`,
        ...intakeSettle(),
        ...orderedReads(intakeStream()),
        ...jobsStreamSubjects(),
        `${API}.STREAM.INFO.${jobs}`,
        `${API}.STREAM.INFO.${eventsStream()}`,
        `${API}.CONSUMER.INFO.${jobs}.*`,
        `${SUBJECT_ROOT}.frames.*`,
        `${SUBJECT_ROOT}.events.*.end`,
        // Before publishing a job's terminal event again: is it stored? (`publishMissingTerminalEvent`)
        `${API}.STREAM.MSG.GET.${eventsStream()}`,
        ...kvRead(bucket),
        ...kvWrite(bucket),
        ...kvWrite(resultsBucket()),
        ...kvRead(resultsBucket()),
        ...kvRead(jobsBucket()),
        ...kvRead(cancellationsBucket()),
        `${API}.STREAM.INFO.OBJ_${imagesStore()}`,
      ],
      deny: [],
    },
    subscribe: {
      allow: [`${roleInboxPrefix('scheduler')}.>`, allEventsSubject(), allCancelsSubject()],
      deny: [],
    },
    // It answers a cancel request for a job it still holds in intake.
    allowResponses: true,
  };
}

function admin(): RolePermissions {
  return {
    publish: { allow: [`${API}.>`, '$SRV.>'], deny: [] },
    subscribe: { allow: [`${roleInboxPrefix('admin')}.>`], deny: [] },
    allowResponses: false,
  };
}

/**
 * The permissions of one role. Everything not allowed is refused by the server: a renderer cannot
 * publish jobs, cancels or `queued` events, write quotas, settings or records, or manage streams;
 * the bot and the operator cannot write results or lifecycle events (started/done/failed/cancelled).
 */
export function rolePermissions(role: FarmRole): RolePermissions {
  switch (role) {
    case 'admin':
      return admin();
    case 'bot':
      return bot();
    case 'renderer':
      return renderer();
    case 'operator':
      return operator();
    case 'scheduler':
      return scheduler();
  }
}

const quote = (s: string): string => JSON.stringify(s);
const list = (items: string[]): string => `[${[...new Set(items)].map(quote).join(', ')}]`;

function renderPermission(p: SubjectPermission): string {
  return p.deny.length > 0
    ? `{ allow: ${list(p.allow)}, deny: ${list(p.deny)} }`
    : `{ allow: ${list(p.allow)} }`;
}

/**
 * The nats-server `authorization { users: [...] }` block: one nkey user per role with its
 * permissions. Include it from the server config (`include "auth.conf"`). A role may have several
 * keys (e.g. during a rotation: old and new both valid until processes restart).
 */
export function renderAuthConfig(users: { role: FarmRole; nkey: string }[]): string {
  const lines = users.map(({ role, nkey }) => {
    if (!/^U[A-Z2-7]{55}$/.test(nkey)) throw new TypeError(`not an nkey user public key: ${nkey}`);
    const p = rolePermissions(role);
    return [
      `    # ${role}`,
      `    { nkey: ${nkey}, permissions: {`,
      `      publish: ${renderPermission(p.publish)}`,
      `      subscribe: ${renderPermission(p.subscribe)}`,
      ...(p.allowResponses ? ['      allow_responses: true'] : []),
      '    } }',
    ].join('\n');
  });
  return [
    '# Generated by tessera (shared/src/auth.ts renderAuthConfig): one nkey per role.',
    'authorization {',
    '  users: [',
    lines.join('\n'),
    '  ]',
    '}',
    '',
  ].join('\n');
}
