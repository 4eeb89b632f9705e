import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  LabelBuilder,
  MessageFlags,
  ModalBuilder,
  Partials,
  StringSelectMenuBuilder,
  TextDisplayBuilder,
  TextInputBuilder,
  TextInputStyle,
  type ButtonInteraction,
  type Interaction,
  type ModalSubmitInteraction,
  type SendableChannels,
  type StringSelectMenuInteraction,
} from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDiscordEmulator,
  EmulatorInputError,
  type DiscordEmulator,
} from '../../deploy/playground/emulator/index.js';
import { clickButton, dmsOf, submitModal } from '../support/discord-helpers.js';

/** Components, modals and DMs through the real discord.js client: the emulator's contract. */
describe('discord emulator: buttons, selects, modals and DMs with the real discord.js client', () => {
  let emulator: DiscordEmulator;
  let client: Client;
  let channel: SendableChannels;
  const seen: Interaction[] = [];

  const received = <T extends Interaction>(id: string) =>
    emulator.waitFor(() => seen.find((x) => x.id === id) as T | undefined, { what: `interaction ${id}` });

  const row = (...buttons: ButtonBuilder[]) => new ActionRowBuilder<ButtonBuilder>().addComponents(buttons);
  const button = (id: string, label: string) =>
    new ButtonBuilder().setCustomId(id).setLabel(label).setStyle(ButtonStyle.Secondary);

  beforeAll(async () => {
    emulator = await createDiscordEmulator();
    client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.DirectMessages],
      partials: [Partials.Channel],
      rest: { api: emulator.apiBase },
      allowedMentions: { parse: [] },
    });
    client.on(Events.InteractionCreate, (i) => void seen.push(i));
    const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
    await client.login(emulator.botToken);
    await ready;
    const c = await client.channels.fetch(emulator.guild.channelId);
    if (!c?.isSendable()) throw new Error('no sendable channel');
    channel = c;
  });

  afterAll(async () => {
    await client?.destroy();
    await emulator?.close();
  });

  it('stores buttons on a message and returns them in payloads and MESSAGE_CREATE', async () => {
    const sent = await channel.send({
      content: 'pick one',
      components: [
        row(
          button('reroll:1', 'Reroll').setEmoji('🔁'),
          new ButtonBuilder().setStyle(ButtonStyle.Link).setLabel('Docs').setURL('https://example.com/docs'),
          button('off', 'Off').setDisabled(true),
        ),
      ],
    });
    expect(sent.components).toHaveLength(1);
    const stored = emulator.message(sent.id)!;
    expect(stored.components[0]!.components).toEqual([
      expect.objectContaining({ type: 2, style: 2, custom_id: 'reroll:1', label: 'Reroll', disabled: false }),
      expect.objectContaining({ type: 2, style: 5, url: 'https://example.com/docs', label: 'Docs' }),
      expect.objectContaining({ custom_id: 'off', disabled: true }),
    ]);
    expect((stored.components[0]!.components[0] as { emoji?: { name: string } }).emoji?.name).toBe('🔁');
    const json = emulator.messageJson(sent.id) as { components: unknown[] };
    expect(json.components).toEqual(stored.components);
    const fetched = await channel.messages.fetch(sent.id);
    const fetchedRow = fetched.components[0]?.toJSON() as { components: unknown[] } | undefined;
    expect(fetchedRow?.components).toHaveLength(3);
    expect(fetchedRow?.components[0]).toMatchObject({ custom_id: 'reroll:1', emoji: { name: '🔁' } });
  });

  it('delivers a click as a ButtonInteraction; reply (ephemeral) shows only to the clicker', async () => {
    const sent = await channel.send({ content: 'go', components: [row(button('go', 'Go'))] });
    const click = clickButton(emulator, { user: 'bob', messageId: sent.id, customId: 'go' });
    const i = await received<ButtonInteraction>(click.id);
    expect(i.isButton()).toBe(true);
    expect(i.customId).toBe('go');
    expect(i.message.id).toBe(sent.id);
    expect(i.user.id).toBe(emulator.users.bob!.id);
    expect(i.guildId).toBe(emulator.guild.id);
    await i.reply({ content: 'only you', flags: MessageFlags.Ephemeral });
    const reply = await click.response();
    expect(reply.flags & 64).toBe(64);
    expect(reply.interactionId).toBe(click.id);
    expect(click.record.responseType).toBe(4);
    const fetched = await i.fetchReply();
    expect(fetched.interactionMetadata?.user.id).toBe(emulator.users.bob!.id);
    expect(fetched.interactionMetadata?.interactedMessageId).toBe(sent.id);
    // An ephemeral message is only clickable by the one who sees it.
    emulator.world.editMessage(
      emulator.message(reply.id)!,
      { components: [row(button('eph', 'E')).toJSON()] },
      [],
      'webhook',
    );
    expect(() => clickButton(emulator, { user: 'alice', messageId: reply.id, customId: 'eph' })).toThrow(
      /not visible/,
    );
    const own = clickButton(emulator, { user: 'bob', messageId: reply.id, customId: 'eph' });
    await (await received<ButtonInteraction>(own.id)).deferUpdate();
  });

  it('tells the bot who ran the command whose reply holds the button', async () => {
    const cmd = emulator.sendSlashCommand({ user: 'alice', command: 'imagine', options: { prompt: 'x' } });
    const c = await received<Interaction>(cmd.id);
    if (!c.isChatInputCommand()) throw new Error('not a command');
    await c.reply({ content: 'render', components: [row(button('delete', 'Delete'))] });
    const original = await cmd.response();
    const click = clickButton(emulator, { user: 'bob', label: 'Delete', messageId: original.id });
    const i = await received<ButtonInteraction>(click.id);
    expect(i.message.interactionMetadata?.user.id).toBe(emulator.users.alice!.id);
    expect(i.message.interactionMetadata?.type).toBe(2);
    expect(i.user.id).toBe(emulator.users.bob!.id);
    await i.reply({ content: 'only the requester may delete', flags: MessageFlags.Ephemeral });
  });

  it('updates the clicked message (type 7) and, after deferUpdate, edits it through @original', async () => {
    const sent = await channel.send({ content: 'v1', components: [row(button('next', 'Next'))] });
    const first = clickButton(emulator, { user: 'alice', messageId: sent.id, customId: 'next' });
    const a = await received<ButtonInteraction>(first.id);
    await a.update({ content: 'v2', components: [row(button('next', 'Next').setDisabled(true))] });
    const m = emulator.message(sent.id)!;
    expect(m.content).toBe('v2');
    expect(m.components[0]!.components[0]).toMatchObject({ disabled: true });
    expect(m.revisions.at(-1)!.via).toBe('interaction-callback');
    // The button is disabled now: a click is refused and nothing reaches the bot.
    const before = seen.length;
    expect(() => clickButton(emulator, { user: 'alice', messageId: sent.id, customId: 'next' })).toThrow(
      EmulatorInputError,
    );
    expect(() => clickButton(emulator, { user: 'alice', messageId: sent.id, customId: 'nope' })).toThrow(
      /no component/,
    );

    await a.message.edit({ content: 'v3', components: [row(button('later', 'Later'))] });
    const second = clickButton(emulator, { user: 'alice', messageId: sent.id, customId: 'later' });
    const b = await received<ButtonInteraction>(second.id);
    expect(seen.length).toBe(before + 1);
    await b.deferUpdate();
    expect(second.record.state).toBe('deferred');
    await b.editReply({ content: 'v4', components: [] });
    expect(emulator.message(sent.id)!.content).toBe('v4');
    expect(emulator.message(sent.id)!.components).toEqual([]);
    const follow = await b.followUp({ content: 'also this', flags: MessageFlags.Ephemeral });
    expect(follow.id).not.toBe(sent.id);
  });

  it('counts an UPDATE_MESSAGE callback as an edit in flight on the clicked message', async () => {
    const sent = await channel.send({ content: 'busy', components: [row(button('busy', 'Busy'))] });
    const click = clickButton(emulator, { user: 'alice', messageId: sent.id, customId: 'busy' });
    const i = await received<ButtonInteraction>(click.id);
    emulator.setLatency(150);
    try {
      await Promise.all([i.update({ content: 'from the click' }), sent.edit({ content: 'from a render' })]);
    } finally {
      emulator.setLatency(0);
    }
    expect(emulator.maxEditsInFlight(sent.id)).toBe(2);
    const callback = emulator.requests().find((r) => r.path.includes(`/interactions/${click.id}/`));
    expect(callback?.messageId).toBe(sent.id);
  });

  it('defers a reply to a click and answers 10062 to a late or repeated callback', async () => {
    const sent = await channel.send({ content: 'slow', components: [row(button('slow', 'Slow'))] });
    const click = clickButton(emulator, { user: 'alice', messageId: sent.id, customId: 'slow' });
    const i = await received<ButtonInteraction>(click.id);
    await i.deferReply();
    const placeholder = await click.response();
    expect(placeholder.flags & 128).toBe(128);
    await i.editReply('done');
    expect(emulator.message(placeholder.id)!.content).toBe('done');
    expect(emulator.message(sent.id)!.content).toBe('slow');
    await expect(i.update({ content: 'again' })).rejects.toThrow();

    const slow = await createDiscordEmulator({ interactionDeadlineMs: 50 });
    try {
      const res = await fetch(`${slow.apiBase}/v10/channels/${slow.guild.channelId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bot ${slow.botToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          content: 'x',
          components: [{ type: 1, components: [{ type: 2, style: 1, label: 'x', custom_id: 'x' }] }],
        }),
      });
      const m = (await res.json()) as { id: string };
      const late = slow.clickButton({ user: 'alice', messageId: m.id, customId: 'x' });
      await new Promise((r) => setTimeout(r, 120));
      const cb = await fetch(`${slow.apiBase}/v10/interactions/${late.id}/${late.token}/callback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 6 }),
      });
      expect(cb.status).toBe(404);
      expect(await cb.json()).toMatchObject({ code: 10062 });
    } finally {
      await slow.close();
    }
  });

  it('shows a modal from a click and delivers its submission as a ModalSubmitInteraction', async () => {
    const sent = await channel.send({ content: 'edit me', components: [row(button('edit', 'Edit'))] });
    const click = clickButton(emulator, { user: 'alice', messageId: sent.id, customId: 'edit' });
    const i = await received<ButtonInteraction>(click.id);
    const modal = new ModalBuilder()
      .setCustomId('edit-modal')
      .setTitle('Edit the prompt')
      .addComponents(
        new ActionRowBuilder<TextInputBuilder>().addComponents(
          new TextInputBuilder()
            .setCustomId('prompt')
            .setLabel('Prompt')
            .setStyle(TextInputStyle.Paragraph)
            .setValue('a red circle')
            .setMaxLength(200),
        ),
        new ActionRowBuilder<TextInputBuilder>().addComponents(
          new TextInputBuilder()
            .setCustomId('seed')
            .setLabel('Seed')
            .setStyle(TextInputStyle.Short)
            .setRequired(false),
        ),
      );
    await i.showModal(modal);
    const shown = await click.modal();
    expect(shown).toMatchObject({ custom_id: 'edit-modal', title: 'Edit the prompt' });
    expect(emulator.modalOf(click.id)?.components).toHaveLength(2);
    expect(() =>
      submitModal(emulator, { interactionId: click.id, values: { prompt: 'x'.repeat(201) } }),
    ).toThrow(/at most 200/);
    expect(() =>
      submitModal(emulator, { interactionId: click.id, user: 'bob', values: { prompt: 'x' } }),
    ).toThrow(/only the user/);

    const submit = submitModal(emulator, { interactionId: click.id, values: { seed: '42' } });
    const s = await received<ModalSubmitInteraction>(submit.id);
    expect(s.isModalSubmit()).toBe(true);
    expect(submit.record.openerId).toBe(click.id);
    expect(s.customId).toBe('edit-modal');
    expect(s.fields.getTextInputValue('prompt')).toBe('a red circle');
    expect(s.fields.getTextInputValue('seed')).toBe('42');
    expect(s.message?.id).toBe(sent.id);
    expect(s.isFromMessage()).toBe(true);
    if (!s.isFromMessage()) throw new Error('not from a message');
    await s.update({ content: 'edited', components: [] });
    expect(emulator.message(sent.id)!.content).toBe('edited');
    expect(() => submitModal(emulator, { interactionId: click.id })).toThrow(/already submitted/);
  });

  it('shows a modal for a slash command; its submission can reply but not update', async () => {
    const cmd = emulator.sendSlashCommand({ user: 'alice', command: 'settings' });
    const i = await received<Interaction>(cmd.id);
    if (!i.isChatInputCommand()) throw new Error('not a command');
    await i.showModal(
      new ModalBuilder()
        .setCustomId('m2')
        .setTitle('Settings')
        .addComponents(
          new ActionRowBuilder<TextInputBuilder>().addComponents(
            new TextInputBuilder().setCustomId('name').setLabel('Name').setStyle(TextInputStyle.Short),
          ),
        ),
    );
    await cmd.modal();
    expect(() => submitModal(emulator, { interactionId: cmd.id })).toThrow(/required/);
    const submit = submitModal(emulator, { interactionId: cmd.id, values: { name: 'tess' } });
    const s = await received<ModalSubmitInteraction>(submit.id);
    expect(s.message).toBeNull();
    await s.reply({ content: `hi ${s.fields.getTextInputValue('name')}` });
    expect((await submit.response()).content).toBe('hi tess');
  });

  it('takes the label form of modals (text inputs, selects, text displays) and submits their values', async () => {
    const sent = await channel.send({ content: 'edit', components: [row(button('edit2', 'Edit'))] });
    const click = clickButton(emulator, { user: 'alice', messageId: sent.id, label: 'Edit' });
    const i = await received<ButtonInteraction>(click.id);
    await i.showModal(
      new ModalBuilder()
        .setCustomId('edit2')
        .setTitle('Edit')
        .addTextDisplayComponents(new TextDisplayBuilder().setContent('Change what you like'))
        .addLabelComponents(
          new LabelBuilder()
            .setLabel('Prompt')
            .setTextInputComponent(
              new TextInputBuilder().setCustomId('prompt').setStyle(TextInputStyle.Short).setValue('a cat'),
            ),
          new LabelBuilder()
            .setLabel('Size')
            .setDescription('Larger is slower')
            .setStringSelectMenuComponent(
              new StringSelectMenuBuilder()
                .setCustomId('size')
                .addOptions({ label: '64', value: '64', default: true }, { label: '128', value: '128' }),
            ),
        ),
    );
    const modal = await click.modal();
    expect(modal.components.map((e) => e.type)).toEqual([10, 18, 18]);
    expect(() => submitModal(emulator, { interactionId: click.id, values: { size: ['256'] } })).toThrow(
      /not an option/,
    );
    const submit = submitModal(emulator, { interactionId: click.id, values: { size: ['128'] } });
    const s = await received<ModalSubmitInteraction>(submit.id);
    expect(s.fields.getTextInputValue('prompt')).toBe('a cat');
    expect(s.fields.getStringSelectValues('size')).toEqual(['128']);
    await s.deferUpdate();
  });

  it('delivers a string select pick with its values', async () => {
    const select = new StringSelectMenuBuilder()
      .setCustomId('size')
      .setPlaceholder('Size')
      .addOptions({ label: 'Small', value: 's' }, { label: 'Large', value: 'l' });
    const sent = await channel.send({
      content: 'size?',
      components: [new ActionRowBuilder<StringSelectMenuBuilder>().addComponents(select)],
    });
    expect(() =>
      emulator.selectOption({ user: 'alice', messageId: sent.id, customId: 'size', values: ['xl'] }),
    ).toThrow(/not an option/);
    const pick = emulator.selectOption({
      user: 'alice',
      messageId: sent.id,
      customId: 'size',
      values: ['l'],
    });
    const i = await received<StringSelectMenuInteraction>(pick.id);
    expect(i.isStringSelectMenu()).toBe(true);
    expect(i.values).toEqual(['l']);
    await i.deferUpdate();
  });

  it('refuses invalid components with 50035 Invalid Form Body', async () => {
    const tooMany = Array.from({ length: 6 }, (_, k) => row(button(`r${k}`, `${k}`)));
    const cases: { components: unknown[]; path: string }[] = [
      { components: tooMany.map((r) => r.toJSON()), path: 'components' },
      {
        components: [
          { type: 1, components: Array.from({ length: 6 }, (_, k) => button(`b${k}`, 'x').toJSON()) },
        ],
        path: 'components.0.components',
      },
      {
        components: [
          { type: 1, components: [{ type: 2, style: 1, label: 'l', custom_id: 'x'.repeat(101) }] },
        ],
        path: 'components.0.components.0.custom_id',
      },
      {
        components: [row(button('same', 'a'), button('same', 'b')).toJSON()],
        path: 'components.0.components.1.custom_id',
      },
      {
        components: [
          { type: 1, components: [{ type: 2, style: 5, label: 'l', custom_id: 'c', url: 'https://x.y' }] },
        ],
        path: 'components.0.components.0.custom_id',
      },
      {
        components: [{ type: 1, components: [{ type: 2, style: 5, label: 'l' }] }],
        path: 'components.0.components.0.url',
      },
      {
        components: [{ type: 1, components: [{ type: 2, style: 1, label: 'l' }] }],
        path: 'components.0.components.0.custom_id',
      },
    ];
    for (const c of cases) {
      const err = await channel
        .send({ content: 'bad', components: c.components as never })
        .catch((e: unknown) => e);
      expect(err, c.path).toBeInstanceOf(DiscordAPIError);
      expect((err as DiscordAPIError).code).toBe(50035);
      // discord.js flattens Discord's nested `errors` into "path[CODE]: message" lines.
      const shown = c.path.replace(/\.(\d+)/g, '[$1]');
      expect((err as DiscordAPIError).message, c.path).toContain(`${shown}[`);
    }
    // An edit with bad components leaves the message as it was.
    const ok = await channel.send({ content: 'fine', components: [row(button('a', 'A'))] });
    await expect(ok.edit({ components: [row(button('a', 'A'), button('a', 'B'))] })).rejects.toMatchObject({
      code: 50035,
    });
    expect(emulator.message(ok.id)!.components[0]!.components).toHaveLength(1);
  });

  it('sends DMs to a user and fails with 50007 once their DMs are closed', async () => {
    const bob = await client.users.fetch(emulator.users.bob!.id);
    const dm = await bob.send({ content: 'your render is ready', components: [row(button('dm-b', 'B'))] });
    expect(dm.channel.isDMBased()).toBe(true);
    const stored = dmsOf(emulator, 'bob');
    expect(stored.map((m) => m.content)).toEqual(['your render is ready']);
    expect(stored[0]!.guildId).toBeNull();
    expect(stored[0]!.components).toHaveLength(1);
    expect(emulator.dmChannel('bob')?.id).toBe(dm.channelId);
    // The channel view of #general does not list DMs.
    expect(emulator.messages({ channelId: emulator.guild.channelId }).some((m) => m.id === dm.id)).toBe(
      false,
    );

    emulator.setDmsClosed('bob', true);
    const err = await bob.send('again').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscordAPIError);
    expect((err as DiscordAPIError).code).toBe(50007);
    expect((err as DiscordAPIError).status).toBe(403);
    expect(dmsOf(emulator, 'bob')).toHaveLength(1);
    emulator.setDmsClosed('bob', false);
    await bob.send('open again');
    expect(dmsOf(emulator, 'bob')).toHaveLength(2);
    expect(dmsOf(emulator, 'alice')).toEqual([]);
  });
});
