/**
 * Rate limiting the way Discord presents it to clients: `X-RateLimit-*` headers on every response,
 * optional fixed-window buckets per route + major parameter, and 429s that tests inject on
 * demand (a "429 storm"). discord.js reads `Retry-After` (seconds, fractions allowed) and retries.
 * @see https://discord.com/developers/docs/topics/rate-limits
 */

export interface RouteInfo {
  method: string;
  /** The route with ids replaced by placeholders, e.g. `PATCH /webhooks/:app/:token/messages/:id`. */
  route: string;
  /** The major parameter Discord buckets by (channel, guild, or webhook id + token). */
  major: string;
  path: string;
}

export interface Inject429Options {
  /** How many matching requests get a 429 (default 1). */
  count?: number;
  /** Or: every matching request for this long. */
  durationMs?: number;
  /** Retry-After sent with each 429 (default 250 ms). */
  retryAfterMs?: number;
  method?: string;
  /** Only requests whose path matches. */
  path?: RegExp;
  global?: boolean;
}

export interface RouteLimit {
  limit: number;
  windowMs: number;
}

export interface RateLimitDecision {
  status: 200 | 429;
  headers: Record<string, string>;
  body?: { message: string; retry_after: number; global: boolean; code?: number };
}

interface Injection {
  remaining: number;
  until: number;
  retryAfterMs: number;
  method?: string;
  path?: RegExp;
  global: boolean;
}

export class RateLimiter {
  private readonly injections: Injection[] = [];
  private readonly windows = new Map<string, { start: number; used: number }>();
  /** Number of 429s sent, by route. */
  readonly sent429 = new Map<string, number>();

  constructor(
    public routeLimit: RouteLimit | null,
    private readonly now: () => number = Date.now,
  ) {}

  inject(options: Inject429Options): void {
    this.injections.push({
      remaining: options.durationMs !== undefined ? Number.POSITIVE_INFINITY : (options.count ?? 1),
      until: options.durationMs !== undefined ? this.now() + options.durationMs : Number.POSITIVE_INFINITY,
      retryAfterMs: options.retryAfterMs ?? 250,
      method: options.method?.toUpperCase(),
      path: options.path,
      global: options.global ?? false,
    });
  }

  clear(): void {
    this.injections.length = 0;
    this.windows.clear();
  }

  total429(): number {
    let n = 0;
    for (const v of this.sent429.values()) n += v;
    return n;
  }

  /** Decides one request: pass (with headers) or 429. */
  check(info: RouteInfo): RateLimitDecision {
    const now = this.now();
    const bucket = bucketHash(`${info.method} ${info.route}`);
    const injected = this.takeInjection(info, now);
    if (injected) return this.reject(info, bucket, injected.retryAfterMs, injected.global);

    const limit = this.routeLimit;
    if (!limit) {
      return {
        status: 200,
        headers: {
          'X-RateLimit-Limit': '50',
          'X-RateLimit-Remaining': '49',
          'X-RateLimit-Reset-After': '1.000',
          'X-RateLimit-Bucket': bucket,
          'X-RateLimit-Reset': ((now + 1000) / 1000).toFixed(3),
        },
      };
    }
    const key = `${bucket}:${info.major}`;
    let w = this.windows.get(key);
    if (!w || now - w.start >= limit.windowMs) this.windows.set(key, (w = { start: now, used: 0 }));
    const resetAfter = (w.start + limit.windowMs - now) / 1000;
    if (w.used >= limit.limit) return this.reject(info, bucket, resetAfter * 1000, false);
    w.used += 1;
    return {
      status: 200,
      headers: {
        'X-RateLimit-Limit': String(limit.limit),
        'X-RateLimit-Remaining': String(limit.limit - w.used),
        'X-RateLimit-Reset-After': resetAfter.toFixed(3),
        'X-RateLimit-Reset': ((w.start + limit.windowMs) / 1000).toFixed(3),
        'X-RateLimit-Bucket': bucket,
      },
    };
  }

  private takeInjection(info: RouteInfo, now: number): Injection | undefined {
    for (let i = 0; i < this.injections.length; i++) {
      const inj = this.injections[i]!;
      if (now > inj.until || inj.remaining <= 0) {
        this.injections.splice(i--, 1);
        continue;
      }
      if (inj.method && inj.method !== info.method) continue;
      if (inj.path && !inj.path.test(info.path)) continue;
      inj.remaining -= 1;
      return inj;
    }
    return undefined;
  }

  private reject(info: RouteInfo, bucket: string, retryAfterMs: number, global: boolean): RateLimitDecision {
    this.sent429.set(info.route, (this.sent429.get(info.route) ?? 0) + 1);
    const seconds = Math.max(0.001, retryAfterMs / 1000);
    const headers: Record<string, string> = {
      'Retry-After': seconds.toFixed(3),
      'X-RateLimit-Limit': String(this.routeLimit?.limit ?? 5),
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset-After': seconds.toFixed(3),
      'X-RateLimit-Reset': ((this.now() + retryAfterMs) / 1000).toFixed(3),
      'X-RateLimit-Bucket': bucket,
      'X-RateLimit-Scope': global ? 'global' : 'user',
    };
    if (global) headers['X-RateLimit-Global'] = 'true';
    return {
      status: 429,
      headers,
      body: { message: 'You are being rate limited.', retry_after: seconds, global },
    };
  }
}

/** A short stable hex id for a route, like Discord's opaque bucket hashes. */
function bucketHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
