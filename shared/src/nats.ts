/**
 * Connecting to NATS and setting up everything tessera stores there, idempotently: every
 * process calls `ensureFarm()` at start, in any order, as often as it likes.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { nanos } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { Config } from './config.js';
import { NatsSetupError } from './errors.js';
import { isAlreadyExists } from './jetstream-errors.js';
import {
  cancellationsBucket,
  eventsStream,
  guildSettingsBucket,
  imagesStore,
  intakeStream,
  intakeStreamSubjects,
  jobsBucket,
  jobsConsumer,
  jobsStream,
  jobsStreamSubjects,
  allEventsSubject,
  modelJobsFilter,
  quotasBucket,
  resultsBucket,
  schedulerBucket,
} from './subjects.js';

export type { NatsConnection } from '@nats-io/transport-node';

export interface ConnectOptions {
  /** `NATS_URL` (comma-separated servers allowed). */
  url: string;
  /** Connection name shown by the server (`renderer-gpu1`, `bot`). */
  name: string;
  user?: string;
  password?: string;
  token?: string;
  /** Keep trying when the server is not up yet (processes started together). Default true. */
  waitOnFirstConnect?: boolean;
}

/** Connects with reconnect forever (the client's default gives up after 10 tries). */
export async function connectNats(options: ConnectOptions): Promise<NatsConnection> {
  return connect({
    servers: options.url.split(',').map((s) => s.trim()),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: options.waitOnFirstConnect ?? true,
    ...(options.user !== undefined ? { user: options.user } : {}),
    ...(options.password !== undefined ? { pass: options.password } : {}),
    ...(options.token !== undefined ? { token: options.token } : {}),
  });
}

/** `connectNats` with the connection settings of a `Config`. */
export function connectFromConfig(
  config: Config,
  name: string,
  options: { waitOnFirstConnect?: boolean } = {},
): Promise<NatsConnection> {
  return connectNats({
    url: config.NATS_URL,
    name,
    ...options,
    ...(config.NATS_USER !== undefined ? { user: config.NATS_USER } : {}),
    ...(config.NATS_PASSWORD !== undefined ? { password: config.NATS_PASSWORD } : {}),
    ...(config.NATS_TOKEN !== undefined ? { token: config.NATS_TOKEN } : {}),
  });
}

/** The settings `ensureFarm` needs (a subset of `Config`). */
export interface FarmSettings {
  /** Models to create a jobs consumer for (a renderer passes its own; the bot may pass none). */
  models: string[];
  ackWaitMs: number;
  maxDeliver: number;
  duplicateWindowMs: number;
  eventsMaxAgeS: number;
  resultsMaxAgeS: number;
  /** Submit to the intake stream for the fair-share scheduler instead of the work queue (`SCHEDULER=on`). */
  scheduler?: boolean;
}

export function farmSettingsFromConfig(
  config: Config,
  models: string[] = [config.RENDERER_MODEL],
): FarmSettings {
  return {
    models,
    ackWaitMs: config.JOB_ACK_WAIT_MS,
    maxDeliver: config.JOB_MAX_DELIVER,
    duplicateWindowMs: config.JOB_DUPLICATE_WINDOW_MS,
    eventsMaxAgeS: config.EVENTS_MAX_AGE_S,
    resultsMaxAgeS: config.RESULTS_MAX_AGE_S,
    scheduler: config.SCHEDULER === 'on',
  };
}

/** Handles to everything in NATS that tessera uses. */
export interface Farm {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** jobId → terminal event (done | failed | cancelled), first writer wins. */
  results: KV;
  /** jobId → submitted RenderJob. */
  jobs: KV;
  /** jobId → CancelRequest. */
  cancellations: KV;
  quotas: KV;
  guildSettings: KV;
  /** The scheduler's lease, dispatch markers, weights and status. */
  scheduler: KV;
  images: ObjectStore;
  settings: FarmSettings;
}

