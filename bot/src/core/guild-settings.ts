/**
 * Per-server settings that moderators change with `/settings` and `/quota`, stored as JSON in the
 * guild-settings KV bucket (key = guild id). A zod contract (`v: 1`) parsed on every read.
 */
import { z } from 'zod';

export const QuotaPeriod = z.enum(['day', 'hour']);
export type QuotaPeriod = z.infer<typeof QuotaPeriod>;

/** N renders per day or per hour. */
export const QuotaRule = z.object({
  limit: z.number().int().min(0).max(100_000),
  per: QuotaPeriod,
});
export type QuotaRule = z.infer<typeof QuotaRule>;

const Snowflake = z.string().regex(/^\d{1,25}$/);

/** A member's share of the server's renderer time relative to others (the contract's `Requester.weight` range). */
export const RoleWeight = z.number().finite().min(0.1).max(100);
export const DEFAULT_MEMBER_WEIGHT = 1;

export const GuildSettings = z.object({
  v: z.literal(1),
  /** Applies to everyone without a user or role rule. */
  defaultQuota: QuotaRule,
  userQuotas: z.record(Snowflake, QuotaRule).default({}),
  roleQuotas: z.record(Snowflake, QuotaRule).default({}),
  /** Channels where /imagine works; empty = everywhere. */
  allowedChannels: z.array(Snowflake).max(100).default([]),
  /** 0 = the model's own maximum. */
  maxSteps: z.number().int().min(0).max(10_000).default(0),
  /** Largest side in pixels; 0 = any size the model supports. */
  maxSize: z.number().int().min(0).max(4096).default(0),
  bannedWords: z.array(z.string().min(1).max(64)).max(500).default([]),
  maxConcurrentPerUser: z.number().int().min(1).max(50).default(2),
  /** Renders one member may have waiting (not started yet); 0 = only the limit above applies. */
  maxQueuedPerUser: z.number().int().min(0).max(50).default(0),
  /** Fair-share weight of members with a role (the highest of a member's roles counts; default 1). */
  roleWeights: z.record(Snowflake, RoleWeight).default({}),
});
export type GuildSettings = z.infer<typeof GuildSettings>;

/** What a server gets before a moderator changes anything. */
export function defaultGuildSettings(): GuildSettings {
  return {
    v: 1,
    defaultQuota: { limit: 25, per: 'day' },
    userQuotas: {},
    roleQuotas: {},
    allowedChannels: [],
    maxSteps: 0,
    maxSize: 0,
    bannedWords: [],
    maxConcurrentPerUser: 2,
    maxQueuedPerUser: 0,
    roleWeights: {},
  };
}

/**
 * A member's fair-share weight within the server: the highest weight among their roles that have
 * one, else 1. The highest, not a sum, so collecting roles does not stack up priority.
 */
export function memberWeight(settings: GuildSettings, roleIds: readonly string[]): number {
  let best: number | undefined;
  for (const id of roleIds) {
    const w = settings.roleWeights[id];
    if (w !== undefined && (best === undefined || w > best)) best = w;
  }
  return best ?? DEFAULT_MEMBER_WEIGHT;
}

/**
 * The rule that applies to a member: their own rule, else the most generous of their roles'
 * rules (compared per hour, so 30/day beats 1/hour), else the server default.
 */
export function effectiveQuota(
  settings: GuildSettings,
  userId: string,
  roleIds: readonly string[],
): QuotaRule & { source: 'user' | 'role' | 'default' } {
  const own = settings.userQuotas[userId];
  if (own) return { ...own, source: 'user' };
  const perHour = (r: QuotaRule) => (r.per === 'hour' ? r.limit : r.limit / 24);
  let best: QuotaRule | undefined;
  for (const id of roleIds) {
    const rule = settings.roleQuotas[id];
    if (rule && (!best || perHour(rule) > perHour(best))) best = rule;
  }
  if (best) return { ...best, source: 'role' };
  return { ...settings.defaultQuota, source: 'default' };
}

/** Banned words found in a prompt (whole words, case- and accent-insensitive). */
export function findBannedWords(prompt: string, banned: readonly string[]): string[] {
  const fold = (s: string) => s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
  const words = new Set(
    fold(prompt)
      .split(/[^\p{L}\p{N}]+/u)
      .filter(Boolean),
  );
  const text = ` ${fold(prompt).replace(/[^\p{L}\p{N}]+/gu, ' ')} `;
  return banned.filter((b) => {
    const w = fold(b).trim();
    if (w === '') return false;
    // Multi-word entries match as a phrase.
    return w.includes(' ') ? text.includes(` ${w.replace(/[^\p{L}\p{N}]+/gu, ' ')} `) : words.has(w);
  });
}
