import { describe, expect, it } from 'vitest';
import {
  jobSubject,
  jobsConsumer,
  maxDeliveriesAdvisory,
  modelJobsFilter,
  parseJobSubject,
  renderImageKey,
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
