/**
 * The playground as a newcomer meets it: `tessera start` without DISCORD_TOKEN (nats-server, the
 * renderer on the bundled model, the real bot process against the built-in Discord emulator),
 * then Debian's Chromium on the printed URL: type /imagine, watch frames arrive, click 🔁, switch
 * users for an ephemeral reply; finally Ctrl-C (SIGINT to the process group) must leave nothing
 * running. A second suite drives the page's buttons, modal dialog and DMs view against an
 * in-process playground whose bot is a small discord.js client. Screenshots go to test-artifacts/.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
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
import sharp from 'sharp';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connectNats, imagesStore, readNkeySeed } from '../../shared/src/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground, type Playground } from '../../deploy/playground/index.js';
import { ensureChromium, launchChromium, type LaunchedBrowser } from '../support/browser.js';
import { dmsOf } from '../support/discord-helpers.js';

// The page-side callbacks below run in Chromium; this project compiles without the DOM lib
// (adding it globally clashes with Node's fetch types), so the few browser globals are declared here.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const getComputedStyle: any;
declare const MutationObserver: any;
declare const Element: any;
declare const HTMLImageElement: any;
type HTMLElement = any;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const artifacts = path.join(repoRoot, 'test-artifacts');
const chromium = ensureChromium();
if (!chromium.ok) process.stderr.write(`[playground.test] skipped: ${chromium.reason}\n`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Every live descendant of `pid` (children of `tessera start` run in their own process groups). */
function descendants(pid: number): number[] {
  const out = spawnSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' }).stdout;
  const kids = new Map<number, number[]>();
  for (const line of out.split('\n')) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    if (!p || pp === undefined) continue;
    kids.set(pp, [...(kids.get(pp) ?? []), p]);
  }
  const all: number[] = [];
  const walk = (p: number) => (kids.get(p) ?? []).forEach((c) => (all.push(c), walk(c)));
  walk(pid);
  return all;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let start: ChildProcess | undefined;
let output = '';
let url = '';
let dataDir = '';
let natsUrl = '';
let browser: LaunchedBrowser | undefined;
let page: Page;

