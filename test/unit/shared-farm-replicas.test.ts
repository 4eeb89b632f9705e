import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  farmBucketSpecs,
  farmSettingsFromConfig,
  farmStreamConfigs,
  farmStreamNames,
  imagesStore,
  loadConfig,
  renderRecordsBucket,
  resultsBucket,
} from '../../shared/src/index.js';

describe('NATS_REPLICAS', () => {
  it('defaults to 1 and accepts 3', () => {
    expect(loadConfig({}).NATS_REPLICAS).toBe(1);
    expect(loadConfig({ NATS_REPLICAS: '3' }).NATS_REPLICAS).toBe(3);
  });

  it('refuses other counts, naming the variable', () => {
    for (const bad of ['2', '0', '5', 'three']) {
      let error: unknown;
      try {
        loadConfig({ NATS_REPLICAS: bad });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(`NATS_REPLICAS: expected 1 or 3, got "${bad}"`);
    }
  });
});

describe('the farm settings objects', () => {
  it('give every stream (jobs, events, intake) and every bucket the configured copies', () => {
    const settings = farmSettingsFromConfig(loadConfig({ NATS_REPLICAS: '3' }), ['tiny-shapes']);
    expect(settings.replicas).toBe(3);
    const streams = farmStreamConfigs(settings);
    expect(streams.map((s) => s.num_replicas)).toEqual([3, 3, 3]);
    const buckets = farmBucketSpecs(settings);
    expect(buckets.length).toBeGreaterThanOrEqual(6);
    expect(buckets.every((b) => b.replicas === 3)).toBe(true);
    expect(buckets.map((b) => b.name)).toContain(renderRecordsBucket());
  });

  it('use one copy by default (and when a caller leaves replicas out)', () => {
    const settings = farmSettingsFromConfig(loadConfig({}));
    expect(farmStreamConfigs(settings).map((s) => s.num_replicas)).toEqual([1, 1, 1]);
    const { replicas: _r, ...withoutReplicas } = settings;
    expect(farmBucketSpecs(withoutReplicas).every((b) => b.replicas === 1)).toBe(true);
  });

  it('keep the retention settings of each bucket', () => {
    const buckets = farmBucketSpecs(farmSettingsFromConfig(loadConfig({ RESULTS_MAX_AGE_S: '600' })));
    expect(buckets.find((b) => b.name === resultsBucket())?.ttl).toBe(600_000);
  });

  it('name the JetStream stream behind every stream, bucket and object store', () => {
    const names = farmStreamNames();
    expect(names).toContain(`KV_${resultsBucket()}`);
    expect(names).toContain(`OBJ_${imagesStore()}`);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toHaveLength(3 + farmBucketSpecs({ ...farmSettingsFromConfig(loadConfig({})) }).length + 1);
  });
});
