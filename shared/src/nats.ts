/**
 * Connecting to NATS (nkey, user/password or token; TLS optional) and setting up everything
 * tessera stores there. Setting up is an admin step (`tessera setup` → `setupFarm`, idempotent);
 * every other process only binds to what exists (`bindFarm` in `farm-bind.ts`).
 */
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { nanos } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { roleInboxPrefix, type FarmRole } from './auth.js';
import type { Config } from './config.js';
import { readNkeySeed } from './credentials.js';
import { NatsSetupError } from './errors.js';
import { farmBucketSpecs, farmReplicas, farmStreamConfigs, farmStreamNames } from './farm-layout.js';
import { isAlreadyExists } from './jetstream-errors.js';
import {
  cancellationsBucket,
  guildSettingsBucket,
  imagesStore,
  jobsBucket,
  jobsConsumer,
  jobsStream,
  modelJobsFilter,
  quotasBucket,
  renderRecordsBucket,
  resultsBucket,
  schedulerBucket,
} from './subjects.js';

export type { Msg, NatsConnection } from '@nats-io/transport-node';

export interface ConnectOptions {
  /** `NATS_URL` (comma-separated servers allowed). */
  url: string;
  /** Connection name shown by the server (`renderer-gpu1`, `bot`). */
  name: string;
  /** The farm role this process plays: its replies come on the role's own inbox prefix. */
  role?: FarmRole;
  /** nkey user seed (`SU…`), e.g. read from `NATS_NKEY_FILE`. */
  nkeySeed?: Uint8Array;
  user?: string;
  password?: string;
  token?: string;
  /** TLS for the client connection: CA to verify the server, and a client certificate if it asks. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Keep trying when the server is not up yet (processes started together). Default true. */
  waitOnFirstConnect?: boolean;
}

/** Connects with reconnect forever (the client's default gives up after 10 tries). */
export async function connectNats(options: ConnectOptions): Promise<NatsConnection> {
  const seed = options.nkeySeed;
  return connect({
    servers: options.url.split(',').map((s) => s.trim()),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: options.waitOnFirstConnect ?? true,
    inboxPrefix: options.role !== undefined ? roleInboxPrefix(options.role) : undefined,
    authenticator: seed !== undefined ? nkeyAuthenticator(() => seed) : undefined,
    user: options.user,
    pass: options.password,
    token: options.token,
    tls: options.tls,
  });
}

/** The TLS client settings of a `Config` (undefined when no NATS_TLS_* variable is set). */
export function tlsFromConfig(config: Config): ConnectOptions['tls'] {
  const { NATS_TLS_CA: caFile, NATS_TLS_CERT: certFile, NATS_TLS_KEY: keyFile } = config;
  if (caFile === undefined && certFile === undefined && keyFile === undefined) return undefined;
  return { caFile, certFile, keyFile };
}

/** The connection settings of a `Config`: URL, `NATS_NKEY_FILE` (read now), user, token, TLS. */
export async function connectOptionsFromConfig(config: Config): Promise<Omit<ConnectOptions, 'name'>> {
  const tls = tlsFromConfig(config);
  return {
    url: config.NATS_URL,
    nkeySeed: config.NATS_NKEY_FILE !== undefined ? await readNkeySeed(config.NATS_NKEY_FILE) : undefined,
    user: config.NATS_USER,
    password: config.NATS_PASSWORD,
    token: config.NATS_TOKEN,
    tls,
  };
}

/** `connectNats` with the connection settings of a `Config`. */
export async function connectFromConfig(
  config: Config,
  name: string,
  options: { waitOnFirstConnect?: boolean; role?: FarmRole } = {},
): Promise<NatsConnection> {
  return connectNats({ ...(await connectOptionsFromConfig(config)), name, ...options });
}

