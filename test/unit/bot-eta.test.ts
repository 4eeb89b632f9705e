import { describe, expect, it } from 'vitest';
import { SpeedMeter, estimateEtaMs, formatEta } from '../../bot/src/core/eta.js';

describe('ETA', () => {
  it('averages renderer speed and estimates queue plus own steps', () => {
    const m = new SpeedMeter(1000);
    expect(m.current()).toBeUndefined();
    m.record(10, 0);
    m.record(20, 1000);
    expect(m.current()).toBeCloseTo(15, 5);
    expect(estimateEtaMs({ stepsLeft: 100, stepsAhead: 200, itPerSec: 10, renderers: 2 })).toBe(20_000);
    expect(
      estimateEtaMs({ stepsLeft: 100, stepsAhead: 0, itPerSec: undefined, renderers: 1 }),
    ).toBeUndefined();
    expect(formatEta(20_000)).toBe('~20 s');
    expect(formatEta(600_000)).toBe('~10 min');
    expect(formatEta(undefined)).toBe('measuring…');
  });
});
