import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import type { TerminalJobEvent } from '../../shared/src/index.js';
import type { RenderRecord } from '../../bot/src/core/render-record.js';
import { memoryBot, type MemoryBot } from '../support/bot-ports.js';

const GUILD = '200000000000000001';
const USER = '400000000000000001';
const AT = '2026-12-03T12:00:00.000Z';

function record(jobId: string, over: Partial<RenderRecord> = {}): RenderRecord {
  return {
    v: 1,
    jobId,
    guildId: GUILD,
    channelId: '300000000000000001',
    messageId: `m-${jobId}`,
    applicationId: '600000000000000001',
    requesterId: USER,
    requesterName: 'alice',
    params: {
      promptText: 'a red circle',
      prompts: [{ text: 'a red circle', weight: 1 }],
      seed: 7,
      steps: 20,
      cutn: 8,
      width: 64,
      height: 64,
      quality: 'standard',
      model: 'tiny-shapes',
    },
    state: 'active',
    createdAt: AT,
    ...over,
  };
}

/** A job started the usual way: charged, recorded and followed. */
async function running(bot: MemoryBot, jobId: string): Promise<RenderRecord> {
  const r = record(jobId);
  await bot.quotas.charge(GUILD, USER, jobId, { limit: 5, per: 'day' }, 5);
  await bot.records.put(r);
  bot.renders.track(r);
  return r;
}

async function png(): Promise<Uint8Array> {
  const data = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#cc2222' } })
    .png()
    .toBuffer();
  return new Uint8Array(data);
}

const done = (jobId: string): TerminalJobEvent => ({
  v: 1,
  type: 'done',
  jobId,
  at: AT,
  attempt: 1,
  image: { key: `renders/${jobId}/final.png` },
  width: 8,
  height: 8,
  seed: 7,
  elapsedMs: 1200,
});
const failed = (jobId: string): TerminalJobEvent => ({
  v: 1,
  type: 'failed',
  jobId,
  at: AT,
  reason: 'The model does not know the word “zxq”.',
  code: 'invalid-job',
});
const cancelled = (jobId: string): TerminalJobEvent => ({ v: 1, type: 'cancelled', jobId, at: AT, by: USER });

let bot: MemoryBot;
afterEach(async () => {
  await bot?.renders.stop();
});