/** The settings `setupFarm` and `bindFarm` need (a subset of `Config`). */
export interface FarmSettings {
  /** Models with a jobs consumer (setup creates them; a renderer binds to its own; the bot passes none). */
  models: string[];
  ackWaitMs: number;
  maxDeliver: number;
  duplicateWindowMs: number;
  eventsMaxAgeS: number;
  resultsMaxAgeS: number;
  /**
   * Copies of every stream, KV bucket and the object store (`NATS_REPLICAS`: 1 on one node, 3 on a
   * cluster). Raised on existing ones by a stream update; never lowered here. Default 1.
   */
  replicas?: number;
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
    replicas: config.NATS_REPLICAS,
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
  /** The bot's render records (`job.<jobId>`, `msg.<messageId>`). */
  renderRecords: KV;
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
    if (!isAlreadyExists(e)) {
      const copies = config.num_replicas ?? 1;
      const hint =
        copies > 1 ? ` (NATS_REPLICAS=${copies} needs a JetStream cluster of ${copies} nodes)` : '';
      throw new NatsSetupError(
        `cannot create stream ${config.name}${hint}`,
        { stream: config.name },
        { cause: e },
      );
    }
    // It exists with other settings (an older version, or edited limits): bring it in line.
    // Replicas are only ever raised, by `raiseReplicas`.
    const { name, retention: _retention, storage: _storage, num_replicas: _replicas, ...update } = config;
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
 * Raises a stream to `replicas` copies when it has fewer (an R1 farm moving to a cluster: KV
 * buckets and object stores are not updated by their clients' `create`). Never lowers: a process
 * started with the wrong NATS_REPLICAS must not shrink a cluster's copies.
 */
async function raiseReplicas(jsm: JetStreamManager, stream: string, replicas: number): Promise<void> {
  const info = await jsm.streams.info(stream);
  if ((info.config.num_replicas ?? 1) >= replicas) return;
  try {
    await jsm.streams.update(stream, { num_replicas: replicas });
  } catch (cause) {
    throw new NatsSetupError(
      `cannot raise stream ${stream} to ${replicas} replicas (a cluster of at least ${replicas} JetStream nodes?)`,
      { stream },
      { cause },
    );
  }
  // The stream's group elects a leader again (a few hundred ms without one): wait for it and for
  // the new copies to catch up, so the caller's first publish has a stream to go to.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const cluster = (await jsm.streams.info(stream).catch(() => undefined))?.cluster;
    const peers = cluster?.replicas ?? [];
    if (cluster?.leader && peers.length === replicas - 1 && peers.every((p) => p.current)) return;
    if (Date.now() > deadline)
      throw new NatsSetupError(`stream ${stream} has no leader after raising its replicas`, { stream });
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The admin step (`tessera setup`): creates (or brings in line) the jobs and events streams, one
 * jobs consumer per model, the KV buckets and the images object store, and returns handles to
 * them, each with `settings.replicas` copies (raised in place, never lowered). Idempotent and
 * safe to run concurrently; needs the `admin` role.
 */
export async function setupFarm(nc: NatsConnection, settings: FarmSettings): Promise<Farm> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  for (const config of farmStreamConfigs(settings)) await upsertStream(jsm, config);
  for (const model of settings.models) await ensureModelConsumer(jsm, model, settings);

  const kvm = new Kvm(js);
  const kvs = new Map<string, KV>();
  for (const spec of farmBucketSpecs(settings)) {
    try {
      const { name, ...opts } = spec;
      kvs.set(name, await kvm.create(name, opts));
    } catch (cause) {
      throw new NatsSetupError(`cannot create KV bucket ${spec.name}`, { bucket: spec.name }, { cause });
    }
  }
  let images: ObjectStore;
  try {
    images = await new Objm(js).create(imagesStore(), {
      ttl: nanos(settings.resultsMaxAgeS * 1000),
      replicas: farmReplicas(settings),
    });
  } catch (cause) {
    throw new NatsSetupError(
      `cannot create object store ${imagesStore()}`,
      { bucket: imagesStore() },
      { cause },
    );
  }
  const replicas = farmReplicas(settings);
  if (replicas > 1) for (const stream of farmStreamNames()) await raiseReplicas(jsm, stream, replicas);
  const kv = (name: string): KV => kvs.get(name)!;
  return {
    nc,
    js,
    jsm,
    results: kv(resultsBucket()),
    jobs: kv(jobsBucket()),
    cancellations: kv(cancellationsBucket()),
    quotas: kv(quotasBucket()),
    guildSettings: kv(guildSettingsBucket()),
    renderRecords: kv(renderRecordsBucket()),
    scheduler: kv(schedulerBucket()),
    images,
    settings,
  };
}
