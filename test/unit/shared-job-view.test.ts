import { describe, expect, it } from 'vitest';
import { initialJobView, reduceJobView, type JobEvent } from '../../shared/src/index.js';

const at = '2026-11-27T03:00:00.000Z';
const started = (attempt: number): JobEvent => ({
  v: 1,
  jobId: 'j',
  at,
  type: 'started',
  rendererId: `r${attempt}`,
  attempt,
  total: 10,
});
const progress = (attempt: number, step: number, frame?: string): JobEvent => ({
  v: 1,
  jobId: 'j',
  at,
  type: 'progress',
  attempt,
  step,
  total: 10,
  itPerSec: 2,
  frame,
});

describe('reduceJobView', () => {
  it('follows a job through its events', () => {
    let v = initialJobView('j');
    for (const e of [started(1), progress(1, 2, 'f2'), progress(1, 4)]) v = reduceJobView(v, e);
    expect(v).toMatchObject({ status: 'running', attempt: 1, step: 4, frame: 'f2' });
    v = reduceJobView(v, {
      v: 1,
      jobId: 'j',
      at,
      type: 'done',
      attempt: 1,
      image: { key: 'k' },
      width: 8,
      height: 8,
      seed: 1,
      elapsedMs: 5,
    });
    expect(v.status).toBe('done');
  });

  it('ignores frames of an older attempt once a newer one started', () => {
    let v = initialJobView('j');
    for (const e of [started(1), progress(1, 6, 'old'), started(2), progress(2, 2, 'new')])
      v = reduceJobView(v, e);
    const late = reduceJobView(v, progress(1, 8, 'stale'));
    expect(late).toBe(v);
    expect(v).toMatchObject({ attempt: 2, step: 2, frame: 'new', rendererId: 'r2' });
  });

  it('switches to a newer attempt even when its first frame arrives before its started event', () => {
    let v = initialJobView('j');
    for (const e of [started(1), progress(1, 6, 'old'), progress(2, 2, 'new')]) v = reduceJobView(v, e);
    expect(v).toMatchObject({ attempt: 2, step: 2, frame: 'new' });
  });

  it('drops out-of-order frames of the same attempt and anything after the end', () => {
    let v = initialJobView('j');
    for (const e of [started(1), progress(1, 6, 'six')]) v = reduceJobView(v, e);
    expect(reduceJobView(v, progress(1, 4, 'four'))).toBe(v);
    v = reduceJobView(v, { v: 1, jobId: 'j', at, type: 'cancelled', by: 'u' });
    expect(reduceJobView(v, progress(1, 8))).toBe(v);
    expect(v.status).toBe('cancelled');
  });
});
