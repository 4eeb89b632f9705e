import { describe, expect, it } from 'vitest';
import { SpeedMeter, estimateWaitMs, worthAnnouncing } from '../../renderer/src/scheduler/eta.js';
import { parseServerWeights } from '../../shared/src/server-weights.js';

describe('SpeedMeter', () => {
  it('averages the first samples, then follows changes smoothly', () => {
    const m = new SpeedMeter({ alpha: 0.5 });
    expect(m.msPerStep).toBeUndefined();
    m.observe(10, 1000);
    m.observe(10, 2000);
    m.observe(10, 3000);
    expect(m.msPerStep).toBeCloseTo(200);
    m.observe(10, 4000);
    expect(m.msPerStep).toBeCloseTo(300);
    m.observe(0, 5000);
    m.observe(10, Number.NaN);
    expect(m.samples).toBe(4);
  });
});

describe('estimateWaitMs', () => {
  it('shares the work ahead among the renderers, plus half a job', () => {
    expect(estimateWaitMs({ stepsAhead: 40, steps: 4, msPerStep: 50, renderers: 4 })).toBe(525);
    expect(estimateWaitMs({ stepsAhead: 0, steps: 4, msPerStep: 50, renderers: 1 })).toBe(100);
  });
  it('has no estimate without a measured speed or a renderer', () => {
    expect(estimateWaitMs({ stepsAhead: 4, steps: 4, msPerStep: undefined, renderers: 2 })).toBeUndefined();
    expect(estimateWaitMs({ stepsAhead: 4, steps: 4, msPerStep: 10, renderers: 0 })).toBeUndefined();
  });
});

describe('worthAnnouncing', () => {
  it('announces near the front, big moves further back, and stale positions', () => {
    expect(worthAnnouncing({ previous: undefined, position: 500, sinceLastMs: 0 })).toBe(true);
    expect(worthAnnouncing({ previous: 5, position: 5, sinceLastMs: 60_000 })).toBe(false);
    expect(worthAnnouncing({ previous: 6, position: 5, sinceLastMs: 0 })).toBe(true);
    expect(worthAnnouncing({ previous: 500, position: 495, sinceLastMs: 1000 })).toBe(false);
    expect(worthAnnouncing({ previous: 500, position: 440, sinceLastMs: 1000 })).toBe(true);
    expect(worthAnnouncing({ previous: 500, position: 495, sinceLastMs: 20_000 })).toBe(true);
  });
});

describe('parseServerWeights', () => {
  it('reads id:weight pairs and names what is wrong', () => {
    expect(parseServerWeights(' 123:2, 456:0.5 ,')).toEqual({ ok: true, weights: { '123': 2, '456': 0.5 } });
    expect(parseServerWeights('')).toEqual({ ok: true, weights: {} });
    expect(parseServerWeights('123')).toMatchObject({ ok: false });
    expect(parseServerWeights('123:0')).toMatchObject({ ok: false });
    expect(parseServerWeights('a.b:1')).toMatchObject({ ok: false });
  });
});
