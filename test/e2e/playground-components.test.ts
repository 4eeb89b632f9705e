/**
 * The playground page's buttons, modal dialog and DMs view, against an in-process playground whose
 * bot is a small discord.js client (the full `tessera start` flow is in playground.test.ts).
 * Screenshots go to test-artifacts/.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
  StringSelectMenuBuilder,
  TextDisplayBuilder,
  TextInputBuilder,
  TextInputStyle,
  type Interaction,
} from 'discord.js';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground, type Playground } from '../../deploy/playground/index.js';
import { ensureChromium, launchChromium, type LaunchedBrowser } from '../support/browser.js';
import { dmsOf } from '../support/discord-helpers.js';

// Page-side callbacks run in Chromium; the project compiles without the DOM lib.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
type HTMLElement = any;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const artifacts = path.join(repoRoot, 'test-artifacts');
const chromium = ensureChromium();
if (!chromium.ok) process.stderr.write(`[playground-components.test] skipped: ${chromium.reason}\n`);

/** The stand-in bot of the components suite: /menu posts buttons; Edit opens a modal; its submit DMs. */
function answer(i: Interaction): Promise<unknown> | undefined {
  const buttons = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId('reroll').setLabel('Reroll').setEmoji('🔁').setStyle(ButtonStyle.Primary),
    new ButtonBuilder().setCustomId('edit').setLabel('Edit').setStyle(ButtonStyle.Secondary),
    new ButtonBuilder().setLabel('Docs').setURL('https://example.com/docs').setStyle(ButtonStyle.Link),
    new ButtonBuilder().setCustomId('off').setLabel('Off').setStyle(ButtonStyle.Danger).setDisabled(true),
  );
  if (i.isChatInputCommand() && i.commandName === 'pair') {
    const names = ['image1', 'image2'].map((n) => i.options.getAttachment(n)?.name);
    return i.reply({ content: `got ${names.join(' + ')}` });
  }
  if (i.isChatInputCommand()) return i.reply({ content: 'Pick one', components: [buttons] });
  if (i.isButton() && i.customId === 'reroll')
    return i.reply({ content: 'rerolled for you', flags: MessageFlags.Ephemeral });
  if (i.isButton() && i.customId === 'edit') {
    const prompt = new TextInputBuilder()
      .setCustomId('prompt')
      .setStyle(TextInputStyle.Paragraph)
      .setValue('a red circle');
    const size = new StringSelectMenuBuilder()
      .setCustomId('size')
      .addOptions({ label: '64 px', value: '64', default: true }, { label: '128 px', value: '128' });
    return i.showModal(
      new ModalBuilder()
        .setCustomId('edit-modal')
        .setTitle('Edit the prompt')
        .addTextDisplayComponents(new TextDisplayBuilder().setContent('Change **anything**'))
        .addLabelComponents(
          new LabelBuilder().setLabel('Prompt').setTextInputComponent(prompt),
          new LabelBuilder().setLabel('Size').setStringSelectMenuComponent(size),
        ),
    );
  }
  if (i.isModalSubmit() && i.isFromMessage()) {
    const prompt = i.fields.getTextInputValue('prompt');
    const size = i.fields.getStringSelectValues('size').join();
    return (async () => {
      await i.update({ content: `prompt: ${prompt} at ${size}` });
      try {
        await i.user.send(`your new prompt: ${prompt}`);
      } catch (err) {
        if (!(err instanceof DiscordAPIError) || err.code !== 50007) throw err;
        await i.followUp({ content: 'Your DMs are closed', flags: MessageFlags.Ephemeral });
      }
    })();
  }
  return undefined;
}

