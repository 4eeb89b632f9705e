/**
 * JetStream API error codes tessera reacts to, by name, and the few questions asked of them.
 * The codes are the server's `err_code` values (nats-server `server/errors.json`).
 */
import { JetStreamApiError } from '@nats-io/jetstream';

export const JsErrorCode = {
  /** "stream name already in use with a different configuration". */
  StreamNameExist: 10058,
  /** "consumer name already in use" (2.9 says this for an existing durable with other settings). */
  ConsumerNameExist: 10013,
  /** "consumer already exists" (2.10). */
  ConsumerAlreadyExists: 10105,
  /** "consumer already exists" for a durable created with other settings (2.10 `CREATE` action). */
  ConsumerExists: 10148,
  /** "wrong last sequence": a compare-and-set (KV `update`, expected-last-sequence publish) lost. */
  StreamWrongLastSequence: 10071,
  /** "wrong last sequence" for a subject, as KV `create` of an existing key reports it on 2.10. */
  StreamWrongLastSubjectSequence: 10164,
  /** "stream not found". */
  StreamNotFound: 10059,
  /** "consumer not found". */
  ConsumerNotFound: 10014,
} as const;

function hasCode(e: unknown, codes: readonly number[]): boolean {
  return e instanceof JetStreamApiError && codes.includes(e.code);
}

/** The server's "exists with a different configuration" for a stream or consumer. */
export function isAlreadyExists(e: unknown): boolean {
  return hasCode(e, [
    JsErrorCode.StreamNameExist,
    JsErrorCode.ConsumerExists,
    JsErrorCode.ConsumerNameExist,
    JsErrorCode.ConsumerAlreadyExists,
  ]);
}

/** The server's "stream not found" or "consumer not found". */
export function isNotFound(e: unknown): boolean {
  return hasCode(e, [JsErrorCode.StreamNotFound, JsErrorCode.ConsumerNotFound]);
}

/** The server's "a consumer by that name exists" (creating a durable that is already there). */
export function isConsumerExists(e: unknown): boolean {
  return hasCode(e, [
    JsErrorCode.ConsumerExists,
    JsErrorCode.ConsumerNameExist,
    JsErrorCode.ConsumerAlreadyExists,
  ]);
}

/**
 * A compare-and-set that lost: KV `update` with a stale revision, KV `create` of a key that
 * exists, or a publish with an expected last (subject) sequence that moved on.
 */
export function isCasConflict(e: unknown): boolean {
  if (
    hasCode(e, [
      JsErrorCode.StreamWrongLastSequence,
      JsErrorCode.StreamWrongLastSubjectSequence,
      JsErrorCode.StreamNameExist,
    ])
  ) {
    return true;
  }
  // Some client paths (KV create) rethrow the server's answer as a plain Error.
  return (
    e instanceof Error &&
    !(e instanceof JetStreamApiError) &&
    /wrong last sequence|key exists/i.test(e.message)
  );
}

/**
 * The sequence a "wrong last sequence" refusal reports (`wrong last sequence: N`): the last message
 * the stream leader found on the subject of an expected-last-subject-sequence publish. A refusal of
 * "expected 0" with N > 0 proves a message is stored there. N = 0 proves nothing is known to be: the
 * server answers so when its store lookup itself failed (nats-server `processJetStreamMsg`: any
 * error but "not found" is a mismatch with sequence 0), so such a publish must be retried, not
 * taken as done. `undefined` for any other error.
 */
export function refusedLastSequence(e: unknown): number | undefined {
  if (!hasCode(e, [JsErrorCode.StreamWrongLastSequence, JsErrorCode.StreamWrongLastSubjectSequence]))
    return undefined;
  const n = /wrong last sequence:\s*(\d+)/i.exec((e as Error).message)?.[1];
  return n === undefined ? undefined : Number(n);
}
