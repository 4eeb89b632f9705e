/**
 * Leadership among scheduler instances through one KV key, compare-and-set on its revision. The
 * holder renews it (a new revision with a fresh `heartbeatAt`) every third of the lease time; a
 * standby takes it over when the revision has not moved for a whole lease time by its own clock
 * (so clocks of different hosts never have to agree), or at once when the key was deleted (a
 * holder that stopped cleanly).
 */
import type { KV } from '@nats-io/kv';
import {
  SchedulerLease,
  decodeMessage,
  encodeMessage,
  isCasConflict,
  schedulerLeaseKey,
} from '../../../shared/src/index.js';

export class KvLease {
  readonly #kv: KV;
  readonly #holder: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** The revision we hold, when we hold it. */
  #revision: number | undefined;
  #since = '';
  /** The last revision seen held by another instance, and when (our clock) it was first seen. */
  #seen: { revision: number; at: number } | undefined;

  constructor(deps: { kv: KV; holder: string; ttlMs: number; now?: () => number }) {
    this.#kv = deps.kv;
    this.#holder = deps.holder;
    this.#ttlMs = deps.ttlMs;
    this.#now = deps.now ?? Date.now;
  }

  get held(): boolean {
    return this.#revision !== undefined;
  }

  /** Tries to become the holder; returns whether we hold the lease now. */
  async acquire(): Promise<boolean> {
    if (this.#revision !== undefined) return this.renew();
    const entry = await this.#kv.get(schedulerLeaseKey());
    const now = this.#now();
    const since = new Date(now).toISOString();
    const value = encodeMessage(SchedulerLease, {
      v: 1,
      holder: this.#holder,
      since,
      heartbeatAt: since,
    });
    try {
      if (entry?.operation !== 'PUT') {
        this.#revision = entry
          ? await this.#kv.update(schedulerLeaseKey(), value, entry.revision)
          : await this.#kv.create(schedulerLeaseKey(), value);
      } else {
        const current = decodeMessage(SchedulerLease, entry.value, { name: 'scheduler lease' });
        const ours = current.ok && current.value.holder === this.#holder;
        if (!ours && !this.#expired(entry.revision, now)) return false;
        this.#revision = await this.#kv.update(schedulerLeaseKey(), value, entry.revision);
      }
    } catch (e) {
      if (isCasConflict(e)) return false; // another instance was quicker
      throw e;
    }
    this.#since = since;
    return true;
  }

  /** Renews the held lease; false (and no longer held) when another instance has taken it. */
  async renew(): Promise<boolean> {
    if (this.#revision === undefined) return false;
    const value = encodeMessage(SchedulerLease, {
      v: 1,
      holder: this.#holder,
      since: this.#since,
      heartbeatAt: new Date(this.#now()).toISOString(),
    });
    try {
      this.#revision = await this.#kv.update(schedulerLeaseKey(), value, this.#revision);
      return true;
    } catch (e) {
      if (!isCasConflict(e)) throw e;
      this.#revision = undefined;
      return false;
    }
  }

  /** Gives the lease up (a clean stop) so a standby takes over at its next check. */
  async release(): Promise<void> {
    const revision = this.#revision;
    this.#revision = undefined;
    if (revision === undefined) return;
    await this.#kv.delete(schedulerLeaseKey(), { previousSeq: revision }).catch(() => undefined);
  }

  #expired(revision: number, now: number): boolean {
    if (this.#seen?.revision !== revision) {
      this.#seen = { revision, at: now };
      return false;
    }
    return now - this.#seen.at >= this.#ttlMs;
  }
}
