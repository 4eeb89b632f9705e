/**
 * Quota counters in the quotas KV bucket, one usage record per (guild, user), changed only by
 * compare-and-set so that concurrent `/imagine`s cannot overspend: of 20 simultaneous requests
 * at the last unit, exactly one is charged.
 */
import type { KV } from '@nats-io/kv';
import type { QuotaRule } from '../core/guild-settings.js';
import { UsageRecord, charge, emptyUsage, settle, type ChargeOutcome } from '../core/quota.js';
import { casUpdate } from './cas.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function usageKey(guildId: string, userId: string): string {
  return `usage.${guildId}.${userId}`;
}

function decode(bytes: Uint8Array): UsageRecord | undefined {
  try {
    const parsed = UsageRecord.safeParse(JSON.parse(decoder.decode(bytes)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
const encode = (u: UsageRecord) => encoder.encode(JSON.stringify(u));

export class NatsQuotaStore {
  constructor(
    private readonly kv: KV,
    private readonly now: () => number = Date.now,
  ) {}

  /** Charges `jobId` to the member if the rule and the running-jobs limit allow it. */
  charge(
    guildId: string,
    userId: string,
    jobId: string,
    rule: QuotaRule,
    maxConcurrent: number,
  ): Promise<ChargeOutcome> {
    return casUpdate(this.kv, usageKey(guildId, userId), decode, encode, (current) => {
      const outcome = charge(current ?? emptyUsage(this.now()), jobId, rule, maxConcurrent, this.now());
      if (!outcome.ok || outcome.alreadyCharged) return { write: false, result: outcome };
      return { write: true, value: outcome.usage, result: outcome };
    });
  }

  /** Marks the job ended; with `refund` its charge is given back. Idempotent. Returns whether a refund happened now. */
  settle(guildId: string, userId: string, jobId: string, refund: boolean): Promise<boolean> {
    return casUpdate(this.kv, usageKey(guildId, userId), decode, encode, (current) => {
      if (!current) return { write: false, result: false };
      const s = settle(current, jobId, refund, this.now());
      return s.changed
        ? { write: true, value: s.usage, result: s.refunded }
        : { write: false, result: false };
    });
  }

  async usage(guildId: string, userId: string): Promise<UsageRecord> {
    const entry = await this.kv.get(usageKey(guildId, userId));
    return (entry && entry.operation === 'PUT' ? decode(entry.value) : undefined) ?? emptyUsage(this.now());
  }

  /** Forgets the member's charges (running jobs still count as running). */
  reset(guildId: string, userId: string): Promise<void> {
    return casUpdate(this.kv, usageKey(guildId, userId), decode, encode, (current) => {
      if (!current) return { write: false, result: undefined };
      const fresh = emptyUsage(this.now());
      return { write: true, value: { ...fresh, active: current.active }, result: undefined };
    });
  }
}
