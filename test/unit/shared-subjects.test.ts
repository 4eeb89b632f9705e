import { describe, expect, it } from 'vitest';
import {
  MODEL_NOT_SERVED,
  allEventsSubject,
  checkModelServed,
  eventSubject,
  jobEventSubjects,
  jobSubject,
  jobsConsumer,
  maxDeliveriesAdvisory,
  modelJobsFilter,
  parseJobSubject,
  renderImageKey,
  terminalEventSubject,
} from '../../shared/src/index.js';

describe('subjects', () => {
  it('builds and parses job subjects', () => {
    expect(jobSubject('tiny-shapes', '123')).toBe('tessera.jobs.tiny-shapes.123');
    expect(parseJobSubject('tessera.jobs.tiny-shapes.123')).toEqual({ model: 'tiny-shapes', jobId: '123' });
    expect(parseJobSubject('tessera.events.123')).toBeUndefined();
    expect(modelJobsFilter('tiny-shapes')).toBe('tessera.jobs.tiny-shapes.*');
    expect(maxDeliveriesAdvisory('tiny-shapes')).toBe(
      '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.TESSERA_JOBS.renderer-tiny-shapes',
    );
    expect(jobsConsumer('tiny-shapes')).toBe('renderer-tiny-shapes');
    expect(renderImageKey('123', 2)).toBe('renders/123/attempt-2.png');
  });

  it('refuses tokens that would change the subject', () => {
    expect(() => jobSubject('tiny.shapes', '1')).toThrow(/model/);
    expect(() => jobSubject('tiny-shapes', '>')).toThrow(/job id/);
  });
});

describe('event subjects', () => {
  it('puts the terminal event on its own subject per job, inside the events stream', () => {
    expect(terminalEventSubject('123')).toBe('tessera.events.123.end');
    expect(jobEventSubjects('123')).toEqual([
      eventSubject('123'),
      'tessera.events.123.queued',
      'tessera.events.123.end',
    ]);
    expect(allEventsSubject()).toBe('tessera.events.>');
    expect(() => terminalEventSubject('a.b')).toThrow(/job id/);
  });
});

describe('checkModelServed', () => {
  it('accepts a served model', () => {
    expect(checkModelServed('tiny-shapes', ['tiny-shapes', 'big'])).toEqual({
      ok: true,
      value: 'tiny-shapes',
    });
  });

  it('refuses an unserved model, naming the models that are served', () => {
    const r = checkModelServed('vqgan-imagenet', ['tiny-shapes', 'big', 'tiny-shapes']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.identifier).toBe(MODEL_NOT_SERVED);
    expect(r.error.message).toBe(
      'No renderer serves the model vqgan-imagenet right now (online: big, tiny-shapes), so the job would only wait. Try again later.',
    );
  });

  it('says so when no renderer is online at all', () => {
    const r = checkModelServed('tiny-shapes', []);
    expect(!r.ok && r.error.message).toMatch(
      /^No renderer is online, so a render of tiny-shapes would only wait/,
    );
  });
});
