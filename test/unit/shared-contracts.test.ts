import { describe, expect, it } from 'vitest';
import {
  CancelRequest,
  JobEvent,
  RenderJob,
  RendererPresence,
  decodeMessage,
  encodeMessage,
  salvageJobId,
  jobIdOfMessage,
  type RenderJobInput,
} from '../../shared/src/index.js';

const job = {
  v: 1 as const,
  jobId: '1234567890123456789',
  prompts: [
    { text: 'a red disc', weight: 1 },
    { text: 'blurry', weight: -0.5, stop: 0.2 },
  ],
  seed: 42,
  width: 64,
  height: 64,
  steps: 100,
  model: 'tiny-shapes',
  requester: { userId: '111111111111111111', guildId: '222222222222222222' },
  createdAt: '2026-11-27T03:00:00.000Z',
} satisfies RenderJobInput;

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

describe('RenderJob', () => {
  it('round-trips through the codec and fills defaults', () => {
    const decoded = decodeMessage(RenderJob, encodeMessage(RenderJob, job));
    expect(decoded.ok && decoded.value.imagePrompts).toEqual([]);
    expect(decoded.ok && decoded.value.prompts[1]).toEqual({ text: 'blurry', weight: -0.5, stop: 0.2 });
  });

  it('needs at least one prompt', () => {
    expect(RenderJob.safeParse({ ...job, prompts: [] }).success).toBe(false);
    expect(
      RenderJob.safeParse({ ...job, prompts: [], imagePrompts: [{ image: { key: 'inputs/x/a.png' } }] })
        .success,
    ).toBe(true);
  });

  it('refuses job ids that would break subjects and KV keys', () => {
    for (const jobId of ['a.b', 'a b', '*', '>', '', 'x'.repeat(65)]) {
      expect(RenderJob.safeParse({ ...job, jobId }).success, jobId).toBe(false);
    }
  });
});

describe('decodeMessage', () => {
  it('says which way the bytes are wrong', () => {
    const cases: [Uint8Array, string][] = [
      [enc('{"v":1,'), 'malformed-json'],
      [new Uint8Array([0xff, 0xfe, 0x00]), 'malformed-json'],
      [enc({ ...job, v: 2 }), 'unsupported-version'],
      [enc({ v: 1, jobId: 'x' }), 'invalid-job'],
      [enc({ ...job, seed: -1 }), 'invalid-job'],
    ];
    for (const [bytes, code] of cases) {
      const r = decodeMessage(RenderJob, bytes, { name: 'job' });
      expect(r.ok ? 'ok' : r.error.code).toBe(code);
    }
  });

  it('names the missing fields in its reason', () => {
    const r = decodeMessage(RenderJob, enc({ v: 1, jobId: 'x', model: 'tiny-shapes' }), { name: 'job' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/seed/);
  });

  it('refuses an over-size payload before parsing it', () => {
    const r = decodeMessage(RenderJob, enc({ ...job, junk: 'x'.repeat(2000) }), {
      maxBytes: 1024,
      name: 'job',
    });
    expect(r.ok ? 'ok' : r.error.code).toBe('job-too-large');
  });

  it('salvages the job id of a broken message when it can', () => {
    expect(salvageJobId(enc({ v: 9, jobId: 'abc' }))).toBe('abc');
    expect(salvageJobId(enc('{nope'))).toBeUndefined();
    expect(salvageJobId(enc({ jobId: 'a.b' }))).toBeUndefined();
  });

  it("takes a job message's id from the subject, then Nats-Msg-Id, then the body, then the sequence", () => {
    const data = enc({ v: 1, jobId: 'from-body' });
    const subject = 'tessera.jobs.tiny-shapes.from-subject';
    expect(jobIdOfMessage({ subject, msgId: 'from-header', data, seq: 7 })).toBe('from-subject');
    expect(jobIdOfMessage({ subject: 'elsewhere', msgId: 'from-header', data, seq: 7 })).toBe('from-header');
    expect(jobIdOfMessage({ subject: 'elsewhere', msgId: 'bad id!', data, seq: 7 })).toBe('from-body');
    expect(jobIdOfMessage({ subject: 'elsewhere', msgId: null, data: enc('{nope'), seq: 7 })).toBe('seq-7');
  });
});

describe('JobEvent', () => {
  const base = { v: 1, jobId: 'j1', at: '2026-11-27T03:00:00.000Z' } as const;
  it('is a union on type', () => {
    const events = [
      { ...base, type: 'queued', model: 'tiny-shapes' },
      { ...base, type: 'started', rendererId: 'r1', attempt: 1 },
      { ...base, type: 'progress', attempt: 2, step: 10, total: 100, itPerSec: 3.5, frame: 'UklGRg==' },
      {
        ...base,
        type: 'done',
        attempt: 1,
        image: { key: 'renders/j1/attempt-1.png' },
        width: 64,
        height: 64,
        seed: 1,
        elapsedMs: 10,
      },
      { ...base, type: 'failed', reason: 'The prompt is empty.', code: 'bad-input', retryable: false },
      { ...base, type: 'cancelled', by: 'u1' },
    ];
    for (const e of events) expect(JobEvent.safeParse(e).success, e.type).toBe(true);
    expect(JobEvent.safeParse({ ...base, type: 'progress', step: 1, total: 2, itPerSec: 1 }).success).toBe(
      false,
    ); // no attempt
    expect(JobEvent.safeParse({ ...base, type: 'failed', reason: 'x', code: 'oops' }).success).toBe(false);
  });

  it('also covers cancel requests and renderer presence', () => {
    expect(CancelRequest.safeParse({ v: 1, jobId: 'j1', by: 'u', at: base.at }).success).toBe(true);
    expect(
      RendererPresence.safeParse({
        v: 1,
        id: 'gpu-1',
        model: 'tiny-shapes',
        executionProvider: 'webgpu',
        state: 'busy',
        jobId: 'j1',
        recentItPerSec: 5,
        startedAt: base.at,
      }).success,
    ).toBe(true);
  });
});
