import { describe, expect, it } from 'vitest';
import { ProgressThrottle } from '../../renderer/src/worker/progress-throttle.js';

describe('ProgressThrottle', () => {
  it('publishes at most every N steps and at most once per interval, carrying the newest frame', () => {
    let now = 0;
    const t = new ProgressThrottle({ every: 5, minIntervalMs: 250, now: () => now });
    const out: { step: number; frame?: string }[] = [];
    for (let step = 1; step <= 100; step++) {
      now += 20; // 50 it/s: the interval limit binds (every 250 ms ⇒ every 12-13 steps)
      const frame = step % 5 === 0 ? new TextEncoder().encode(`f${step}`) : undefined;
      const p = t.offer({ step, total: 100, itPerSec: 50, frame });
      if (p) out.push({ step: p.step, frame: p.frame ? new TextDecoder().decode(p.frame) : undefined });
    }
    expect(out[0]!.step).toBe(1);
    for (let i = 1; i < out.length; i++) expect(out[i]!.step - out[i - 1]!.step).toBeGreaterThanOrEqual(12);
    expect(out.length).toBeLessThanOrEqual(9); // 2 s of rendering at ≤ 4/s, plus the first
    // Each published event carries the newest frame seen since the last one.
    for (const p of out.slice(1)) expect(p.frame).toBe(`f${Math.floor(p.step / 5) * 5}`);
  });

  it('is bounded by steps when the renderer is slow', () => {
    let now = 0;
    const t = new ProgressThrottle({ every: 10, minIntervalMs: 250, now: () => now });
    const steps: number[] = [];
    for (let step = 1; step <= 50; step++) {
      now += 1000;
      if (t.offer({ step, total: 50, itPerSec: 1 })) steps.push(step);
    }
    expect(steps).toEqual([1, 11, 21, 31, 41]);
  });
});
