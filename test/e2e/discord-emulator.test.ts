import { Client, Events, GatewayIntentBits, Partials, type ChatInputCommandInteraction } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiscordEmulator, type DiscordEmulator } from '../../deploy/playground/emulator/index.js';

/** The real discord.js client against the emulator, without the bot: the emulator's own contract. */
describe('discord emulator with the real discord.js client', () => {
  let emulator: DiscordEmulator;
  let client: Client;
  const interactions: ChatInputCommandInteraction[] = [];
  const reactions: { user: string; emoji: string | null; message: string }[] = [];

  beforeAll(async () => {
    emulator = await createDiscordEmulator();
    client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions],
      partials: [Partials.Message, Partials.Reaction, Partials.User],
      rest: { api: emulator.apiBase },
      allowedMentions: { parse: [] },
    });
    client.on(Events.InteractionCreate, (i) => {
      if (i.isChatInputCommand()) interactions.push(i);
    });
    client.on(Events.MessageReactionAdd, (r, u) => {
      reactions.push({ user: u.id, emoji: r.emoji.name, message: r.message.id });
    });
    const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
    await client.login(emulator.botToken);
    await ready;
  });

  afterAll(async () => {
    await client?.destroy();
    await emulator?.close();
  });

  it('delivers the guild with its channels and roles on ready', () => {
    const guild = client.guilds.cache.get(emulator.guild.id);
    expect(guild?.channels.cache.get(emulator.guild.channelId)?.name).toBe('general');
    expect(guild?.roles.cache.get(emulator.guild.roles.moderator!)?.name).toBe('Moderator');
    expect(emulator.guild.id).toMatch(/^\d{17,19}$/);
  });

  it('injects a slash command with an attachment and records deferral, multipart edits and follow-ups', async () => {
    const sent = emulator.sendSlashCommand({
      user: 'alice',
      command: 'imagine',
      options: {
        prompt: 'a red circle',
        seed: 7,
        init_image: { filename: 'x.png', data: new Uint8Array([1, 2, 3]), contentType: 'image/png' },
      },
    });
    const i = await emulator.waitFor(() => interactions.find((x) => x.id === sent.id), {
      what: 'interaction',
    });
    expect(i.options.getString('prompt')).toBe('a red circle');
    expect(i.options.getInteger('seed')).toBe(7);
    const att = i.options.getAttachment('init_image');
    expect(att?.name).toBe('x.png');
    const bytes = new Uint8Array(await (await fetch(att!.url)).arrayBuffer());
    expect([...bytes]).toEqual([1, 2, 3]);
    expect(i.channelId).toBe(emulator.guild.channelId);
    expect(i.memberPermissions?.has('ManageGuild')).toBe(false);

    await i.deferReply();
    const original = await sent.response();
    expect(original.flags & 128).toBe(128);
    await i.editReply({
      content: 'step 1',
      files: [{ attachment: Buffer.from('frame1'), name: 'frame.webp' }],
    });
    await i.editReply({
      content: `step 2 <@${emulator.users.bob!.id}> @everyone`,
      files: [{ attachment: Buffer.from('frame2'), name: 'frame.webp' }],
    });
    const m = emulator.message(original.id)!;
    expect(m.revisions.map((r) => r.content)).toEqual(['', 'step 1', expect.stringContaining('step 2')]);
    expect(m.attachments).toHaveLength(1);
    expect(Buffer.from(m.attachments[0]!.data).toString()).toBe('frame2');
    expect(m.pings).toEqual({ everyone: false, users: [], roles: [] });

    const reply = await i.fetchReply();
    await reply.react('🔁');
    expect([...m.reactions.get('🔁')!]).toEqual([emulator.applicationId]);
    emulator.addReaction({ user: 'bob', messageId: m.id, emoji: '❌' });
    await emulator.waitFor(() => reactions.find((r) => r.user === emulator.users.bob!.id), {
      what: 'reaction event',
    });

    const follow = await i.followUp({ content: 'second' });
    expect(follow.id).not.toBe(m.id);
  });

  it('passes several attachment options at once, each resolved with its own bytes', async () => {
    const png = (n: number) => ({
      filename: `img${n}.png`,
      data: new Uint8Array([n, n, n]),
      contentType: 'image/png',
    });
    const sent = emulator.sendSlashCommand({
      user: 'alice',
      command: 'blend',
      options: { image1: png(1), image2: png(2), image3: png(3), image4: png(4), prompt: 'mix' },
    });
    const i = await emulator.waitFor(() => interactions.find((x) => x.id === sent.id), {
      what: 'interaction',
    });
    for (const n of [1, 2, 3, 4]) {
      const att = i.options.getAttachment(`image${n}`);
      expect(att?.name).toBe(`img${n}.png`);
      expect(att?.contentType).toBe('image/png');
      expect([...new Uint8Array(await (await fetch(att!.url)).arrayBuffer())]).toEqual([n, n, n]);
    }
    expect(i.options.resolved?.attachments?.size).toBe(4);
    await i.reply('ok');
  });

  it('answers 50027 on an expired token and 429s with Retry-After that discord.js honours', async () => {
    const sent = emulator.sendSlashCommand({ user: 'bob', command: 'imagine', options: { prompt: 'x' } });
    const i = await emulator.waitFor(() => interactions.find((x) => x.id === sent.id));
    await i.deferReply();
    emulator.inject429({ count: 2, retryAfterMs: 100, method: 'PATCH' });
    const t0 = Date.now();
    await i.editReply('after storm');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(emulator.count429()).toBe(2);
    emulator.expireInteractionToken(sent.id);
    await expect(i.editReply('late')).rejects.toMatchObject({ code: 50027 });
    // The channel route with the bot token still works.
    const channel = await client.channels.fetch(emulator.guild.channelId);
    if (!channel?.isTextBased() || !('messages' in channel)) throw new Error('no text channel');
    const edited = await channel.messages.edit(sent.record.originalMessageId!, { content: 'via channel' });
    expect(edited.content).toBe('via channel');
    expect(emulator.message(sent.record.originalMessageId!)!.revisions.at(-1)!.via).toBe('channel');
  });

  it('marks an interaction failed when nobody answers within the deadline', async () => {
    const slow = await createDiscordEmulator({ interactionDeadlineMs: 100 });
    try {
      const sent = slow.sendSlashCommand({ user: 'alice', command: 'imagine', options: { prompt: 'x' } });
      await expect(sent.response(1000)).rejects.toThrow(/deadline/);
    } finally {
      await slow.close();
    }
  });
});
