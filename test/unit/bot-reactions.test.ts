import { afterEach, describe, expect, it } from 'vitest';
import type { RenderRecord } from '../../bot/src/core/render-record.js';
import { handleReaction, type ReactionInput } from '../../bot/src/discord/reactions.js';
import { memoryBot, type MemoryBot } from '../support/bot-ports.js';

const GUILD = '200000000000000001';
const CHANNEL = '300000000000000001';
const ALICE = '400000000000000001';
const BOB = '400000000000000002';
const MOD = '400000000000000003';
const MESSAGE = '700000000000000001';

function record(state: RenderRecord['state']): RenderRecord {
  return {
    v: 1,
    jobId: 'j1',
    guildId: GUILD,
    channelId: CHANNEL,
    messageId: MESSAGE,
    applicationId: '600000000000000001',
    requesterId: ALICE,
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
    state,
    createdAt: '2026-12-03T12:00:00.000Z',
  };
}

const react = (userId: string, emoji: string): ReactionInput => ({
  guildId: GUILD,
  channelId: CHANNEL,
  messageId: MESSAGE,
  userId,
  emoji,
});

let bot: MemoryBot;
afterEach(async () => {
  await bot?.renders.stop();
});

async function withRecord(state: RenderRecord['state']): Promise<MemoryBot> {
  bot = memoryBot({ seeds: [99] });
  bot.members.moderators.add(MOD);
  await bot.records.put(record(state));
  if (state === 'active') bot.renders.track(record(state));
  return bot;
}

describe('❌ on a render message', () => {
  it('cancels a running render of the requester and shows “cancelling”', async () => {
    await withRecord('active');
    await handleReaction(react(ALICE, '❌'), bot);
    expect(bot.jobs.cancels).toEqual([{ jobId: 'j1', by: ALICE, model: 'tiny-shapes' }]);
    await bot.renders.stop();
    expect(bot.port.editsOf(MESSAGE).at(-1)?.content).toMatch(/cancel/i);
  });

  it('lets a moderator cancel someone else’s render', async () => {
    await withRecord('active');
    await handleReaction(react(MOD, '❌'), bot);
    expect(bot.jobs.cancels.map((c) => c.by)).toEqual([MOD]);
  });

  it('takes back a ❌ from anyone else and lets the render go on', async () => {
    await withRecord('active');
    await handleReaction(react(BOB, '❌'), bot);
    expect(bot.jobs.cancels).toEqual([]);
    expect(bot.port.removedReactions).toEqual([{ messageId: MESSAGE, emoji: '❌', userId: BOB }]);
  });

  it('deletes a finished render and marks its record deleted', async () => {
    await withRecord('done');
    await handleReaction(react(ALICE, '❌'), bot);
    expect(bot.port.deleted).toEqual([MESSAGE]);
    expect((await bot.records.get('j1'))?.state).toBe('deleted');
    expect(bot.jobs.cancels).toEqual([]);
  });

  it('ignores the bot’s own reactions and other emoji', async () => {
    await withRecord('active');
    await handleReaction(react('bot-user', '❌'), bot);
    await handleReaction(react(ALICE, '👍'), bot);
    expect(bot.jobs.cancels).toEqual([]);
    expect(bot.port.removedReactions).toEqual([]);
  });
});

describe('🔁 on a render message', () => {
  it('rerolls a finished render into a reply with a new seed, charged to whoever reacted', async () => {
    await withRecord('done');
    await handleReaction(react(BOB, '🔁'), bot);
    const posted = bot.port.posts.at(-1)!;
    expect(posted.replyTo).toBe(MESSAGE);
    const child = await bot.records.byMessage(posted.id);
    expect(child).toMatchObject({ requesterId: BOB, parentJobId: 'j1', parentMessageId: MESSAGE });
    expect(child!.params.seed).toBe(99);
    expect(bot.jobs.job(child!.jobId)).toMatchObject({
      seed: 99,
      parentJobId: 'j1',
      requester: { userId: BOB },
    });
    expect((await bot.quotas.usage(GUILD, BOB)).day.jobs).toEqual([child!.jobId]);
    expect((await bot.quotas.usage(GUILD, ALICE)).day.jobs).toEqual([]);
    expect(bot.port.reactions).toContainEqual({ messageId: posted.id, emoji: '❌' });
  });

  it('refuses over quota with a short notice and takes the 🔁 back, starting nothing', async () => {
    await withRecord('done');
    await bot.settings.update(GUILD, (s) => ({ ...s, defaultQuota: { limit: 0, per: 'day' } }));
    await handleReaction(react(BOB, '🔁'), bot);
    expect(bot.port.posts).toHaveLength(1);
    expect(bot.port.posts[0]!.content).toMatch(new RegExp(`^<@${BOB}> `));
    expect(bot.port.removedReactions).toEqual([{ messageId: MESSAGE, emoji: '🔁', userId: BOB }]);
    expect(bot.jobs.published.size).toBe(0);
  });

  it('removes the reroll message and refunds when the farm cannot take the job', async () => {
    await withRecord('done');
    bot.jobs.failSubmit = new Error('no responders');
    await handleReaction(react(BOB, '🔁'), bot);
    const posted = bot.port.posts.at(-1)!;
    expect(bot.port.deleted).toEqual([posted.id]);
    expect((await bot.quotas.usage(GUILD, BOB)).day.jobs).toEqual([]);
  });

  it('does nothing on a render that is still running', async () => {
    await withRecord('active');
    await handleReaction(react(BOB, '🔁'), bot);
    expect(bot.port.posts).toEqual([]);
    expect(bot.jobs.published.size).toBe(0);
  });
});
