import { describe, expect, it } from 'vitest';
import { FairQueue } from '../../renderer/src/scheduler/fair-queue.js';
import { Lane, fairJobOf } from '../../renderer/src/scheduler/lane.js';
import { testJob } from '../support/farm-harness.js';
import { RenderJob } from '../../shared/src/index.js';

function lane(): Lane {
  const holder: { lane?: Lane } = {};
  const queue = new FairQueue({
    serverWeight: () => 1,
    activationCredit: () => holder.lane?.activationCredit() ?? 0,
  });
  holder.lane = new Lane('tiny-shapes', queue);
  return holder.lane;
}

let seq = 0;
function entry(id: string, guildId: string, steps = 4) {
  seq += 1;
  return fairJobOf(RenderJob.parse(testJob(id, { steps, requester: { userId: `u-${id}`, guildId } })), seq);
}

describe('Lane', () => {
  it('keeps only what ordering needs of a queued job, and knows it until it ends', () => {
    const l = lane();
    l.add(entry('k1', '100000000000000001'));
    l.add(entry('k2', '100000000000000001'));
    expect(Object.keys(l.queue.get('k1')!).sort()).toEqual([
      'cost',
      'jobId',
      'member',
      'memberWeight',
      'seq',
      'server',
    ]);
    expect(l.holds('k1')).toBe(true);
    expect(l.next()?.jobId).toBe('k1');
    expect(l.holds('k1')).toBe(true);
    l.onEnded('k1', Date.now(), true);
    expect(l.holds('k1')).toBe(false);
  });

  it('measures speed per renderer from one start to the next while the queue is busy', () => {
    const l = lane();
    for (let i = 0; i < 10; i++) l.add(entry(`j${i}`, 'A'));
    l.noteRenderers(1);
    const t = 1_000_000;
    l.onStarted(l.next()!.jobId, t, 4, 'r1');
    l.onEnded('j0', t + 200, true); // render time alone: 50 ms/step, only a first guess
    expect(l.speed.msPerStep).toBeCloseTo(50);
    l.onStarted(l.next()!.jobId, t + 240, 4, 'r1'); // a whole cycle: 60 ms/step
    expect(l.speed.msPerStep).toBeCloseTo(60);
    l.onEnded('j1', t + 440, true); // no longer counted once cycles are known
    expect(l.speed.msPerStep).toBeCloseTo(60);
  });

  it('announces positions counting released jobs as ahead, with a wait from measured speed', () => {
    const l = lane();
    l.noteRenderers(2);
    for (let i = 0; i < 3; i++) l.add(entry(`a${i}`, 'A'));
    l.add(entry('b0', 'B'));
    l.speed.observe(4, 400); // 100 ms/step
    const released = l.next()!;
    const positions = l.announcements(Date.now());
    expect(positions.map((e) => [e.jobId, e.position])).toEqual([
      ['b0', 2],
      ['a1', 3],
      ['a2', 4],
    ]);
    // b0: 4 steps ahead (the released one) + half its own, × 100 ms, over 2 renderers.
    expect(positions[0]!.etaMs).toBe(300);
    expect(released.jobId).toBe('a0');
    // Nothing moved: nothing to tell.
    expect(l.announcements(Date.now())).toEqual([]);
    // The released one starts: everyone moves up one place.
    l.onStarted('a0', Date.now(), 4, 'r1');
    expect(l.announcements(Date.now()).map((e) => [e.jobId, e.position])).toEqual([
      ['b0', 1],
      ['a1', 2],
      ['a2', 3],
    ]);
  });
});
