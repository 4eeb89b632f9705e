import { describe, expect, it } from 'vitest';
import { defaultGuildSettings, effectiveQuota, findBannedWords } from '../../bot/src/core/guild-settings.js';
import {
  charge,
  emptyUsage,
  formatDuration,
  msUntilReset,
  remaining,
  settle,
  windowId,
} from '../../bot/src/core/quota.js';

const T = Date.parse('2026-11-27T03:30:00Z');

describe('quota arithmetic', () => {
  it('charges until the limit and then refuses with the time to reset', () => {
    const rule = { limit: 2, per: 'day' as const };
    let u = emptyUsage(T);
    for (const id of ['a', 'b']) {
      const r = charge(u, id, rule, 10, T);
      expect(r.ok).toBe(true);
      if (r.ok) u = r.usage;
    }
    const third = charge(u, 'c', rule, 10, T);
    expect(third).toMatchObject({
      ok: false,
      refusal: { identifier: 'quota-exhausted', resetInMs: 20.5 * 3_600_000 },
    });
  });

  it('charges a retried job once', () => {
    const rule = { limit: 5, per: 'hour' as const };
    const r1 = charge(emptyUsage(T), 'a', rule, 10, T);
    if (!r1.ok) throw new Error('refused');
    const r2 = charge(r1.usage, 'a', rule, 10, T);
    expect(r2).toMatchObject({ ok: true, alreadyCharged: true, remaining: 4 });
  });

  it('refunds exactly once', () => {
    const rule = { limit: 1, per: 'day' as const };
    const r = charge(emptyUsage(T), 'a', rule, 10, T);
    if (!r.ok) throw new Error('refused');
    expect(remaining(r.usage, rule, T)).toBe(0);
    const s1 = settle(r.usage, 'a', true, T);
    expect(s1).toMatchObject({ changed: true, refunded: true });
    expect(remaining(s1.usage, rule, T)).toBe(1);
    const s2 = settle(s1.usage, 'a', true, T);
    expect(s2).toMatchObject({ changed: false, refunded: false });
  });

  it('keeps the charge of a finished job but frees its running slot', () => {
    const rule = { limit: 3, per: 'day' as const };
    const r = charge(emptyUsage(T), 'a', rule, 1, T);
    if (!r.ok) throw new Error('refused');
    expect(charge(r.usage, 'b', rule, 1, T)).toMatchObject({
      ok: false,
      refusal: { identifier: 'too-many-running' },
    });
    const s = settle(r.usage, 'a', false, T);
    expect(s.usage.active).toEqual([]);
    expect(remaining(s.usage, rule, T)).toBe(2);
  });

  it('starts a new window at the hour and day boundaries (UTC)', () => {
    const rule = { limit: 1, per: 'hour' as const };
    const r = charge(emptyUsage(T), 'a', rule, 10, T);
    if (!r.ok) throw new Error('refused');
    const later = Date.parse('2026-11-27T04:00:00Z');
    expect(remaining(r.usage, rule, later)).toBe(1);
    expect(windowId('day', later)).toBe('2026-11-27');
    expect(windowId('hour', later)).toBe('2026-11-27T04');
    expect(msUntilReset('hour', T)).toBe(30 * 60_000);
    expect(formatDuration(msUntilReset('day', T))).toBe('20 h 30 min');
  });
});

describe('effective quota', () => {
  it('prefers the user rule, then the most generous role, then the default', () => {
    const s = defaultGuildSettings();
    s.defaultQuota = { limit: 5, per: 'day' };
    s.roleQuotas = { '111': { limit: 1, per: 'hour' }, '222': { limit: 30, per: 'day' } };
    s.userQuotas = { '999': { limit: 2, per: 'day' } };
    expect(effectiveQuota(s, '999', ['111'])).toMatchObject({ limit: 2, per: 'day', source: 'user' });
    // 30 a day (1.25 an hour) is more generous than 1 an hour.
    expect(effectiveQuota(s, '1', ['111', '222'])).toMatchObject({ limit: 30, per: 'day', source: 'role' });
    expect(effectiveQuota(s, '1', ['111'])).toMatchObject({ limit: 1, per: 'hour', source: 'role' });
    expect(effectiveQuota(s, '1', [])).toMatchObject({ limit: 5, source: 'default' });
  });
});

describe('banned words', () => {
  it('matches whole words regardless of case and accents, and phrases', () => {
    expect(findBannedWords('A Gorý scene', ['gory'])).toEqual(['gory']);
    expect(findBannedWords('allegory', ['gory'])).toEqual([]);
    expect(findBannedWords('a very bad thing', ['bad thing', 'ugly'])).toEqual(['bad thing']);
  });
});
