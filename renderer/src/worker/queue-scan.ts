/**
 * Reading the jobs stream directly, oldest first, without a consumer: what the queue sweeps
 * (expiry, residue) look at. One `STREAM.MSG.GET` with `next_by_subj` per message, so a sweep
 * costs one request per message it inspects and stops as soon as it has seen enough.
 */
import type { MsgRequest, StoredMsg } from '@nats-io/jetstream';
import { jobsStream, type Farm } from '../../../shared/src/index.js';

export interface ScanOptions {
  /** Subject filter (`tessera.jobs.>`, one model's `tessera.jobs.<model>.*`). */
  filter: string;
  /** Stop after this stream sequence (inclusive). */
  lastSeq?: number;
  /** Inspect at most this many messages in one scan. */
  limit: number;
}

/** The stored job messages matching `filter`, in stream order. */
export async function* scanJobMessages(
  farm: Pick<Farm, 'jsm'>,
  options: ScanOptions,
): AsyncGenerator<StoredMsg> {
  const info = await farm.jsm.streams.info(jobsStream());
  if (info.state.messages === 0) return;
  let seq = info.state.first_seq;
  const last = Math.min(options.lastSeq ?? Number.MAX_SAFE_INTEGER, info.state.last_seq);
  for (let seen = 0; seen < options.limit && seq <= last; seen++) {
    // nats-server 2.9 answers `next_by_subj` on STREAM.MSG.GET; the client types it for direct gets only.
    const request = { seq, next_by_subj: options.filter } as unknown as MsgRequest;
    const msg = await farm.jsm.streams.getMessage(jobsStream(), request);
    if (!msg || msg.seq > last) return;
    yield msg;
    seq = msg.seq + 1;
  }
}
