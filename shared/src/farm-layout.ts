/**
 * What the farm is made of on JetStream, as data: the stream configurations, the KV buckets and
 * the names of the streams behind them, each with `FarmSettings.replicas` copies. `setupFarm`
 * (shared/src/nats.ts) creates them; tests and docs read them here.
 */
import { DiscardPolicy, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { FarmSettings } from './nats.js';
import {
  allEventsSubject,
  cancellationsBucket,
  eventsStream,
  guildSettingsBucket,
  imagesStore,
  intakeStream,
  intakeStreamSubjects,
  jobsBucket,
  jobsStream,
  jobsStreamSubjects,
  quotasBucket,
  renderRecordsBucket,
  resultsBucket,
  schedulerBucket,
} from './subjects.js';

/** Copies wanted (`FarmSettings.replicas`, default 1). */
export function farmReplicas(settings: Pick<FarmSettings, 'replicas'>): number {
  return settings.replicas ?? 1;
}

/** The jobs and events stream configurations `setupFarm` creates. */
export function farmStreamConfigs(settings: FarmSettings): (Partial<StreamConfig> & { name: string })[] {
  const num_replicas = farmReplicas(settings);
  return [
    {
      name: jobsStream(),
      subjects: jobsStreamSubjects(),
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      duplicate_window: nanos(settings.duplicateWindowMs),
      max_msg_size: 1024 * 1024,
      num_replicas,
    },
    {
      name: eventsStream(),
      subjects: [allEventsSubject()],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(settings.eventsMaxAgeS * 1000),
      duplicate_window: nanos(Math.min(settings.duplicateWindowMs, settings.eventsMaxAgeS * 1000)),
      num_replicas,
    },
    // Limits retention: the scheduler reads it whole when it takes over and deletes what it released.
    {
      name: intakeStream(),
      subjects: intakeStreamSubjects(),
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      duplicate_window: nanos(settings.duplicateWindowMs),
      max_msg_size: 1024 * 1024,
      max_age: nanos(settings.resultsMaxAgeS * 1000),
      num_replicas,
    },
  ];
}

export interface BucketSpec {
  name: string;
  history: number;
  /** Milliseconds; absent: kept until deleted. */
  ttl?: number;
  replicas: number;
}

/** Every KV bucket `setupFarm` creates (the bot's render records included), with its settings. */
export function farmBucketSpecs(settings: FarmSettings): BucketSpec[] {
  const replicas = farmReplicas(settings);
  const ttl = settings.resultsMaxAgeS * 1000;
  return [
    { name: resultsBucket(), history: 1, ttl, replicas },
    { name: jobsBucket(), history: 1, ttl, replicas },
    { name: cancellationsBucket(), history: 1, ttl, replicas },
    { name: quotasBucket(), history: 1, replicas },
    { name: guildSettingsBucket(), history: 5, replicas },
    { name: renderRecordsBucket(), history: 1, ttl, replicas },
    { name: schedulerBucket(), history: 1, ttl, replicas },
  ];
}

/** The JetStream stream behind every stream, bucket and object store of the farm. */
export function farmStreamNames(): string[] {
  const buckets = farmBucketSpecs({ ...NO_LIMITS, models: [] }).map((b) => `KV_${b.name}`);
  return [jobsStream(), eventsStream(), intakeStream(), ...buckets, `OBJ_${imagesStore()}`];
}
const NO_LIMITS = { ackWaitMs: 0, maxDeliver: 0, duplicateWindowMs: 0, eventsMaxAgeS: 0, resultsMaxAgeS: 0 };
