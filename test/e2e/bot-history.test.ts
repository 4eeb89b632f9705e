/**
 * `/history`, `/show` and results by DM end to end: the real discord.js client against the local
 * Discord emulator, a real nats-server and a renderer process. One stack for the whole file.
 */
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredMessage } from '../../deploy/playground/emulator/index.js';
import type { RenderRecord } from '../../bot/src/core/render-record.js';
import { dmClosedNote } from '../../bot/src/dm-delivery.js';
import { NatsRenderRecords } from '../../bot/src/nats/render-records.js';
import { renderRecordsBucket } from '../../shared/src/index.js';
import {
  buttonsOf,
  clickButton,
  embedField,
  pingingMessages,
  waitFinished,
} from '../support/discord-helpers.js';
import { startDiscordStack, type DiscordStack } from '../support/discord-stack.js';

let stack: DiscordStack;

beforeAll(async () => {
  stack = await startDiscordStack();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

/** Runs /imagine to the end; returns the job id and the finished message. */
async function render(user: string, prompt: string, seed: number) {
  const sent = stack.emulator.sendSlashCommand({
    user,
    command: 'imagine',
    options: { prompt, seed, steps: 5 },
  });
  const reply = await sent.response();
  const done = await waitFinished(stack.emulator, reply.id);
  expect(done.content).toMatch(/^✅ Done/u);
  // 🔁 comes once the record is finished too (what /show and /history read).
  await stack.emulator.waitFor(
    () =>
      stack.emulator.message(reply.id)?.reactions.get('🔁')?.has(stack.emulator.applicationId) || undefined,
    { what: 'the bot to add 🔁' },
  );
  return { jobId: sent.id, message: done };
}

/** Waits until the message shows embeds matching `n` (an ephemeral reply is edited after the defer). */
function waitEmbeds(messageId: string, what: string, check: (m: StoredMessage) => boolean) {
  return stack.emulator.waitFor(
    () => {
      const m = stack.emulator.message(messageId);
      return m && check(m) ? m : undefined;
    },
    { what },
  );
}

const titles = (m: StoredMessage) => m.embeds.map((e) => (e as { title?: string }).title);
const descriptions = (m: StoredMessage) =>
  m.embeds.map((e) => (e as { description?: string }).description ?? '');

describe('/history', () => {
  const jobs: { jobId: string; message: StoredMessage }[] = [];

  beforeAll(async () => {
    for (let n = 1; n <= 7; n++) jobs.push(await render('alice', 'a red circle', n));
    await render('bob', 'a blue square', 99);
  }, 180_000);

  it('pages your renders five at a time, newest first, with thumbnails, links and working buttons', async () => {
    const sent = stack.emulator.sendSlashCommand({ user: 'alice', command: 'history' });
    const first = await sent.response();
    const page1 = await waitEmbeds(first.id, 'the first history page', (m) => m.embeds.length === 5);
    expect(page1.flags & 64).toBe(64);
    const newestFirst = [...jobs].reverse();
    for (const [k, d] of descriptions(page1).entries()) {
      const job = newestFirst[k]!;
      expect(d).toContain(`Job \`${job.jobId}\``);
      expect(d).toContain(`seed ${embedField(job.message, 'Seed')}`);
      expect(d).toContain('✅ done');
      expect(d).toContain(job.message.id);
    }
    expect(titles(page1).every((t) => t === 'a red circle')).toBe(true);
    expect(page1.attachments.map((a) => a.filename)).toEqual([1, 2, 3, 4, 5].map((n) => `thumb-${n}.webp`));
    const buttons = buttonsOf(page1);
    expect(buttons.map((b) => [b.label, b.disabled])).toEqual([
      ['◀ Previous', true],
      ['Next ▶', false],
    ]);

    clickButton(stack.emulator, { user: 'alice', messageId: page1.id, label: 'Next ▶' });
    const page2 = await waitEmbeds(first.id, 'the second page', (m) => m.embeds.length === 2);
    expect(descriptions(page2)[0]).toContain(newestFirst[5]!.jobId);
    expect(descriptions(page2)[1]).toContain(newestFirst[6]!.jobId);
    expect(page2.attachments.map((a) => a.filename)).toEqual(['thumb-1.webp', 'thumb-2.webp']);
    expect(buttonsOf(page2).map((b) => b.disabled)).toEqual([false, true]);

    // The buttons carry the cursor: a restarted bot pages on.
    await stack.restartBot();
    clickButton(stack.emulator, { user: 'alice', messageId: page2.id, label: '◀ Previous' });
    const back = await waitEmbeds(first.id, 'the first page again', (m) => m.embeds.length === 5);
    expect(descriptions(back)[0]).toContain(newestFirst[0]!.jobId);
  }, 120_000);

  it("shows another member's renders with member:", async () => {
    const sent = stack.emulator.sendSlashCommand({
      user: 'alice',
      command: 'history',
      options: { member: { userId: stack.emulator.users.bob!.id } },
    });
    const reply = await sent.response();
    const page = await waitEmbeds(reply.id, "bob's history", (m) => m.embeds.length === 1);
    expect(titles(page)).toEqual(['a blue square']);
    expect(buttonsOf(page)).toEqual([]);
  });
});

describe('/show', () => {
  it('posts a finished render again in the current channel with its picture, prompt, seed and requester', async () => {
    const { jobId, message } = await render('alice', 'a green square', 4321);
    const sent = stack.emulator.sendSlashCommand({
      user: 'bob',
      command: 'show',
      options: { job_id: jobId },
      channelId: stack.emulator.guild.channels.art,
    });
    const reply = await sent.response();
    const shown = await waitEmbeds(reply.id, 'the re-posted render', (m) => m.attachments.length === 1);
    expect(shown.flags & 64).toBe(0);
    expect(shown.channelId).toBe(stack.emulator.guild.channels.art);
    expect(shown.attachments[0]!.filename).toBe('tessera-4321.png');
    expect([...shown.attachments[0]!.data]).toEqual([...message.attachments[0]!.data]);
    expect(embedField(shown, 'Seed')).toBe('4321');
    const description = descriptions(shown)[0]!;
    expect(description).toContain('a green square');
    expect(description).toContain(`<@${stack.emulator.users.alice!.id}>`);
    expect(shown.content).toContain(message.id);
    // With the original's buttons (their custom ids name the job): a click works from here too.
    expect(buttonsOf(shown).map((b) => b.custom_id)).toEqual(buttonsOf(message).map((b) => b.custom_id));
    const before = new Set(stack.emulator.messages().map((m) => m.id));
    clickButton(stack.emulator, { user: 'bob', messageId: shown.id, label: 'Reroll' });
    const reroll = await stack.emulator.waitFor(
      () =>
        stack.emulator.messages().find((m) => !before.has(m.id) && descriptions(m)[0]?.includes(message.id)),
      { what: 'the reroll from the shown render' },
    );
    expect((await waitFinished(stack.emulator, reroll.id)).content).toMatch(/^✅ Done/u);
  });

  it('answers an unknown id and another server’s render alike, privately', async () => {
    const kv = await new Kvm(stack.farm.js).open(renderRecordsBucket());
    const elsewhere: RenderRecord = {
      v: 1,
      jobId: '123456789012345678',
      guildId: '999999999999999999',
      channelId: '999999999999999998',
      messageId: '999999999999999997',
      applicationId: stack.emulator.applicationId,
      requesterId: stack.emulator.users.alice!.id,
      requesterName: 'alice',
      params: {
        promptText: 'a secret',
        prompts: [],
        seed: 1,
        steps: 5,
        cutn: 8,
        width: 64,
        height: 64,
        quality: 'standard',
        model: 'tiny-shapes',
      },
      state: 'done',
      createdAt: new Date().toISOString(),
    };
    await new NatsRenderRecords(kv).put(elsewhere);
    const answers: string[] = [];
    for (const job_id of [elsewhere.jobId, '123456789012345670']) {
      const sent = stack.emulator.sendSlashCommand({ user: 'bob', command: 'show', options: { job_id } });
      const reply = await sent.response();
      expect(reply.flags & 64).toBe(64);
      answers.push(reply.content.replace(job_id, 'ID'));
    }
    expect(answers[0]).toMatch(/no render `ID` in this server/);
    expect(answers[0]).toBe(answers[1]);
    expect(answers[0]).not.toContain('secret');
  });
});

describe('results by DM', () => {
  it('sends the finished render to the DMs of a member who asked, and keeps it in the channel', async () => {
    const pref = stack.emulator.sendSlashCommand({
      user: 'alice',
      command: 'preferences',
      options: { dm: true },
    });
    expect((await pref.response()).content).toMatch(/Results by DM: on/);
    const { message } = await render('alice', 'a yellow triangle', 77);
    const dm = await stack.emulator.waitFor(() => stack.emulator.dmsOf('alice').at(-1), {
      what: 'a DM to alice',
    });
    expect(dm.attachments[0]!.filename).toBe('tessera-77.png');
    expect([...dm.attachments[0]!.data]).toEqual([...message.attachments[0]!.data]);
    expect(dm.content).toContain(message.id);
    // The copy carries the render's buttons (a click from the DM acts on the render in the server).
    expect(buttonsOf(dm).map((b) => b.custom_id)).toEqual(buttonsOf(message).map((b) => b.custom_id));
    const off = stack.emulator.sendSlashCommand({
      user: 'alice',
      command: 'preferences',
      options: { dm: false },
    });
    await off.response();
  });

  it('with DMs closed (50007) the render still lands in the channel, and the member is told once', async () => {
    stack.emulator.setDmsClosed('bob', true);
    const pref = stack.emulator.sendSlashCommand({
      user: 'bob',
      command: 'preferences',
      options: { dm: true },
    });
    await pref.response();
    const bobId = stack.emulator.users.bob!.id;
    const notes = () => stack.emulator.messages().filter((m) => m.content === dmClosedNote(bobId));
    const first = await render('bob', 'a purple circle', 5);
    expect(first.message.attachments[0]!.filename).toBe('tessera-5.png');
    const note = await stack.emulator.waitFor(() => notes()[0], { what: 'the DMs-closed note' });
    expect(note.referenceMessageId).toBe(first.message.id);
    await render('bob', 'a purple square', 6);
    // The second render is in the channel and no second note follows it.
    await new Promise((r) => setTimeout(r, 1000));
    expect(notes()).toHaveLength(1);
    expect(stack.emulator.dmsOf('bob')).toEqual([]);
  });

  it('never pings anyone', () => {
    expect(pingingMessages(stack.emulator)).toEqual([]);
  });
});