async function upsertStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<void> {
  try {
    await jsm.streams.add(config);
  } catch (e) {
    if (!isAlreadyExists(e))
      throw new NatsSetupError(`cannot create stream ${config.name}`, { stream: config.name }, { cause: e });
    // It exists with other settings (an older version, or edited limits): bring it in line.
    const { name, retention: _retention, storage: _storage, ...update } = config;
    try {
      await jsm.streams.update(name, update);
    } catch (cause) {
      throw new NatsSetupError(
        `stream ${name} exists and cannot be updated to the wanted settings`,
        { stream: name },
        { cause },
      );
    }
  }
}

async function upsertConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<void> {
  try {
    await jsm.consumers.add(stream, config);
  } catch (e) {
    if (!isAlreadyExists(e)) {
      throw new NatsSetupError(
        `cannot create consumer ${config.durable_name}`,
        { stream, consumer: config.durable_name },
        { cause: e },
      );
    }
    try {
      await jsm.consumers.update(stream, config.durable_name, {
        ack_wait: config.ack_wait,
        max_deliver: config.max_deliver,
        max_ack_pending: config.max_ack_pending,
      });
    } catch (cause) {
      throw new NatsSetupError(
        `consumer ${config.durable_name} exists and cannot be updated`,
        { stream, consumer: config.durable_name },
        { cause },
      );
    }
  }
}

/** Creates or updates the jobs consumer for one model. */
export async function ensureModelConsumer(
  jsm: JetStreamManager,
  model: string,
  settings: FarmSettings,
): Promise<void> {
  await upsertConsumer(jsm, jobsStream(), {
    durable_name: jobsConsumer(model),
    filter_subject: modelJobsFilter(model),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(settings.ackWaitMs),
    max_deliver: settings.maxDeliver,
    // Each renderer holds at most one job; this only bounds a misbehaving client.
    max_ack_pending: 1000,
  });
}

/**
 * Creates (or brings in line) the jobs and events streams, one jobs consumer per model, the KV
 * buckets and the images object store, and returns handles to them. Safe to call concurrently
 * from every process.
 */
export async function ensureFarm(nc: NatsConnection, settings: FarmSettings): Promise<Farm> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await upsertStream(jsm, {
    name: jobsStream(),
    subjects: jobsStreamSubjects(),
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(settings.duplicateWindowMs),
    max_msg_size: 1024 * 1024,
  });
  await upsertStream(jsm, {
    name: eventsStream(),
    subjects: [allEventsSubject()],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(settings.eventsMaxAgeS * 1000),
    duplicate_window: nanos(Math.min(settings.duplicateWindowMs, settings.eventsMaxAgeS * 1000)),
  });
  // Limits retention: the scheduler reads it whole when it takes over and deletes what it released.
  await upsertStream(jsm, {
    name: intakeStream(),
    subjects: intakeStreamSubjects(),
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(settings.duplicateWindowMs),
    max_msg_size: 1024 * 1024,
    max_age: nanos(settings.resultsMaxAgeS * 1000),
  });
  for (const model of settings.models) await ensureModelConsumer(jsm, model, settings);

  const kvm = new Kvm(js);
  const ttl = settings.resultsMaxAgeS * 1000;
  const bucket = async (name: string, opts: { ttl?: number; history?: number } = {}): Promise<KV> => {
    try {
      return await kvm.create(name, { history: opts.history ?? 1, ...(opts.ttl ? { ttl: opts.ttl } : {}) });
    } catch (cause) {
      throw new NatsSetupError(`cannot create KV bucket ${name}`, { bucket: name }, { cause });
    }
  };
  const results = await bucket(resultsBucket(), { ttl });
  const jobs = await bucket(jobsBucket(), { ttl });
  const cancellations = await bucket(cancellationsBucket(), { ttl });
  const quotas = await bucket(quotasBucket());
  const guildSettings = await bucket(guildSettingsBucket(), { history: 5 });
  const scheduler = await bucket(schedulerBucket(), { ttl });
  let images: ObjectStore;
  try {
    images = await new Objm(js).create(imagesStore(), { ttl: nanos(ttl) });
  } catch (cause) {
    throw new NatsSetupError(
      `cannot create object store ${imagesStore()}`,
      { bucket: imagesStore() },
      { cause },
    );
  }
  return {
    nc,
    js,
    jsm,
    results,
    jobs,
    cancellations,
    quotas,
    guildSettings,
    scheduler,
    images,
    settings,
  };
}
