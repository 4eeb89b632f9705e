import { describe, expect, it } from 'vitest';
import {
  moderatorLines,
  ownRenderLines,
  schedulerQueueLine,
  serverShare,
} from '../../bot/src/core/farm-view.js';
import { defaultGuildSettings, memberWeight } from '../../bot/src/core/guild-settings.js';
import type { RenderProgressView } from '../../bot/src/core/ports.js';
import type { RenderRecord } from '../../bot/src/core/render-record.js';
import type { SchedulerStatus } from '../../shared/src/index.js';

const A = '100000000000000001';
const B = '100000000000000002';
const C = '100000000000000003';
const NOW = Date.parse('2026-12-03T12:00:00Z');

const status: SchedulerStatus = {
  v: 1,
  model: 'tiny-shapes',
  holder: 'scheduler-1',
  at: new Date(NOW - 1000).toISOString(),
  queued: 23,
  released: 2,
  renderers: 2,
  msPerStep: 50,
  servers: [
    { server: A, weight: 1, queued: 15, running: 2 },
    { server: B, weight: 2, queued: 1, running: 0 },
    { server: C, weight: 1, queued: 7, running: 1 },
  ],
  serverWeights: { [B]: 2 },
};

function record(jobId: string, prompt: string): RenderRecord {
  return {
    v: 1,
    jobId,
    guildId: B,
    channelId: '300000000000000001',
    messageId: `7${jobId.padStart(17, '0')}`,
    applicationId: '600000000000000001',
    requesterId: '400000000000000001',
    requesterName: 'bea',
    params: {
      promptText: prompt,
      prompts: [{ text: prompt, weight: 1 }],
      seed: 1,
      steps: 10,
      cutn: 8,
      width: 64,
      height: 64,
      quality: 'standard',
      model: 'tiny-shapes',
    },
    state: 'active',
    createdAt: new Date(NOW).toISOString(),
  };
}

describe('/farm with the fair-share scheduler', () => {
  it("counts this server against the others without naming them, with this server's weight", () => {
    expect(serverShare(status, B)).toEqual({
      thisServer: { queued: 1, running: 0 },
      others: { servers: 2, queued: 22, running: 3 },
      weight: 2,
    });
    const settings = { ...defaultGuildSettings(), roleWeights: { '810000000000000001': 2 } };
    const text = moderatorLines(status, settings, B).join('\n');
    expect(text).toContain('**This server:** 1 waiting · 0 with the renderers; 2 other servers: 22 waiting');
    expect(text).toContain('this server ×2');
    expect(text).toContain('<@&810000000000000001> ×2');
    expect(text).not.toContain(A);
    expect(text).not.toContain(C);
  });

  it('a server with nothing queued still sees its weight, and 1 by default', () => {
    expect(serverShare(status, '100000000000000009')).toMatchObject({
      thisServer: { queued: 0, running: 0 },
      others: { servers: 3 },
      weight: 1,
    });
  });

  it("lists the member's renders in this server, rendering first, then by position with the wait", () => {
    const progress: RenderProgressView[] = [
      { record: record('3', 'third'), started: false, position: 7, etaMs: 12_000 },
      { record: record('1', 'first'), started: true },
      { record: record('2', 'second'), started: false, position: 2, etaMs: 3_000 },
      { record: { ...record('4', 'elsewhere'), guildId: A }, started: false, position: 1 },
      { record: record('5', 'new'), started: false },
    ];
    const lines = ownRenderLines(progress, B, (r) => `https://x/${r.jobId}`);
    expect(lines).toEqual([
      '• [first](https://x/1): rendering',
      '• [second](https://x/2): #2 in line, starts in ~3 s',
      '• [third](https://x/3): #7 in line, starts in ~12 s',
      '• [new](https://x/5): waiting (position coming)',
    ]);
  });

  it('says when the snapshot is old (no scheduler reporting)', () => {
    expect(schedulerQueueLine(status, NOW)).toBe(
      '**Fair queue:** 23 waiting · 3 with the renderers · 2 renderers · 20.0 steps/s per renderer',
    );
    expect(schedulerQueueLine(status, NOW + 60_000)).toContain('as of 61 s ago');
  });
});

describe('role weights', () => {
  it("takes the member's highest role weight, 1 without any", () => {
    const s = { ...defaultGuildSettings(), roleWeights: { '1': 2, '2': 0.5, '3': 4 } };
    expect(memberWeight(s, ['2', '1'])).toBe(2);
    expect(memberWeight(s, ['2'])).toBe(0.5);
    expect(memberWeight(s, ['3', '1'])).toBe(4);
    expect(memberWeight(s, ['9'])).toBe(1);
    expect(memberWeight(defaultGuildSettings(), ['1'])).toBe(1);
  });
});
