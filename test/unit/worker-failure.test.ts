import { describe, expect, it } from 'vitest';
import { ContractError, JobFailure } from '../../shared/src/index.js';
import { EngineInputError } from '../../renderer/src/engine/engine.js';
import { classifyFailure, retryDelayMs } from '../../renderer/src/worker/failure.js';

describe('classifyFailure', () => {
  it('treats bad input as terminal and keeps its identifier', () => {
    const f = classifyFailure(new EngineInputError('Unknown words: zebra.', 'unknown-words'), 'j1');
    expect(f).toMatchObject({ code: 'bad-input', retryable: false, reason: 'Unknown words: zebra.' });
    expect(f.context).toEqual({ jobId: 'j1', identifier: 'unknown-words' });
  });

  it('treats contract errors as terminal with their own code', () => {
    expect(classifyFailure(new ContractError('not JSON', 'malformed-json'))).toMatchObject({
      code: 'malformed-json',
      retryable: false,
    });
  });

  it('retries anything else', () => {
    const f = classifyFailure(new Error('GPU lost'));
    expect(f).toMatchObject({ code: 'engine-error', retryable: true });
    expect(f.reason).toContain('GPU lost');
  });

  it('passes a JobFailure through unchanged', () => {
    const original = new JobFailure('gone', 'missing-image', false);
    expect(classifyFailure(original)).toBe(original);
  });
});

describe('retryDelayMs', () => {
  it('doubles per attempt and is capped at five minutes', () => {
    expect([1, 2, 3, 4].map((a) => retryDelayMs(1000, a))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(1000, 30)).toBe(300_000);
  });
});