describe.skipIf(!chromium.ok)('playground page: buttons, modals and DMs', () => {
  let pg: Playground;
  let bot: Client;
  let b: LaunchedBrowser;
  let p: Page;
  const botErrors: unknown[] = [];
  const lastMessage = () =>
    p.$$eval('.message', (ms) => (ms[ms.length - 1] as HTMLElement).dataset.messageId!);

  beforeAll(async () => {
    pg = await startPlayground();
    const emu = pg.emulator;
    const res = await fetch(
      `${emu.apiBase}/v10/applications/${emu.applicationId}/guilds/${emu.guild.id}/commands`,
      {
        method: 'PUT',
        headers: { authorization: `Bot ${emu.botToken}`, 'content-type': 'application/json' },
        body: JSON.stringify([
          { name: 'menu', description: 'buttons to click', type: 1 },
          {
            name: 'pair',
            description: 'two pictures (like /blend)',
            type: 1,
            options: ['image1', 'image2'].map((name) => ({
              name,
              description: name,
              type: 11,
              required: true,
            })),
          },
        ]),
      },
    );
    expect(res.status).toBe(200);
    bot = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: emu.apiBase } });
    bot.on(Events.InteractionCreate, (i) => void answer(i)?.catch((err: unknown) => botErrors.push(err)));
    await bot.login(emu.botToken);
    b = await launchChromium((chromium as { executablePath: string }).executablePath);
    p = await b.context.newPage();
    await p.goto(pg.url);
    await p.waitForSelector('#bot-status[data-online="true"]', { timeout: 30_000 });
  }, 60_000);

  afterAll(async () => {
    expect(botErrors).toEqual([]);
    await b?.close();
    await bot?.destroy();
    await pg?.close();
  });

  it('draws buttons under a message; a click brings an ephemeral reply only the clicker sees', async () => {
    await p.fill('#composer-input', '/menu');
    await p.press('#composer-input', 'Enter');
    await p.waitForSelector('.message .components');
    const menu = await lastMessage();
    const row = `[data-message-id="${menu}"] .action-row`;
    expect(await p.$$eval(`${row} > *`, (ns) => ns.map((n) => n.textContent?.trim()))).toEqual([
      '🔁Reroll',
      'Edit',
      'Docs ↗',
      'Off',
    ]);
    expect(await p.$eval(`${row} a.button`, (a) => a.getAttribute('href'))).toBe('https://example.com/docs');
    expect(
      await p.$eval(
        `${row} [data-custom-id="off"]`,
        (x) => (x as HTMLElement & { disabled: boolean }).disabled,
      ),
    ).toBe(true);
    expect(await p.$eval(`${row} [data-custom-id="reroll"]`, (x) => x.className)).toMatch(/primary/);

    await p.click(`${row} [data-custom-id="reroll"]`);
    await p.waitForFunction(() =>
      /rerolled for you/.test(document.querySelector('.message:last-child')?.textContent ?? ''),
    );
    const reply = await lastMessage();
    expect(await p.$eval(`[data-message-id="${reply}"] .context`, (n) => n.textContent)).toMatch(
      /Alice clicked a button/,
    );
    expect(await p.$eval(`[data-message-id="${reply}"] .only-you`, (n) => n.textContent)).toMatch(/Only you/);
    await p.screenshot({ path: path.join(artifacts, 'playground-buttons.png') });
    await p.selectOption('#user-switch', 'bob');
    await p.waitForFunction(() => document.querySelector('#me-name')?.textContent === 'Bob');
    expect(await p.$(`[data-message-id="${reply}"]`)).toBeNull();
    expect(await p.$(`[data-message-id="${menu}"] .components`)).not.toBeNull();
    await p.selectOption('#user-switch', 'alice');
    await p.waitForFunction(() => document.querySelector('#me-name')?.textContent === 'Alice');
  }, 60_000);

  it('attaches each picked file to the next picture option of the typed command', async () => {
    await p.fill('#composer-input', '/pair ');
    for (const name of ['a.png', 'b.png'])
      await p.setInputFiles('#file-input', { name, mimeType: 'image/png', buffer: Buffer.from(name) });
    await expect.poll(() => p.textContent('#attached')).toMatch(/image1: a\.png · image2: b\.png/);
    await p.press('#composer-input', 'Enter');
    await p.waitForFunction(() =>
      /got a\.png \+ b\.png/.test(document.querySelector('#messages')?.textContent ?? ''),
    );
    expect(await p.isHidden('#attached')).toBe(true);
  }, 30_000);

  it('shows the modal as a dialog, submits it, and the DM lands in the DMs view (or fails when closed)', async () => {
    const menu = pg.emulator.messages().find((m) => m.content === 'Pick one')!.id;
    await p.click(`[data-message-id="${menu}"] [data-custom-id="edit"]`);
    await p.waitForSelector('#modal[open]');
    expect(await p.textContent('#modal-title')).toBe('Edit the prompt');
    expect(await p.inputValue('#modal-input-prompt')).toBe('a red circle');
    expect(await p.inputValue('#modal-input-size')).toBe('64');
    expect(await p.textContent('#modal .modal-note strong')).toBe('anything');
    await p.screenshot({ path: path.join(artifacts, 'playground-modal.png') });
    await p.fill('#modal-input-prompt', 'a blue square');
    await p.selectOption('#modal-input-size', '128');
    await p.click('#modal-submit');
    await p.waitForFunction(() => !document.querySelector('#modal')?.open);
    await p.waitForFunction(
      (id) =>
        /prompt: a blue square at 128/.test(
          document.querySelector(`[data-message-id="${id}"] .content`)?.textContent ?? '',
        ),
      menu,
    );
    await pg.emulator.waitFor(() => dmsOf(pg.emulator, 'alice').length === 1, { what: 'the DM' });

    await p.click('.channel.dm');
    await p.waitForFunction(() =>
      /your new prompt: a blue square/.test(document.querySelector('#messages')?.textContent ?? ''),
    );
    expect(await p.$(`[data-message-id="${menu}"]`)).toBeNull();
    expect(await p.isVisible('#composer')).toBe(false);
    await p.screenshot({ path: path.join(artifacts, 'playground-dms.png') });

    await p.check('#dms-closed');
    await pg.emulator.waitFor(() => pg.emulator.users.alice!.dmsClosed === true, { what: 'DMs closed' });
    await p.waitForSelector('.channel.dm .dm-closed');
    await p.click('.channel:not(.dm)');
    await p.click(`[data-message-id="${menu}"] [data-custom-id="edit"]`);
    await p.waitForSelector('#modal[open]');
    await p.fill('#modal-input-prompt', 'a green star');
    await p.click('#modal-submit');
    await p.waitForFunction(() =>
      /Your DMs are closed/.test(document.querySelector('#messages')?.textContent ?? ''),
    );
    expect(dmsOf(pg.emulator, 'alice')).toHaveLength(1);
    await p.uncheck('#dms-closed');
    await pg.emulator.waitFor(() => pg.emulator.users.alice!.dmsClosed === false, { what: 'DMs open' });
  }, 60_000);
});