/** Every frame `src` the page showed, per message id, recorded by a MutationObserver in the page. */
const RECORD_FRAMES = () => {
  const seen: Record<string, string[]> = {};
  window.__frames = seen;
  const note = (img: any) => {
    if (!(img instanceof HTMLImageElement) || !img.classList.contains('embed-image')) return;
    const id = img.closest('[data-message-id]')?.dataset.messageId;
    const src = img.getAttribute('src');
    if (!id || !src) return;
    const list = (seen[id] ??= []);
    if (list[list.length - 1] !== src) list.push(src);
  };
  new MutationObserver((records: any[]) => {
    for (const r of records) {
      if (r.type === 'attributes') note(r.target);
      r.addedNodes.forEach(
        (n: any) => n instanceof Element && [n, ...n.querySelectorAll('img')].forEach(note),
      );
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['src'] });
};

async function sha(src: string): Promise<string> {
  const res = await fetch(new URL(src, url));
  expect(res.status).toBe(200);
  return createHash('sha256')
    .update(Buffer.from(await res.arrayBuffer()))
    .digest('hex');
}

/** The newest message in the channel answering a command of `who`, waited for. */
async function newestReplyId(after: number): Promise<string> {
  await page.waitForFunction((n) => document.querySelectorAll('.message').length > n, after, {
    timeout: 30_000,
  });
  return page.$$eval('.message', (ms) => (ms[ms.length - 1] as HTMLElement).dataset.messageId!);
}

const contentOf = (id: string) =>
  page.$eval(`[data-message-id="${id}"] .content`, (n) => n.textContent ?? '');

describe.skipIf(!chromium.ok)(
  `playground in a browser${chromium.ok ? '' : ` (skipped: ${chromium.reason})`}`,
  () => {
    beforeAll(async () => {
      await mkdir(artifacts, { recursive: true });
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'tessera-playground-'));
      natsUrl = `nats://127.0.0.1:${await freePort()}`;
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        NATS_URL: natsUrl,
        PLAYGROUND_PORT: '0',
        LOG_LEVEL: 'info',
      };
      delete env.DISCORD_TOKEN;
      delete env.DISCORD_API_BASE;
      // Own process group, so SIGINT to the group is exactly what Ctrl-C in a terminal does.
      start = spawn(
        process.execPath,
        [path.join(repoRoot, 'deploy', 'cli', 'tessera.mjs'), 'start', '--data', dataDir],
        {
          cwd: repoRoot,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        },
      );
      const keep = (b: Buffer) => {
        output = (output + b.toString()).slice(-50_000);
      };
      start.stdout!.on('data', keep);
      start.stderr!.on('data', keep);
      const deadline = Date.now() + 120_000;
      while (!/^playground: (http:\/\/\S+)$/m.test(output)) {
        if (start.exitCode !== null || Date.now() > deadline)
          throw new Error(`tessera start did not print the playground URL:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      url = /^playground: (http:\/\/\S+)$/m.exec(output)![1]!;
      browser = await launchChromium((chromium as { executablePath: string }).executablePath);
      page = await browser.context.newPage();
      await page.addInitScript(RECORD_FRAMES);
      const res = await page.goto(url);
      expect(res?.status()).toBe(200);
      // Online = the bot process identified on the gateway and registered its commands.
      await page.waitForSelector('#bot-status[data-online="true"]', { timeout: 60_000 });
    }, 200_000);

    afterAll(async () => {
      await browser?.close();
      if (start && start.exitCode === null) {
        process.kill(-start.pid!, 'SIGKILL');
        for (const p of descendants(start.pid!)) process.kill(p, 'SIGKILL');
      }
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('renders /imagine frame by frame, then the final image; 🔁 makes a second render, ❌ deletes it', async () => {
      const before = await page.$$eval('.message', (ms) => ms.length);
      await page.fill(
        '#composer-input',
        '/imagine prompt:a red circle on a blue background seed:1234 steps:400',
      );
      await page.press('#composer-input', 'Enter');
      const id = await newestReplyId(before);
      await expect
        .poll(() => page.$eval(`[data-message-id="${id}"] .context`, (n) => n.textContent))
        .toMatch(/Alice used \/imagine/);

      // Mid-render: a frame is on screen while the status says Rendering.
      await page.waitForFunction(
        (mid) => {
          const m = document.querySelector(`[data-message-id="${mid}"]`);
          return (
            m?.querySelector('.embed-image[src*="frame"]') &&
            /Rendering · step [1-9]/u.test(m.querySelector('.content')?.textContent ?? '')
          );
        },
        id,
        { timeout: 60_000 },
      );
      await page.screenshot({ path: path.join(artifacts, 'playground-mid-render.png') });

      await page.waitForFunction(
        (mid) =>
          /✅ Done/u.test(document.querySelector(`[data-message-id="${mid}"] .content`)?.textContent ?? ''),
        id,
        { timeout: 120_000 },
      );
      await page.waitForFunction(
        (mid) =>
          document
            .querySelector(`[data-message-id="${mid}"] .embed-image`)
            ?.getAttribute('src')
            ?.endsWith('/tessera-1234.png'),
        id,
        { timeout: 10_000 },
      );
      const shown = await page.evaluate((mid) => (window.__frames[mid] ?? []) as string[], id);
      const frames = shown.filter((s) => /\/frame\.webp$/.test(s));
      const distinct = new Set(await Promise.all(frames.map(sha)));
      expect(distinct.size, `frames shown: ${frames.length}`).toBeGreaterThanOrEqual(3);
      const final = shown[shown.length - 1]!;
      expect(final).toMatch(/\/tessera-1234\.png$/);
      const png = Buffer.from(await (await fetch(new URL(final, url))).arrayBuffer());
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(
        await page.$eval(
          `[data-message-id="${id}"] .embed-image`,
          (img) => getComputedStyle(img).imageRendering,
        ),
      ).toBe('pixelated');

      // 🔁 under the finished render → a new message linked to it, rendered to the end.
      const reroll = page.locator(`[data-message-id="${id}"] .reaction[data-emoji="🔁"]`);
      await reroll.waitFor({ timeout: 15_000 });
      const count = await page.$$eval('.message', (ms) => ms.length);
      await reroll.click();
      const second = await newestReplyId(count);
      expect(second).not.toBe(id);
      await expect
        .poll(
          () =>
            page.$eval(`[data-message-id="${second}"] .context a`, (a) => (a as HTMLElement).dataset.jump),
          { timeout: 15_000 },
        )
        .toBe(id);
      await page.waitForFunction(
        (mid) => document.querySelector(`[data-message-id="${mid}"] .embed-image`),
        second,
        { timeout: 60_000 },
      );
      await page.waitForFunction(
        (mid) =>
          /✅ Done/u.test(document.querySelector(`[data-message-id="${mid}"] .content`)?.textContent ?? ''),
        second,
        { timeout: 120_000 },
      );
      expect(await contentOf(second)).toMatch(/✅ Done/u);
      const seed = await page.$eval(`[data-message-id="${second}"] .embed-image`, (img) =>
        img.getAttribute('src'),
      );
      expect(seed).not.toMatch(/tessera-1234\.png$/);
      await page.screenshot({ path: path.join(artifacts, 'playground-reroll.png') });

      // ❌ by the one who asked for the reroll deletes that finished render from the channel.
      const remove = page.locator(`[data-message-id="${second}"] .reaction[data-emoji="❌"]`);
      await remove.waitFor({ timeout: 15_000 });
      await remove.click();
      await page.locator(`[data-message-id="${second}"]`).waitFor({ state: 'detached', timeout: 15_000 });
      expect(await page.$(`[data-message-id="${id}"] .embed-image`)).not.toBeNull();
    }, 300_000);

    it('shows an ephemeral reply only to the user who asked; the moderator can see quotas', async () => {
      await page.selectOption('#user-switch', 'bob');
      await page.waitForFunction(() => document.querySelector('#me-name')?.textContent === 'Bob');
      let before = await page.$$eval('.message', (ms) => ms.length);
      await page.fill('#composer-input', '/quota show');
      await page.press('#composer-input', 'Enter');
      const refusal = await newestReplyId(before);
      await page.waitForFunction(
        (mid) =>
          /Only moderators/u.test(
            document.querySelector(`[data-message-id="${mid}"] .content`)?.textContent ?? '',
          ),
        refusal,
        { timeout: 30_000 },
      );
      expect(await page.$eval(`[data-message-id="${refusal}"] .only-you`, (n) => n.textContent)).toMatch(
        /Only you can see this/,
      );

      await page.selectOption('#user-switch', 'mia');
      await page.waitForFunction(() => /Mia/.test(document.querySelector('#me-name')?.textContent ?? ''));
      expect(await page.$(`[data-message-id="${refusal}"]`)).toBeNull();
      before = await page.$$eval('.message', (ms) => ms.length);
      await page.fill('#composer-input', '/quota show user:bob');
      await page.press('#composer-input', 'Enter');
      const shown = await newestReplyId(before);
      await page.waitForFunction(
        (mid) =>
          /Bob/u.test(document.querySelector(`[data-message-id="${mid}"]`)?.textContent ?? '') &&
          !document.querySelector(`[data-message-id="${mid}"] .thinking`),
        shown,
        { timeout: 30_000 },
      );
      expect(await page.$eval(`[data-message-id="${shown}"]`, (n) => n.textContent)).not.toMatch(
        /Only moderators/u,
      );
      await page.selectOption('#user-switch', 'alice');
    }, 120_000);

    it('helps with typing: commands, then the options still to give, and explains mistakes', async () => {
      await page.fill('#composer-input', '');
      await page.type('#composer-input', '/im');
      await expect
        .poll(() => page.$$eval('#popup .item .n', (ns) => ns.map((n) => n.textContent)))
        .toEqual(['/imagine']);
      await page.keyboard.press('Tab');
      expect(await page.inputValue('#composer-input')).toBe('/imagine ');
      await page.type('#composer-input', 'a cat ');
      const options = await page.$$eval('#popup .item .n', (ns) => ns.map((n) => n.textContent));
      expect(options).toContain('seed:');
      expect(options).not.toContain('prompt:');
      await page.fill('#composer-input', '/imagine prompt:a cat seed:many');
      await page.press('#composer-input', 'Enter');
      await expect.poll(() => page.textContent('#composer-error')).toMatch(/seed: expected a whole number/);
      await page.fill('#composer-input', '');
    }, 30_000);

    it('sends a picked file as the init_image attachment', async () => {
      const png = await sharp({
        create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 30, b: 30 } },
      })
        .png()
        .toBuffer();
      await page.setInputFiles('#file-input', { name: 'start.png', mimeType: 'image/png', buffer: png });
      await expect.poll(() => page.textContent('#attached')).toMatch(/init_image: start\.png/);
      const before = await page.$$eval('.message', (ms) => ms.length);
      await page.fill('#composer-input', '/imagine prompt:a red circle steps:20 seed:5');
      await page.press('#composer-input', 'Enter');
      const id = await newestReplyId(before);
      await page.waitForFunction(
        (mid) =>
          /✅ Done/u.test(document.querySelector(`[data-message-id="${mid}"] .content`)?.textContent ?? ''),
        id,
        { timeout: 60_000 },
      );
      expect(await page.isHidden('#attached')).toBe(true);
      // The bot got the file as the interaction's attachment and handed the very bytes to the farm.
      // Auth is on: read the store with the bot's credential that `tessera start` generated (owner-only files).
      const seedFile = path.join(dataDir, 'credentials', 'bot.nk');
      expect((await stat(seedFile)).mode & 0o777).toBe(0o600);
      expect((await stat(path.dirname(seedFile))).mode & 0o777).toBe(0o700);
      await expect(
        connectNats({ url: natsUrl, name: 'playground-anonymous', waitOnFirstConnect: false }),
      ).rejects.toThrow(/authorization/i);
      const nc = await connectNats({
        url: natsUrl,
        name: 'playground-test',
        role: 'bot',
        nkeySeed: await readNkeySeed(seedFile),
        waitOnFirstConnect: false,
      });
      try {
        const images = await new Objm(jetstream(nc)).open(imagesStore());
        const stored = (await images.list()).filter((o) => o.name.endsWith('start.png'));
        expect(stored).toHaveLength(1);
        expect(Buffer.from((await images.getBlob(stored[0]!.name))!)).toEqual(png);
      } finally {
        await nc.close();
      }
    }, 90_000);

    it('Ctrl-C stops every process tessera start began', async () => {
      const pid = start!.pid!;
      const children = descendants(pid);
      expect(children.length).toBeGreaterThanOrEqual(4); // main.ts, nats-server, renderer, bot
      const exited = new Promise<number | null>((resolve) => start!.once('exit', (code) => resolve(code)));
      process.kill(-pid, 'SIGINT');
      const code = await exited;
      await expect.poll(() => children.filter(alive), { timeout: 20_000 }).toEqual([]);
      expect(code, output.slice(-2000)).toBe(0);
      expect(output).toMatch(/playground stopped/);
    }, 60_000);
  },
);

/** The stand-in bot of the components suite: /menu posts buttons; Edit opens a modal; its submit DMs. */
function answer(i: Interaction): Promise<unknown> | undefined {
  const buttons = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId('reroll').setLabel('Reroll').setEmoji('🔁').setStyle(ButtonStyle.Primary),
    new ButtonBuilder().setCustomId('edit').setLabel('Edit').setStyle(ButtonStyle.Secondary),
    new ButtonBuilder().setLabel('Docs').setURL('https://example.com/docs').setStyle(ButtonStyle.Link),
    new ButtonBuilder().setCustomId('off').setLabel('Off').setStyle(ButtonStyle.Danger).setDisabled(true),
  );
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
        body: JSON.stringify([{ name: 'menu', description: 'buttons to click', type: 1 }]),
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