describe('RenderService, the end of a job', () => {
  it('shows the finished picture, keeps the charge, closes the record and offers 🔁', async () => {
    bot = memoryBot();
    const r = await running(bot, 'j1');
    await bot.images.put('renders/j1/final.png', await png());
    await bot.renders.onEvent(done('j1'));
    const last = bot.port.editsOf(r.messageId).at(-1)!;
    expect(last.content).toMatch(/^✅ Done/u);
    expect(last.image?.name).toBe('tessera-7.png');
    expect((await bot.quotas.usage(GUILD, USER)).day.jobs).toEqual(['j1']);
    expect((await bot.quotas.usage(GUILD, USER)).active).toEqual([]);
    expect((await bot.records.get('j1'))?.state).toBe('done');
    expect(bot.port.reactions).toContainEqual({ messageId: r.messageId, emoji: '🔁' });
    expect(bot.renders.activeJobsOf(USER)).toEqual([]);
  });

  it('shows the renderer’s reason for a failure and refunds the render', async () => {
    bot = memoryBot();
    const r = await running(bot, 'j2');
    await bot.renders.onEvent(failed('j2'));
    const last = bot.port.editsOf(r.messageId).at(-1)!;
    expect(last.content).toMatch(/^⚠️/u);
    expect(JSON.stringify(last.embed)).toContain('zxq');
    expect(bot.quotas.refunds).toEqual(['j2']);
    expect((await bot.records.get('j2'))?.state).toBe('failed');
    expect(bot.port.reactions).toEqual([]);
  });

  it('shows who cancelled and refunds the render', async () => {
    bot = memoryBot();
    const r = await running(bot, 'j3');
    await bot.renders.onEvent(cancelled('j3'));
    expect(bot.port.editsOf(r.messageId).at(-1)!.content).toMatch(/^🛑 Cancelled/u);
    expect(bot.quotas.refunds).toEqual(['j3']);
    expect((await bot.records.get('j3'))?.state).toBe('cancelled');
  });

  it('handles a redelivered terminal event once: no second refund, no second final edit', async () => {
    bot = memoryBot();
    const r = await running(bot, 'j4');
    await bot.renders.onEvent(failed('j4'));
    const edits = bot.port.editsOf(r.messageId).length;
    const writes = bot.quotas.writes;
    await bot.renders.onEvent(failed('j4'));
    await bot.renders.onEvent(cancelled('j4'));
    expect(bot.quotas.refunds).toEqual(['j4']);
    expect(bot.quotas.writes).toBe(writes);
    expect(bot.port.editsOf(r.messageId)).toHaveLength(edits);
  });

  it('ends a job once when the same terminal event arrives twice at the same moment', async () => {
    bot = memoryBot();
    const r = await running(bot, 'j5');
    await Promise.all([bot.renders.onEvent(cancelled('j5')), bot.renders.onEvent(cancelled('j5'))]);
    expect(bot.quotas.refunds).toEqual(['j5']);
    expect(bot.port.editsOf(r.messageId).filter((p) => p.final)).toHaveLength(1);
  });

  it('finishes, through the channel message, a job that ended while nobody followed it', async () => {
    bot = memoryBot();
    const r = record('j6');
    await bot.quotas.charge(GUILD, USER, 'j6', { limit: 5, per: 'day' }, 5);
    await bot.records.put(r);
    await bot.renders.onEvent(cancelled('j6'));
    const edit = bot.port.edits.at(-1)!;
    expect(edit.target).toEqual({ kind: 'channel', channelId: r.channelId, messageId: r.messageId });
    expect(edit.payload.content).toMatch(/^🛑 Cancelled/u);
    expect(bot.quotas.refunds).toEqual(['j6']);
  });

  it('after a restart, follows active records again and ends those that ended meanwhile', async () => {
    bot = memoryBot();
    await bot.records.put(record('j7'));
    await bot.records.put(record('j8'));
    await bot.quotas.charge(GUILD, USER, 'j8', { limit: 5, per: 'day' }, 5);
    bot.jobs.results.set('j8', failed('j8'));
    expect(await bot.renders.resume()).toBe(2);
    await bot.renders.whenEnded('j8');
    expect((await bot.records.get('j8'))?.state).toBe('failed');
    expect(bot.quotas.refunds).toEqual(['j8']);
    expect(bot.renders.activeJobsOf(USER).map((x) => x.jobId)).toEqual(['j7']);
  });

  it('ignores the end of a job that is not the bot’s', async () => {
    bot = memoryBot();
    await bot.renders.onEvent(done('cli-job'));
    expect(bot.port.edits).toEqual([]);
  });

  it('shows a position the scheduler announced before the job was followed', async () => {
    bot = memoryBot();
    const queued = (jobId: string, position: number) =>
      ({ v: 1, type: 'queued', jobId, at: AT, model: 'tiny-shapes', position, etaMs: 4000 }) as const;
    bot.renders.onQueuedPosition(queued('j9', 3));
    for (let i = 0; i < 300; i++) bot.renders.onQueuedPosition(queued(`other-${i}`, 1));
    bot.renders.onQueuedPosition(queued('j10', 2));
    const r = await running(bot, 'j10');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(bot.port.editsOf(r.messageId).at(-1)?.content).toMatch(/position 2 · ETA ~4 s/u);
    expect(bot.renders.progressOf(USER)).toMatchObject([{ started: false, position: 2, etaMs: 4000 }]);
    // An old one was not kept (most unfollowed positions are other bots' or the CLI's jobs).
    const old = await running(bot, 'j9');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(bot.port.editsOf(old.messageId)).toEqual([]);
  });
});
