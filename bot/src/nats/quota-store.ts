/**
 * Quota counters in the quotas KV bucket, one usage record per (guild, user), changed only by
 * compare-and-set so that concurrent `/imagine`s cannot overspend: of 20 simultaneous requests
 * at the last unit, exactly one is charged.
 */
import type { KV } from '@nats-io/kv';
import type { QuotaRule } from '../core/guild-settings.js';
import type { QuotaStore } from '../core/ports.js';
import {
  UsageRecord,
  charge,
  emptyUsage,
  settle,
  type ChargeOutcome,
  type QueuedLimit,
} from '../core/quota.js';
import { casUpdate, kvCodec, kvRead } from './cas.js';

const codec = kvCodec(UsageRecord, 'usage record');

function usageKey(guildId: string, userId: string): string {
  return `usage.${guildId}.${userId}`;
}

export class NatsQuotaStore implements QuotaStore {
  constructor(
    private readonly kv: KV,
    private readonly now: () => number = Date.now,
  ) {}

  charge(
    guildId: string,
    userId: string,
    jobId: string,
    rule: QuotaRule,
    maxConcurrent: number,
    queuedLimit?: QueuedLimit,
  ): Promise<ChargeOutcome> {
    return casUpdate(this.kv, usageKey(guildId, userId), codec, (current) => {
      const usage = current ?? emptyUsage(this.now());
      const outcome = charge(usage, jobId, rule, maxConcurrent, this.now(), queuedLimit);
      if (!outcome.ok || outcome.alreadyCharged) return { write: false, result: outcome };
      return { write: true, value: outcome.usage, result: outcome };
    });
  }

  settle(guildId: string, userId: string, jobId: string, refund: boolean): Promise<boolean> {
    return casUpdate(this.kv, usageKey(guildId, userId), codec, (current) => {
      if (!current) return { write: false, result: false };
      const s = settle(current, jobId, refund, this.now());
      return s.changed
        ? { write: true, value: s.usage, result: s.refunded }
        : { write: false, result: false };
    });
  }

  async usage(guildId: string, userId: string): Promise<UsageRecord> {
    return (await kvRead(this.kv, usageKey(guildId, userId), codec)) ?? emptyUsage(this.now());
  }

  reset(guildId: string, userId: string): Promise<void> {
    return casUpdate(this.kv, usageKey(guildId, userId), codec, (current) => {
      if (!current) return { write: false, result: undefined };
      const fresh = emptyUsage(this.now());
      return { write: true, value: { ...fresh, active: current.active }, result: undefined };
    });
  }
}
