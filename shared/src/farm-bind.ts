/**
 * Binding to a farm an admin has set up (`tessera setup`): the bot, renderers and the CLI may not
 * create streams, buckets or consumers, so they check that each exists and say "run `tessera
 * setup`" when one is missing.
 */
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeMessage } from './codec.js';
import { SchedulerLease } from './contracts.js';
import { FarmNotSetUpError, NatsSetupError } from './errors.js';
import { isNotFound } from './jetstream-errors.js';
import type { Farm, FarmSettings } from './nats.js';
import {
  cancellationsBucket,
  eventsStream,
  guildSettingsBucket,
  imagesStore,
  jobsBucket,
  jobsConsumer,
  jobsStream,
  quotasBucket,
  renderRecordsBucket,
  resultsBucket,
  schedulerBucket,
  schedulerLeaseKey,
} from './subjects.js';

const RUN_SETUP = 'run `tessera setup` (admin credentials) to create it';

/** Which parts of the farm a process uses; the bot's own buckets are skipped for other roles. */
export interface BindOptions {
  /** Also bind the bot's buckets (quotas, guild settings, render records). Default false. */
  botBuckets?: boolean;
  /** Also bind the scheduler's bucket (lease, dispatch markers, weights, status). Default false. */
  schedulerBucket?: boolean;
}

async function requireStream(jsm: JetStreamManager, stream: string, what: string): Promise<boolean> {
  try {
    const info = await jsm.streams.info(stream);
    return info.config.allow_direct === true;
  } catch (cause) {
    if (isNotFound(cause)) {
      throw new FarmNotSetUpError(`${what} does not exist: ${RUN_SETUP}`, { stream }, { cause });
    }
    throw new NatsSetupError(`cannot read ${what}`, { stream }, { cause });
  }
}

async function requireConsumer(jsm: JetStreamManager, model: string): Promise<void> {
  const consumer = jobsConsumer(model);
  try {
    await jsm.consumers.info(jobsStream(), consumer);
  } catch (cause) {
    if (isNotFound(cause)) {
      throw new FarmNotSetUpError(
        `no jobs consumer for model ${model} (${consumer}): add it to FARM_MODELS and ${RUN_SETUP}`,
        { stream: jobsStream(), consumer },
        { cause },
      );
    }
    throw new NatsSetupError(`cannot read consumer ${consumer}`, { consumer }, { cause });
  }
}

/**
 * Returns handles to the farm without creating anything. Throws `FarmNotSetUpError` naming what
 * is missing (a stream, a bucket, the consumer of one of `settings.models`).
 */
export async function bindFarm(
  nc: NatsConnection,
  settings: FarmSettings,
  options: BindOptions = {},
): Promise<Farm> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await requireStream(jsm, jobsStream(), `stream ${jobsStream()}`);
  await requireStream(jsm, eventsStream(), `stream ${eventsStream()}`);
  for (const model of settings.models) await requireConsumer(jsm, model);
  const kvm = new Kvm(js);
  const bucket = async (name: string): Promise<KV> => {
    const direct = await requireStream(jsm, `KV_${name}`, `KV bucket ${name}`);
    return kvm.open(name, { allow_direct: direct });
  };
  // Roles without access to the bot's buckets get a handle that is never bound (any use is refused).
  const botOnly = async (name: string): Promise<KV> =>
    options.botBuckets ? bucket(name) : kvm.open(name, { allow_direct: false });
  const results = await bucket(resultsBucket());
  const jobs = await bucket(jobsBucket());
  const cancellations = await bucket(cancellationsBucket());
  const quotas = await botOnly(quotasBucket());
  const guildSettings = await botOnly(guildSettingsBucket());
  const renderRecords = await botOnly(renderRecordsBucket());
  const scheduler = options.schedulerBucket
    ? await bucket(schedulerBucket())
    : await kvm.open(schedulerBucket(), { allow_direct: false });
  await requireStream(jsm, `OBJ_${imagesStore()}`, `object store ${imagesStore()}`);
  const images: ObjectStore = await new Objm(js).open(imagesStore(), false);
  return {
    nc,
    js,
    jsm,
    results,
    jobs,
    cancellations,
    quotas,
    guildSettings,
    renderRecords,
    scheduler,
    images,
    settings,
  };
}

/**
 * Whether a fair-share scheduler leads now: its lease was renewed within `leaseMs`
 * (SCHEDULER_LEASE_MS). `tessera imagine` without SCHEDULER submits to intake when one does, so a
 * CLI job on a farm with a scheduler waits its fair turn, and never sits in intake on one without.
 * Needs `farm.scheduler` bound (`schedulerBucket: true`); a role without read access gets false.
 */
export async function schedulerLeads(
  farm: Pick<Farm, 'scheduler'>,
  leaseMs: number,
  now = Date.now(),
): Promise<boolean> {
  const entry = await farm.scheduler.get(schedulerLeaseKey()).catch(() => null);
  if (entry?.operation !== 'PUT') return false;
  const lease = decodeMessage(SchedulerLease, entry.value, { name: 'scheduler lease' });
  return lease.ok && now - Date.parse(lease.value.heartbeatAt) < leaseMs;
}
