/**
 * Compare-and-set on a NATS KV key: read, compute, `update(key, value, revision)` (or `create`
 * when absent), and retry on conflict. KV conflicts surface as JetStream API errors 10071
 * ("wrong last sequence") or 10164 / 10058 (key exists on create).
 */
import { isCasConflict } from '../../../shared/src/index.js';
import type { KV } from '@nats-io/kv';

export class CasExhaustedError extends Error {
  override readonly name = 'CasExhaustedError';
  constructor(
    readonly key: string,
    readonly attempts: number,
  ) {
    super(`compare-and-set on ${key} kept conflicting after ${attempts} attempts`);
  }
}

/**
 * Applies `change` to the value under `key` atomically. `change` gets the current value (or
 * undefined) and returns the new one plus a result, or `{ write: false }` to leave it alone.
 */
export async function casUpdate<V, R>(
  kv: KV,
  key: string,
  decode: (bytes: Uint8Array) => V | undefined,
  encode: (value: V) => Uint8Array,
  change: (current: V | undefined) => { write: true; value: V; result: R } | { write: false; result: R },
  options: { maxAttempts?: number; signal?: AbortSignal } = {},
): Promise<R> {
  const max = options.maxAttempts ?? 200;
  for (let attempt = 1; attempt <= max; attempt++) {
    options.signal?.throwIfAborted();
    const entry = await kv.get(key);
    const live = entry && entry.operation === 'PUT' ? entry : undefined;
    const current = live ? decode(live.value) : undefined;
    const next = change(current);
    if (!next.write) return next.result;
    try {
      if (entry) await kv.update(key, encode(next.value), entry.revision);
      else await kv.create(key, encode(next.value));
      return next.result;
    } catch (e) {
      if (!isCasConflict(e)) throw e;
      // Someone else wrote first: back off a little (randomised) and recompute.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 5)));
    }
  }
  throw new CasExhaustedError(key, max);
}
