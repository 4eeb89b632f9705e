/**
 * Quota arithmetic on a per-member usage record. Charges are the job ids themselves, so that a
 * charge and its refund are idempotent: refunding a job twice removes it once, and charging a
 * retried job twice charges once. The store applies these pure functions with compare-and-set.
 */
import { z } from 'zod';
import type { QuotaPeriod, QuotaRule } from './guild-settings.js';

const WindowUsage = z.object({ id: z.string(), jobs: z.array(z.string()).max(100_000) });

/** What is stored per (guild, user): charges in the current hour and day, and running jobs. */
export const UsageRecord = z.object({
  v: z.literal(1),
  hour: WindowUsage,
  day: WindowUsage,
  /** Jobs accepted and not yet ended (for the concurrent-jobs limit). */
  active: z.array(z.string()).max(1000),
});
export type UsageRecord = z.infer<typeof UsageRecord>;

/** Window ids in UTC: `2026-11-27` for days, `2026-11-27T03` for hours. */
export function windowId(per: QuotaPeriod, now: number): string {
  const iso = new Date(now).toISOString();
  return per === 'day' ? iso.slice(0, 10) : iso.slice(0, 13);
}

/** Milliseconds until the current window ends. */
export function msUntilReset(per: QuotaPeriod, now: number): number {
  const unit = per === 'day' ? 86_400_000 : 3_600_000;
  return unit - (now % unit);
}

export function emptyUsage(now: number): UsageRecord {
  return {
    v: 1,
    hour: { id: windowId('hour', now), jobs: [] },
    day: { id: windowId('day', now), jobs: [] },
    active: [],
  };
}

/** The record with windows that ended replaced by empty ones. */
export function rollWindows(usage: UsageRecord, now: number): UsageRecord {
  const hour = windowId('hour', now);
  const day = windowId('day', now);
  return {
    ...usage,
    hour: usage.hour.id === hour ? usage.hour : { id: hour, jobs: [] },
    day: usage.day.id === day ? usage.day : { id: day, jobs: [] },
  };
}

export function used(usage: UsageRecord, per: QuotaPeriod, now: number): number {
  return rollWindows(usage, now)[per].jobs.length;
}

export function remaining(usage: UsageRecord, rule: QuotaRule, now: number): number {
  return Math.max(0, rule.limit - used(usage, rule.per, now));
}

export type ChargeRefusal =
  | { identifier: 'quota-exhausted'; rule: QuotaRule; resetInMs: number }
  | { identifier: 'too-many-running'; running: number; max: number }
  | { identifier: 'too-many-queued'; queued: number; max: number };

/**
 * The per-member limit on renders still waiting for a renderer: `max` (0 = none) and the member's
 * accepted jobs known to have started. Every other accepted, unfinished job counts as waiting, so
 * two requests charged at once both count.
 */
export interface QueuedLimit {
  max: number;
  started: ReadonlySet<string>;
}

export type ChargeOutcome =
  | { ok: true; usage: UsageRecord; remaining: number; alreadyCharged: boolean }
  | { ok: false; refusal: ChargeRefusal };

/** Charges `jobId` against `rule` and marks it running, unless over the quota or concurrency limit. */
export function charge(
  usage: UsageRecord,
  jobId: string,
  rule: QuotaRule,
  maxConcurrent: number,
  now: number,
  queuedLimit?: QueuedLimit,
): ChargeOutcome {
  const u = rollWindows(usage, now);
  if (u[rule.per].jobs.includes(jobId)) {
    return {
      ok: true,
      usage: u,
      remaining: Math.max(0, rule.limit - u[rule.per].jobs.length),
      alreadyCharged: true,
    };
  }
  if (u[rule.per].jobs.length >= rule.limit) {
    return {
      ok: false,
      refusal: { identifier: 'quota-exhausted', rule, resetInMs: msUntilReset(rule.per, now) },
    };
  }
  if (u.active.length >= maxConcurrent) {
    return {
      ok: false,
      refusal: { identifier: 'too-many-running', running: u.active.length, max: maxConcurrent },
    };
  }
  if (queuedLimit && queuedLimit.max > 0) {
    const queued = u.active.filter((j) => !queuedLimit.started.has(j)).length;
    if (queued >= queuedLimit.max)
      return { ok: false, refusal: { identifier: 'too-many-queued', queued, max: queuedLimit.max } };
  }
  const next: UsageRecord = {
    ...u,
    hour: { ...u.hour, jobs: [...u.hour.jobs, jobId] },
    day: { ...u.day, jobs: [...u.day.jobs, jobId] },
    active: [...u.active, jobId],
  };
  return {
    ok: true,
    usage: next,
    remaining: Math.max(0, rule.limit - next[rule.per].jobs.length),
    alreadyCharged: false,
  };
}

/**
 * Ends a job: it stops counting as running, and with `refund` its charge is removed from the
 * windows it is still in. Returns `changed: false` when there was nothing to do (already ended
 * or refunded), which is how "refund exactly once" holds under retries and redeliveries.
 */
export function settle(
  usage: UsageRecord,
  jobId: string,
  refund: boolean,
  now: number,
): { usage: UsageRecord; changed: boolean; refunded: boolean } {
  const u = rollWindows(usage, now);
  const inHour = u.hour.jobs.includes(jobId);
  const inDay = u.day.jobs.includes(jobId);
  const active = u.active.includes(jobId);
  const refunded = refund && (inHour || inDay);
  if (!active && !refunded) return { usage: u, changed: false, refunded: false };
  return {
    usage: {
      ...u,
      active: u.active.filter((j) => j !== jobId),
      hour: refunded ? { ...u.hour, jobs: u.hour.jobs.filter((j) => j !== jobId) } : u.hour,
      day: refunded ? { ...u.day, jobs: u.day.jobs.filter((j) => j !== jobId) } : u.day,
    },
    changed: true,
    refunded,
  };
}

/** "in 3 h 12 min" / "in 42 min" / "in 20 s". */
export function formatDuration(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  const rest = m % 60;
  return rest === 0 ? `${h} h` : `${h} h ${rest} min`;
}
