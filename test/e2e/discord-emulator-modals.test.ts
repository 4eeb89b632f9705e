import {
  ActionRowBuilder,
  LabelBuilder,
  ModalBuilder,
  StringSelectMenuBuilder,
  TextDisplayBuilder,
  TextInputBuilder,
  TextInputStyle,
  type ButtonInteraction,
  type Interaction,
  type ModalSubmitInteraction,
  type SendableChannels,
} from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordEmulator } from '../../deploy/playground/emulator/index.js';
import { clickButton, submitModal } from '../support/discord-helpers.js';
import {
  buttonRow,
  connectEmulatorClient,
  secondaryButton,
  type EmulatorClient,
} from '../support/emulator-client.js';

/** Modals through the real discord.js client: shown from a click or a command, checked, submitted. */
describe('discord emulator: modals with the real discord.js client', () => {
  let ec: EmulatorClient;
  let emulator: DiscordEmulator;
  let channel: SendableChannels;
  const received = <T extends Interaction>(id: string) => ec.received<T>(id);
  const row = buttonRow;
  const button = secondaryButton;

  beforeAll(async () => {
    ec = await connectEmulatorClient();
    ({ emulator, channel } = ec);
  });

  afterAll(async () => {
    await ec?.close();
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
});
