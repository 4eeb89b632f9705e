/**
 * Publishing a job's one terminal event when the stream's answer is ambiguous: the refusal of an
 * expected-last-subject-sequence-0 publish counts as "already stored" only when it names a stored
 * message; "wrong last sequence: 0" (the leader's store lookup failed) must be retried.
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import {
  JsErrorCode,
  TerminalEventUnconfirmedError,
  publishJobEvent,
  refusedLastSequence,
  terminalEventSubject,
  type Farm,
  type TerminalJobEvent,
} from '../../shared/src/index.js';

const done: TerminalJobEvent = {
  v: 1,
  type: 'done',
  jobId: 'j-1',
  at: '2026-12-03T21:30:52.809Z',
  rendererId: 'r-1',
  attempt: 1,
  image: { key: 'renders/j-1/attempt-1.png', contentType: 'image/png', bytes: 137 },
  width: 32,
  height: 32,
  seed: 1,
  steps: 20,
  elapsedMs: 900,
};

function refusal(description: string, code: number = JsErrorCode.StreamWrongLastSequence): JetStreamApiError {
  return new JetStreamApiError({ code: 400, err_code: code, description });
}

/** A farm whose JetStream answers each publish with the next of `answers` (an ack or an error). */
function farmAnswering(answers: ({ seq: number; duplicate?: boolean } | Error)[]) {
  const calls: { subject: string; opts: unknown }[] = [];
  const js = {
    async publish(subject: string, _data: Uint8Array, opts: unknown) {
      calls.push({ subject, opts });
      const next = answers.shift();
      if (next === undefined) throw new Error('no more answers');
      if (next instanceof Error) throw next;
      return { stream: 'TESSERA_EVENTS', seq: next.seq, duplicate: next.duplicate ?? false, domain: '' };
    },
  };
  return { farm: { js, nc: {} } as unknown as Pick<Farm, 'nc' | 'js'>, calls };
}

describe('refusedLastSequence', () => {
  it('reads the sequence the leader reports, for both codes of the refusal', () => {
    expect(refusedLastSequence(refusal('wrong last sequence: 102'))).toBe(102);
    expect(refusedLastSequence(refusal('wrong last sequence: 0'))).toBe(0);
    expect(
      refusedLastSequence(refusal('wrong last sequence: 7', JsErrorCode.StreamWrongLastSubjectSequence)),
    ).toBe(7);
  });

  it('is undefined for other errors and refusals without a number', () => {
    expect(refusedLastSequence(refusal('stream not found', JsErrorCode.StreamNotFound))).toBeUndefined();
    expect(refusedLastSequence(refusal('wrong last sequence'))).toBeUndefined();
    expect(refusedLastSequence(new Error('wrong last sequence: 3'))).toBeUndefined();
  });
});

describe('publishJobEvent (terminal)', () => {
  it('publishes once per job: its own subject, one message id, expected last subject sequence 0', async () => {
    const { farm, calls } = farmAnswering([{ seq: 5 }]);
    await expect(publishJobEvent(farm, done)).resolves.toBe(true);
    expect(calls[0]!.subject).toBe(terminalEventSubject('j-1'));
    expect(calls[0]!.opts).toMatchObject({ expect: { lastSubjectSequence: 0 } });
    expect((calls[0]!.opts as { msgID: string }).msgID).toMatch(/j-1/);
  });

  it('takes a duplicate ack, or a refusal naming a stored message, as already published', async () => {
    const { farm } = farmAnswering([{ seq: 5, duplicate: true }, refusal('wrong last sequence: 5')]);
    await expect(publishJobEvent(farm, done)).resolves.toBe(false);
    await expect(publishJobEvent(farm, done)).resolves.toBe(false);
  });

  it('does not take "wrong last sequence: 0" for a stored event: it throws, and a retry publishes', async () => {
    const { farm, calls } = farmAnswering([refusal('wrong last sequence: 0'), { seq: 9 }]);
    const first = await publishJobEvent(farm, done).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(TerminalEventUnconfirmedError);
    expect(first).toMatchObject({ jobId: 'j-1', subject: terminalEventSubject('j-1') });
    await expect(publishJobEvent(farm, done)).resolves.toBe(true);
    expect(calls).toHaveLength(2);
  });

  it('passes other errors on (the caller retries them)', async () => {
    const noResponders = new Error('jetstream is not enabled');
    const { farm } = farmAnswering([noResponders]);
    await expect(publishJobEvent(farm, done)).rejects.toBe(noResponders);
  });
});
