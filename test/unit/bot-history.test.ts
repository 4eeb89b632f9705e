import { describe, expect, it } from 'vitest';
import { addToHistory, MAX_HISTORY, pageOf } from '../../bot/src/core/history-index.js';
import type { RenderRecord } from '../../bot/src/core/render-record.js';
import { historyButtonId, historyView, parseHistoryButton } from '../../bot/src/discord/history-view.js';
import { showRefusal } from '../../bot/src/discord/show-command.js';

const ids = Array.from({ length: 12 }, (_, k) => `job${12 - k}`); // newest first

describe('the per-member history index', () => {
  it('adds at the front once and keeps only the last MAX_HISTORY', () => {
    let h = addToHistory(undefined, 'a', new Date(0).toISOString());
    h = addToHistory(h, 'a', new Date(1).toISOString());
    expect(h.jobs.map((j) => j.jobId)).toEqual(['a']);
    for (let n = 0; n < MAX_HISTORY + 5; n++) h = addToHistory(h, `j${n}`, new Date(n).toISOString());
    expect(h.jobs).toHaveLength(MAX_HISTORY);
    expect(h.jobs[0]!.jobId).toBe(`j${MAX_HISTORY + 4}`);
  });

  it('pages by cursor: first page, older than the last shown, newer than the first shown', () => {
    const p1 = pageOf(ids, { limit: 5 });
    expect(p1).toMatchObject({
      items: ids.slice(0, 5),
      newer: false,
      older: true,
      first: 'job12',
      last: 'job8',
    });
    const p2 = pageOf(ids, { limit: 5, before: p1.last });
    expect(p2).toMatchObject({ items: ids.slice(5, 10), newer: true, older: true });
    const p3 = pageOf(ids, { limit: 5, before: p2.last });
    expect(p3).toMatchObject({ items: ids.slice(10), newer: true, older: false });
    expect(pageOf(ids, { limit: 5, after: p3.first })).toEqual(p2);
    expect(pageOf(ids, { limit: 5, after: p2.first })).toEqual(p1);
  });

  it('stays on the same renders when new ones arrive in front, and is empty past a forgotten cursor', () => {
    const p1 = pageOf(ids, { limit: 5 });
    const grown = ['new2', 'new1', ...ids];
    expect(pageOf(grown, { limit: 5, before: p1.last }).items).toEqual(ids.slice(5, 10));
    expect(pageOf(ids, { limit: 5, before: 'gone' })).toMatchObject({ items: [], newer: true, older: false });
  });
});

describe('history buttons', () => {
  it('carry whose history and the cursor in the custom id, within Discord’s 100 characters', () => {
    const b = {
      targetId: '400000000000000001',
      direction: 'older' as const,
      cursor: `rr-${'9'.repeat(19)}-${'8'.repeat(19)}-mabcdefg`,
    };
    const id = historyButtonId(b);
    expect(id.length).toBeLessThanOrEqual(100);
    expect(parseHistoryButton(id)).toEqual(b);
    expect(parseHistoryButton('tessera:v1:reroll:123')).toBeUndefined();
    expect(parseHistoryButton('hist:1:x:abc')).toBeUndefined();
  });
});

function record(jobId: string, over: Partial<RenderRecord> = {}): RenderRecord {
  return {
    v: 1,
    jobId,
    guildId: 'g1',
    channelId: 'c1',
    messageId: `m-${jobId}`,
    applicationId: 'app',
    requesterId: 'u1',
    requesterName: 'alice',
    params: {
      promptText: 'a red circle',
      prompts: [],
      seed: 9,
      steps: 5,
      cutn: 8,
      width: 64,
      height: 64,
      quality: 'standard',
      model: 'tiny-shapes',
    },
    state: 'done',
    createdAt: new Date(0).toISOString(),
    ...over,
  };
}

describe('historyView', () => {
  it('shows prompt, seed, status, link and thumbnail per render, and disables the way that leads nowhere', () => {
    const v = historyView(
      '4001',
      {
        items: [record('a'), record('b', { state: 'deleted' })],
        newer: false,
        older: true,
        first: 'a',
        last: 'b',
      },
      new Map([['a', 'thumb-1.webp']]),
    );
    expect(v.embeds[0]).toMatchObject({
      title: 'a red circle',
      url: 'https://discord.com/channels/g1/c1/m-a',
      thumbnail: { url: 'attachment://thumb-1.webp' },
    });
    expect(v.embeds[0]!.description).toMatch(/✅ done · seed 9/);
    expect(v.embeds[1]!.url).toBeUndefined();
    expect(v.embeds[1]!.description).toMatch(/deleted/);
    const buttons = v.components[0]!.components;
    expect(buttons.map((b) => b.disabled)).toEqual([true, false]);
    expect(parseHistoryButton((buttons[1] as { custom_id: string }).custom_id)).toEqual({
      targetId: '4001',
      direction: 'older',
      cursor: 'b',
    });
  });

  it('names an image-only render by its pictures', () => {
    const r = record('a', {
      params: {
        ...record('a').params,
        promptText: '',
        imagePrompts: [
          { key: 'k1', weight: 1 },
          { key: 'k2', weight: 1 },
        ],
      },
    });
    expect(historyView('u1', { items: [r], newer: false, older: false }, new Map()).embeds[0]!.title).toBe(
      'Made from 2 images',
    );
  });
});

describe('/show refusals', () => {
  it('answers another server’s render exactly like an unknown id', () => {
    const other = showRefusal(record('a', { guildId: 'g2' }), 'g1', 'a');
    const unknown = showRefusal(undefined, 'g1', 'a');
    expect(other).toEqual(unknown);
    expect(other?.identifier).toBe('unknown-job');
  });

  it('keeps deleted renders deleted and points at unfinished ones', () => {
    expect(showRefusal(record('a', { state: 'deleted' }), 'g1', 'a')?.identifier).toBe('deleted');
    expect(showRefusal(record('a', { state: 'active' }), 'g1', 'a')?.message).toContain('m-a');
    expect(showRefusal(record('a'), 'g1', 'a')).toBeUndefined();
  });
});
