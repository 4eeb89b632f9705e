/**
 * Compare-and-set on a NATS KV key: read, compute, `update(key, value, revision)` (or `create`
 * when absent), and retry when another writer won (`isCasConflict` in
 * shared/src/jetstream-errors.ts names the server's answers for that).
 */
import type { KV } from '@nats-io/kv';
import type { z } from 'zod';
import { decodeMessage, encodeMessage, isCasConflict } from '../../../shared/src/index.js';

export class CasExhaustedError extends Error {
  override readonly name = 'CasExhaustedError';
  constructor(
    readonly key: string,
    readonly attempts: number,
  ) {
    super(`compare-and-set on ${key} kept conflicting after ${attempts} attempts`);
  }
}

/** JSON ⇄ bytes for one KV value type, through the shared codec (`shared/src/codec.ts`). */
export interface KvCodec<V> {
  /** The value, or undefined when the bytes are not a valid `V` (treated as absent). */
  decode(bytes: Uint8Array): V | undefined;
  encode(value: V): Uint8Array;
}

export function kvCodec<S extends z.ZodType>(schema: S, name: string): KvCodec<z.output<S>> {
  return {
    decode(bytes) {
      const decoded = decodeMessage(schema, bytes, { name });
      return decoded.ok ? decoded.value : undefined;
    },
    // A stored value is an output of the schema, which parses again to itself.
    encode: (value) => encodeMessage(schema, value as z.input<S>),
  };
}

/** The live value under `key` (undefined when absent, deleted or unreadable). */
export async function kvRead<V>(kv: KV, key: string, codec: KvCodec<V>): Promise<V | undefined> {
  const entry = await kv.get(key);
  return entry && entry.operation === 'PUT' ? codec.decode(entry.value) : undefined;
}

/**
 * Applies `change` to the value under `key` atomically. `change` gets the current value (or
 * undefined) and returns the new one plus a result, or `{ write: false }` to leave it alone.
 */
export async function casUpdate<V, R>(
  kv: KV,
  key: string,
  codec: KvCodec<V>,
  change: (current: V | undefined) => { write: true; value: V; result: R } | { write: false; result: R },
  options: { maxAttempts?: number; signal?: AbortSignal } = {},
): Promise<R> {
  const max = options.maxAttempts ?? 200;
  for (let attempt = 1; attempt <= max; attempt++) {
    options.signal?.throwIfAborted();
    const entry = await kv.get(key);
    const live = entry && entry.operation === 'PUT' ? entry : undefined;
    const current = live ? codec.decode(live.value) : undefined;
    const next = change(current);
    if (!next.write) return next.result;
    try {
      if (entry) await kv.update(key, codec.encode(next.value), entry.revision);
      else await kv.create(key, codec.encode(next.value));
      return next.result;
    } catch (e) {
      if (!isCasConflict(e)) throw e;
      // Someone else wrote first: back off a little (randomised) and recompute.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 5)));
    }
  }
  throw new CasExhaustedError(key, max);
}
