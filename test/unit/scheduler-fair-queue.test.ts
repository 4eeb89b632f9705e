import { describe, expect, it } from 'vitest';
import { FairQueue, type FairJob } from '../../renderer/src/scheduler/fair-queue.js';

let seq = 0;
function job(server: string, member: string, extra: Partial<FairJob> = {}): FairJob {
  seq += 1;
  return { jobId: `j${seq}`, server, member, memberWeight: 1, cost: 10, seq, ...extra };
}

function queue(weights: Record<string, number> = {}, memberMaxRunning = 0): FairQueue {
  return new FairQueue({ serverWeight: (s) => weights[s] ?? 1, memberMaxRunning });
}

/** Releases `n` jobs (finishing each at once) and counts them per key. */
function drain(q: FairQueue, n: number, key: (j: FairJob) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const j = q.next();
    if (!j) break;
    counts[key(j)] = (counts[key(j)] ?? 0) + j.cost;
    q.finished(j.jobId);
  }
  return counts;
}

describe('FairQueue', () => {
  it('lets a late server through ahead of a flood that arrived first', () => {
    const q = queue();
    for (let i = 0; i < 200; i++) q.add(job('A', `a${i % 20}`));
    for (let i = 0; i < 4; i++) q.next();
    const late = [0, 1, 2, 3, 4].map((i) => job('B', `b${i}`));
    for (const j of late) q.add(j);
    const next = Array.from({ length: 10 }, () => q.next()!);
    // B alternates with A: its five jobs are among the next ten, none waits behind the flood.
    expect(next.filter((j) => j.server === 'B')).toHaveLength(5);
    expect(next.findIndex((j) => j.server === 'B')).toBeLessThanOrEqual(1);
  });

  it('shares renderer time between servers by weight (1:1 and 2:1)', () => {
    for (const wA of [1, 2]) {
      const q = queue({ A: wA });
      for (let i = 0; i < 600; i++) q.add(job('A', `a${i % 3}`));
      for (let i = 0; i < 600; i++) q.add(job('B', 'b0'));
      const counts = drain(q, 300, (j) => j.server);
      expect(counts.A! / counts.B!).toBeCloseTo(wA, 1);
    }
  });

  it('weighs by cost (steps), not by job count', () => {
    const q = queue();
    for (let i = 0; i < 100; i++) q.add(job('A', 'a', { cost: 30 }));
    for (let i = 0; i < 300; i++) q.add(job('B', 'b', { cost: 10 }));
    const counts = drain(q, 120, (j) => j.server);
    expect(Math.abs(counts.A! - counts.B!)).toBeLessThanOrEqual(30);
  });

  it('shares a server between its members by role weight', () => {
    const q = queue();
    for (let i = 0; i < 300; i++) q.add(job('A', 'supporter', { memberWeight: 2 }));
    for (let i = 0; i < 300; i++) q.add(job('A', 'member'));
    const counts = drain(q, 300, (j) => j.member);
    expect(counts.supporter! / counts.member!).toBeCloseTo(2, 1);
  });

  it('gives an idle server no credit for the time it was idle', () => {
    const q = queue();
    for (let i = 0; i < 100; i++) q.add(job('A', 'a'));
    for (let i = 0; i < 10; i++) q.add(job('B', 'b'));
    drain(q, 20, (j) => j.server); // B's ten are served, B goes idle, A keeps going
    drain(q, 40, (j) => j.server);
    for (let i = 0; i < 40; i++) q.add(job('B', 'b'));
    const counts = drain(q, 20, (j) => j.server);
    // B re-enters at the current virtual time: it alternates, it does not get 40 in a row.
    expect(counts.A).toBe(100);
    expect(counts.B).toBe(100);
  });

  it('lets a quiet server have a bounded burst (activation credit), then alternates', () => {
    const q = new FairQueue({ serverWeight: () => 1, activationCredit: () => 3 * 10 });
    for (let i = 0; i < 100; i++) q.add(job('A', `a${i % 20}`));
    drain(q, 10, (j) => j.server);
    for (let i = 0; i < 6; i++) q.add(job('B', `b${i}`));
    const next = Array.from({ length: 8 }, () => q.next()!.server).join('');
    expect(next).toBe('BBBBABAB');
  });

  it('never starves a server with a tiny weight', () => {
    const q = queue({ A: 1000, B: 0.01 });
    for (let i = 0; i < 5000; i++) q.add(job('A', 'a'));
    q.add(job('B', 'b'));
    const counts = drain(q, 5001, (j) => j.server);
    expect(counts.B).toBe(10);
  });

  it('keeps each member in arrival order, also when rebuilt out of order', () => {
    const q = queue();
    const jobs = [job('A', 'm'), job('A', 'm'), job('A', 'm')];
    for (const j of [jobs[2]!, jobs[0]!, jobs[1]!]) q.add(j);
    expect([q.next()!.jobId, q.next()!.jobId, q.next()!.jobId]).toEqual(jobs.map((j) => j.jobId));
  });

  it('passes over a member at the running limit until one of theirs finishes', () => {
    const q = queue({}, 2);
    for (let i = 0; i < 5; i++) q.add(job('A', 'heavy'));
    const first = [q.next()!, q.next()!];
    expect(first.map((j) => j.member)).toEqual(['heavy', 'heavy']);
    expect(q.next()).toBeUndefined();
    q.add(job('A', 'light'));
    expect(q.next()!.member).toBe('light');
    expect(q.next()).toBeUndefined();
    q.finished(first[0]!.jobId);
    expect(q.next()!.member).toBe('heavy');
  });

  it('projects the release order without changing the queue, and it matches next()', () => {
    const q = queue({ A: 2 });
    for (let i = 0; i < 30; i++) q.add(job('A', `a${i % 4}`, { cost: 5 + (i % 3) }));
    for (let i = 0; i < 12; i++) q.add(job('B', `b${i % 2}`, { memberWeight: 1 + (i % 2) }));
    const projected = q.order().map((j) => j.jobId);
    expect(q.size).toBe(42);
    const actual = Array.from({ length: 42 }, () => q.next()!.jobId);
    expect(actual).toEqual(projected);
  });

  it('removes a cancelled job and ignores a repeated job id', () => {
    const q = queue();
    const a = job('A', 'a');
    expect(q.add(a)).toBe(true);
    expect(q.add({ ...a })).toBe(false);
    q.add(job('A', 'a'));
    expect(q.remove(a.jobId)?.jobId).toBe(a.jobId);
    expect(q.size).toBe(1);
    expect(q.next()!.jobId).not.toBe(a.jobId);
    expect(q.add({ ...a, jobId: 'released' })).toBe(true);
    const released = q.next()!;
    expect(q.add({ ...released })).toBe(false);
  });

  it('summarises queued and running jobs per server with their weights', () => {
    const q = queue({ A: 3 });
    q.add(job('A', 'a'));
    q.add(job('A', 'a'));
    q.add(job('B', 'b'));
    q.next();
    expect(q.summary().sort((x, y) => x.server.localeCompare(y.server))).toEqual([
      { server: 'A', weight: 3, queued: 1, running: 1 },
      { server: 'B', weight: 1, queued: 1, running: 0 },
    ]);
  });
});
