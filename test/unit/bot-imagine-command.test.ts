import type { ChatInputCommandInteraction } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { handleImagine } from '../../bot/src/discord/imagine-command.js';
import { defaultGuildSettings } from '../../bot/src/core/guild-settings.js';
import { memoryBot, type MemoryBot } from '../support/bot-ports.js';

const GUILD = '200000000000000001';
const CHANNEL = '300000000000000001';
const USER = '400000000000000001';
const REPLY_ID = '700000000000000009';

interface Call {
  kind: 'reply' | 'deferReply' | 'editReply' | 'followUp' | 'fetchReply' | 'deleteReply';
  options?: unknown;
}

/** Just enough of a ChatInputCommandInteraction for `/imagine`, recording what the bot does with it. */
function interaction(options: Record<string, string | number>, id = '500000000000000001') {
  const calls: Call[] = [];
  const fake = {
    id,
    token: 'interaction-token-secret',
    applicationId: '600000000000000001',
    guildId: GUILD,
    channelId: CHANNEL,
    createdTimestamp: Date.now(),
    attachmentSizeLimit: 10 * 1024 * 1024,
    user: { id: USER, username: 'alice' },
    member: { roles: [] },
    inGuild: () => true,
    options: {
      getString: (name: string) => (typeof options[name] === 'string' ? options[name] : null),
      getInteger: (name: string) => (typeof options[name] === 'number' ? options[name] : null),
      getAttachment: () => null,
    },
    reply: async (o: unknown) => void calls.push({ kind: 'reply', options: o }),
    deferReply: async (o: unknown) => {
      calls.push({ kind: 'deferReply', options: o });
      return { resource: { message: { id: REPLY_ID } }, interaction: { responseMessageId: REPLY_ID } };
    },
    editReply: async (o: unknown) => void calls.push({ kind: 'editReply', options: o }),
    followUp: async (o: unknown) => void calls.push({ kind: 'followUp', options: o }),
    fetchReply: async () => {
      calls.push({ kind: 'fetchReply' });
      return { id: REPLY_ID };
    },
    deleteReply: async () => void calls.push({ kind: 'deleteReply' }),
  };
  return { i: fake as unknown as ChatInputCommandInteraction, calls };
}

/** The single private reply, or a failure naming what happened instead. */
function privateReply(calls: Call[]): string {
  expect(calls.map((c) => c.kind)).toEqual(['reply']);
  const o = calls[0]!.options as { content: string; flags: number };
  expect(o.flags & 64).toBe(64);
  return o.content;
}

let bot: MemoryBot;
afterEach(async () => {
  await bot?.renders.stop();
});

describe('/imagine', () => {
  it('defers once, takes the message id from the callback response and submits the job', async () => {
    bot = memoryBot();
    const { i, calls } = interaction({ prompt: 'a red circle', steps: 30, seed: 5 });
    await handleImagine(i, bot);
    expect(calls.map((c) => c.kind)).toEqual(['deferReply']);
    expect(calls[0]!.options).toMatchObject({ withResponse: true });
    expect(bot.jobs.job(i.id)).toMatchObject({ steps: 30, seed: 5, requester: { interactionId: i.id } });
    expect((await bot.records.get(i.id))?.messageId).toBe(REPLY_ID);
    expect(bot.port.reactions).toEqual([{ messageId: REPLY_ID, emoji: '❌' }]);
  });

  it('names the option and its allowed range when steps are out of range, privately and before deferring', async () => {
    bot = memoryBot();
    const { i, calls } = interaction({ prompt: 'a red circle', steps: 20_000 });
    await handleImagine(i, bot);
    expect(privateReply(calls)).toContain('`steps` must be between 1 and 500');
    expect(bot.jobs.published.size).toBe(0);
  });

  it('names the option when a seed is negative', async () => {
    bot = memoryBot();
    const { i, calls } = interaction({ prompt: 'a red circle', seed: -1 });
    await handleImagine(i, bot);
    expect(privateReply(calls)).toContain('`seed` must be a whole number between 0 and 4294967295');
  });

  it('refuses over quota with a private reply and no public “thinking…” first', async () => {
    bot = memoryBot();
    await bot.settings.update(GUILD, (s) => ({ ...s, defaultQuota: { limit: 1, per: 'day' } }));
    await handleImagine(interaction({ prompt: 'a red circle' }, '500000000000000001').i, bot);
    const { i, calls } = interaction({ prompt: 'a blue square' }, '500000000000000002');
    await handleImagine(i, bot);
    expect(privateReply(calls)).toMatch(/used all 1 render/);
    expect(bot.jobs.published.size).toBe(1);
    expect((await bot.quotas.usage(GUILD, USER)).day.jobs).toEqual(['500000000000000001']);
  });

  it('refuses over the queued limit with a polite private reply, nothing charged', async () => {
    bot = memoryBot();
    await bot.settings.update(GUILD, (s) => ({ ...s, maxQueuedPerUser: 1, maxConcurrentPerUser: 5 }));
    await handleImagine(interaction({ prompt: 'a red circle' }, '500000000000000001').i, bot);
    const { i, calls } = interaction({ prompt: 'a blue square' }, '500000000000000002');
    await handleImagine(i, bot);
    expect(privateReply(calls)).toBe(
      'You already have 1 render waiting in the queue (this server allows 1). Nothing was charged; please try again once one has started. 🙏',
    );
    expect(bot.jobs.published.size).toBe(1);
    expect((await bot.quotas.usage(GUILD, USER)).day.jobs).toEqual(['500000000000000001']);
  });

  it("sends the member's role weight with the job", async () => {
    bot = memoryBot();
    await bot.settings.update(GUILD, (s) => ({ ...s, roleWeights: { '810000000000000001': 2.5 } }));
    const { i } = interaction({ prompt: 'a red circle' });
    (i as unknown as { member: { roles: string[] } }).member.roles = ['810000000000000001'];
    await handleImagine(i, bot);
    expect(bot.jobs.job(i.id)?.requester.weight).toBe(2.5);
  });

  it('refuses a model no renderer serves, privately, before charging anything', async () => {
    bot = memoryBot();
    bot.status.renderersOnline = [];
    const { i, calls } = interaction({ prompt: 'a red circle' });
    await handleImagine(i, bot);
    expect(calls.map((c) => c.kind)).toEqual(['reply']);
    expect(privateReply(calls)).toMatch(/No renderer is online/);
    expect(bot.jobs.published.size).toBe(0);
    expect((await bot.quotas.usage(GUILD, USER)).day.jobs).toEqual([]);
  });

  it('refuses in a channel the server did not allow, privately', async () => {
    bot = memoryBot();
    await bot.settings.update(GUILD, () => ({
      ...defaultGuildSettings(),
      allowedChannels: ['300000000000000002'],
    }));
    const { i, calls } = interaction({ prompt: 'a red circle' });
    await handleImagine(i, bot);
    expect(privateReply(calls)).toMatch(/not enabled in this channel/);
    expect((await bot.quotas.usage(GUILD, USER)).day.jobs).toEqual([]);
  });

  it('tells the member, in the reply, when the farm cannot take the job, and refunds it', async () => {
    bot = memoryBot();
    bot.jobs.failSubmit = new Error('no responders');
    const { i, calls } = interaction({ prompt: 'a red circle' });
    await handleImagine(i, bot);
    expect(calls.map((c) => c.kind)).toEqual(['deferReply', 'editReply']);
    expect((calls[1]!.options as { content: string }).content).toMatch(/could not be reached/);
    expect(bot.quotas.refunds).toEqual([i.id]);
  });
});
