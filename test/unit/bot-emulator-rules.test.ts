import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../deploy/playground/emulator/rate-limits.js';
import { createSnowflakeGenerator, snowflakeTime } from '../../deploy/playground/emulator/snowflake.js';
import { resolvePings } from '../../deploy/playground/emulator/world.js';
import type { EmulatedGuild } from '../../deploy/playground/emulator/model.js';

const route = {
  method: 'PATCH',
  route: 'PATCH /channels/:channel/messages/:message',
  major: '1',
  path: '/channels/1/messages/2',
};

describe('emulator rate limits', () => {
  it('answers injected 429s with Retry-After in seconds, then passes', () => {
    const rl = new RateLimiter(null, () => 1000);
    rl.inject({ count: 2, retryAfterMs: 250, method: 'PATCH' });
    const a = rl.check(route);
    expect(a.status).toBe(429);
    expect(a.headers['Retry-After']).toBe('0.250');
    expect(a.body).toMatchObject({ retry_after: 0.25, global: false });
    expect(rl.check({ ...route, method: 'GET' }).status).toBe(200);
    expect(rl.check(route).status).toBe(429);
    expect(rl.check(route).status).toBe(200);
    expect(rl.total429()).toBe(2);
  });

  it('enforces a fixed window per route and major parameter with Discord headers', () => {
    let now = 0;
    const rl = new RateLimiter({ limit: 2, windowMs: 5000 }, () => now);
    expect(rl.check(route).headers['X-RateLimit-Remaining']).toBe('1');
    expect(rl.check(route).headers['X-RateLimit-Remaining']).toBe('0');
    const third = rl.check(route);
    expect(third.status).toBe(429);
    expect(Number(third.headers['Retry-After'])).toBeCloseTo(5, 1);
    expect(rl.check({ ...route, major: '9' }).status).toBe(200);
    now = 5000;
    expect(rl.check(route).status).toBe(200);
  });

  it('injects 429s for a duration', () => {
    let now = 0;
    const rl = new RateLimiter(null, () => now);
    rl.inject({ durationMs: 100 });
    expect(rl.check(route).status).toBe(429);
    expect(rl.check(route).status).toBe(429);
    now = 101;
    expect(rl.check(route).status).toBe(200);
  });
});

describe('emulator mentions', () => {
  const guild = { id: '1', roles: new Map([['222222222222222222', {}]]) } as unknown as EmulatedGuild;
  const content = '@everyone hi <@111111111111111111> <@&222222222222222222>';

  it('pings everything when allowed_mentions is absent, like Discord', () => {
    expect(resolvePings(content, undefined, guild)).toEqual({
      everyone: true,
      users: ['111111111111111111'],
      roles: ['222222222222222222'],
    });
  });

  it('pings nothing with parse: []', () => {
    expect(resolvePings(content, { parse: [] }, guild)).toEqual({ everyone: false, users: [], roles: [] });
  });
});

describe('snowflakes', () => {
  it('are 19-digit, strictly increasing and carry their time', () => {
    const next = createSnowflakeGenerator(1, () => Date.parse('2026-11-27T00:00:00Z'));
    const ids = Array.from({ length: 5000 }, next);
    expect(ids.every((id) => /^\d{19}$/.test(id))).toBe(true);
    for (let k = 1; k < ids.length; k++) expect(BigInt(ids[k]!) > BigInt(ids[k - 1]!)).toBe(true);
    expect(snowflakeTime(ids[0]!)).toBe(Date.parse('2026-11-27T00:00:00Z'));
  });
});
