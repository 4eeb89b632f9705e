import { afterEach, describe, expect, it } from 'vitest';
import { ClickCooldown } from '../../bot/src/core/click-cooldown.js';
import { encodeCustomId, type ButtonAction } from '../../bot/src/core/custom-id.js';
import type { RenderRecord } from '../../bot/src/core/render-record.js';
import {
  handleButtonClick,
  type ButtonClick,
  type ClickResponder,
  type EditModal,
} from '../../bot/src/discord/buttons.js';
import { memoryBot, type MemoryBot } from '../support/bot-ports.js';

const GUILD = '200000000000000001';
const CHANNEL = '300000000000000001';
const ALICE = '400000000000000001';
const BOB = '400000000000000002';
const MOD = '400000000000000003';
const MESSAGE = '700000000000000001';
const PICTURE = 'renders/j1/attempt-1.png';

function record(state: RenderRecord['state'], extra: Partial<RenderRecord> = {}): RenderRecord {
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
      avoidText: 'blue',
      prompts: [
        { text: 'a red circle', weight: 1 },
        { text: 'blue', weight: -0.5 },
      ],
      seed: 7,
      steps: 40,
      cutn: 8,
      width: 64,
      height: 64,
      quality: 'standard',
      model: 'tiny-shapes',
    },
    state,
    createdAt: '2026-12-03T12:00:00.000Z',
    ...extra,
  };
}

class FakeResponder implements ClickResponder {
  deferred = 0;
  answers: string[] = [];
  modals: EditModal[] = [];
  async defer() {
    this.deferred += 1;
  }
  async answer(content: string) {
    this.answers.push(content);
  }
  async showModal(modal: EditModal) {
    this.modals.push(modal);
  }
}

let bot: MemoryBot;
let cooldown: ClickCooldown;
let t = 1_000_000;
let clicks = 0;
afterEach(async () => {
  await bot?.renders.stop();
});

async function setUp(state: RenderRecord['state'] = 'done', extra: Partial<RenderRecord> = {}) {
  bot = memoryBot({ now: () => t, seeds: [99, 98, 97] });
  bot.members.moderators.add(MOD);
  cooldown = new ClickCooldown(3000, () => t);
  await bot.records.put(record(state, extra));
  if (state === 'done')
    bot.jobs.results.set('j1', {
      v: 1,
      jobId: 'j1',
      at: '2026-12-03T12:00:10.000Z',
      type: 'done',
      attempt: 1,
      image: { key: PICTURE },
      width: 64,
      height: 64,
      seed: 7,
      elapsedMs: 1000,
    });
}

async function click(
  action: ButtonAction,
  userId = BOB,
  more: Partial<ButtonClick> = {},
): Promise<{ reply: FakeResponder; interactionId: string }> {
  clicks += 1;
  const interactionId = `80000000000000${String(clicks).padStart(4, '0')}`;
  const reply = new FakeResponder();
  const handled = await handleButtonClick(
    {
      interactionId,
      customId: encodeCustomId(action, 'j1'),
      guildId: GUILD,
      channelId: CHANNEL,
      userId,
      userName: `user-${userId}`,
      roleIds: [],
      ...more,
    },
    reply,
    { ctx: bot, cooldown },
  );
  expect(handled).toBe(true);
  t += 5000;
  return { reply, interactionId };
}

describe('render buttons that start renders', () => {
  it('Reroll: a new seed, charged to the clicker, linked to its parent, answered privately', async () => {
    await setUp();
    const { reply, interactionId } = await click('reroll');
    expect(reply.deferred).toBe(1);
    expect(reply.answers.at(-1)).toMatch(/Reroll started: https:\/\/discord\.com\/channels\//);
    const job = bot.jobs.job(interactionId);
    expect(job).toMatchObject({ seed: 99, steps: 40, parentJobId: 'j1', requester: { userId: BOB } });
    expect(job?.initImage).toBeUndefined();
    const child = await bot.records.get(interactionId);
    expect(child).toMatchObject({
      parentJobId: 'j1',
      parentMessageId: MESSAGE,
      origin: 'reroll',
      requesterId: BOB,
    });
    expect((await bot.quotas.usage(GUILD, BOB)).active).toContain(interactionId);
    expect(bot.port.posts[0]?.replyTo).toBe(MESSAGE);
    expect(String(bot.port.posts[0]?.payload?.embed?.description)).toMatch(/🔁 Reroll of https:/);
  });

  it('Variations: this picture as init image, a new seed, half the steps', async () => {
    await setUp();
    const { interactionId } = await click('vary');
    const job = bot.jobs.job(interactionId);
    expect(job).toMatchObject({ seed: 99, steps: 20, initImage: { key: PICTURE }, parentJobId: 'j1' });
    expect(String(bot.port.posts[0]?.payload?.embed?.description)).toMatch(/🎲 Variation of https:/);
  });

  it('Upscale: the next larger size of the model from this picture, fewer steps', async () => {
    await setUp();
    bot.model = {
      ...bot.model,
      sizes: [
        [64, 64],
        [128, 128],
        [256, 256],
      ],
    };
    const { interactionId } = await click('upscale');
    expect(bot.jobs.job(interactionId)).toMatchObject({
      width: 128,
      height: 128,
      steps: 20,
      initImage: { key: PICTURE },
    });
  });

  it('Upscale: refuses politely where the model has no larger size', async () => {
    await setUp();
    const { reply } = await click('upscale');
    expect(reply.answers.at(-1)).toMatch(/no larger size/);
    expect(bot.jobs.published.size).toBe(0);
  });

  it('Zoom video: zoomEvery and zoomScale from this picture', async () => {
    await setUp();
    const { interactionId } = await click('zoom');
    expect(bot.jobs.job(interactionId)).toMatchObject({
      zoomEvery: 2,
      zoomScale: 0.98,
      initImage: { key: PICTURE },
      steps: 40,
    });
    // The message and Replay show the options the job has.
    expect((await bot.records.get(interactionId))?.params.optionsText).toBe('zoom_every=2 zoom_scale=0.98');
  });

  it('refuses a member over quota and charges nothing', async () => {
    await setUp();
    await bot.settings.update(GUILD, (s) => ({ ...s, defaultQuota: { limit: 0, per: 'day' } }));
    const { reply } = await click('vary');
    expect(reply.answers.at(-1)).toMatch(/switched off/);
    expect(bot.jobs.published.size).toBe(0);
    expect(bot.port.posts).toHaveLength(0);
    expect(bot.quotas.writes).toBe(0);
  });

  it('starts one render for ten rapid clicks by one member', async () => {
    await setUp();
    const replies: FakeResponder[] = [];
    for (let n = 0; n < 10; n++) {
      const reply = new FakeResponder();
      replies.push(reply);
      await handleButtonClick(
        {
          interactionId: `81000000000000${n}`,
          customId: encodeCustomId('reroll', 'j1'),
          guildId: GUILD,
          channelId: CHANNEL,
          userId: BOB,
          userName: 'bob',
          roleIds: [],
        },
        reply,
        { ctx: bot, cooldown },
      );
      t += 100;
    }
    expect(bot.jobs.published.size).toBe(1);
    expect(replies.filter((r) => /try again in/.test(r.answers.join()))).toHaveLength(9);
  });

  it('starts nothing twice for a redelivered interaction', async () => {
    await setUp();
    const { interactionId } = await click('reroll');
    const again = new FakeResponder();
    await handleButtonClick(
      {
        interactionId,
        customId: encodeCustomId('reroll', 'j1'),
        guildId: GUILD,
        channelId: CHANNEL,
        userId: BOB,
        userName: 'bob',
        roleIds: [],
      },
      again,
      { ctx: bot, cooldown: new ClickCooldown(3000, () => t) },
    );
    expect(again.answers.at(-1)).toMatch(/Already started/);
    expect(bot.port.posts).toHaveLength(1);
  });

  it('offers Reroll on a failed render but no Variations', async () => {
    await setUp('failed');
    const { reply } = await click('vary');
    expect(reply.answers.at(-1)).toMatch(/no longer in the farm/);
    const reroll = await click('reroll');
    expect(reroll.reply.answers.at(-1)).toMatch(/Reroll started/);
  });

  it('uses the picture of a render whose record is not yet marked done (render-service end())', async () => {
    await setUp();
    await bot.records.put(record('active'));
    const { reply } = await click('vary');
    expect(reply.answers.at(-1)).toMatch(/started/);
  });

  it('answers a button of a deleted render politely', async () => {
    await setUp('deleted');
    const { reply } = await click('reroll');
    expect(reply.answers.at(-1)).toMatch(/no longer known/);
    expect(bot.jobs.published.size).toBe(0);
  });

  it('works from a DM (a render sent to the member): the record names the server and the roles are looked up', async () => {
    await setUp();
    await bot.settings.update(GUILD, (s) => ({
      ...s,
      roleQuotas: { '500000000000000007': { limit: 0, per: 'day' } },
    }));
    bot.members.roles.set(BOB, ['500000000000000007']);
    const refused = await click('reroll', BOB, { guildId: undefined, roleIds: [] });
    expect(refused.reply.answers.at(-1)).toMatch(/switched off/);
    const { reply, interactionId } = await click('reroll', ALICE, { guildId: undefined });
    expect(reply.answers.at(-1)).toMatch(/Reroll started/);
    expect(await bot.records.get(interactionId)).toMatchObject({ guildId: GUILD, channelId: CHANNEL });
  });

  it('does not act on a render of another server', async () => {
    await setUp();
    const { reply } = await click('reroll', BOB, { guildId: '200000000000000999' });
    expect(reply.answers.at(-1)).toMatch(/no longer known/);
    expect(bot.jobs.published.size).toBe(0);
  });

  it('answers an unreadable custom id with the older-version sentence', async () => {
    await setUp();
    const { reply } = await click('reroll', BOB, { customId: 'tessera:v9:reroll:j1' });
    expect(reply.answers).toEqual([expect.stringMatching(/older version/)]);
  });
});

describe('Edit', () => {
  it('opens a modal pre-filled with the render’s prompt, seed, steps, size and options', async () => {
    await setUp('done', { params: { ...record('done').params, options: { zoomEvery: 5 } } });
    const { reply } = await click('edit');
    expect(reply.modals).toEqual([
      {
        customId: 'tessera:v1:edit-form:j1',
        title: expect.any(String),
        fields: { prompt: 'a red circle', seed: '7', steps: '40', size: '64x64', options: 'zoom_every=5' },
      },
    ]);
  });

  it('renders the edited fields as a child of the render', async () => {
    await setUp();
    const fields = { prompt: 'a green square', seed: '12', steps: '30', size: '64x64', options: 'cut_pow=2' };
    const { interactionId } = await click('edit-form', BOB, { fields });
    const job = bot.jobs.job(interactionId);
    expect(job).toMatchObject({ seed: 12, steps: 30, cutPow: 2, parentJobId: 'j1' });
    expect(job?.prompts.map((p) => p.text)).toEqual(['a green square', 'blue']);
    expect((await bot.records.get(interactionId))?.origin).toBe('edit');
  });

  it('refuses edited fields /imagine would refuse, naming the mistake', async () => {
    await setUp();
    const fields = { prompt: 'a green square', seed: 'x', steps: '30', size: '64x64', options: '' };
    const { reply } = await click('edit-form', BOB, { fields });
    expect(reply.answers.at(-1)).toMatch(/seed/);
    const size = await click('edit-form', BOB, { fields: { ...fields, seed: '', size: '99x99' } });
    expect(size.reply.answers.at(-1)).toMatch(/99x99/);
    expect(bot.jobs.published.size).toBe(0);
  });
});

describe('Replay of a story with options', () => {
  it('gives the options (cutn among them for the CLI) and every story part', async () => {
    await setUp('done', {
      params: {
        ...record('done').params,
        promptText: 'a red circle ^ a blue square',
        avoidText: undefined,
        prompts: [{ text: 'a red circle', weight: 1 }],
        story: [[{ text: 'a blue square', weight: 1 }]],
        options: { storyEvery: 10, loop: 'reference' },
        optionsText: 'loop=reference story_every=10',
      },
    });
    const { reply } = await click('replay', ALICE);
    const text = reply.answers.at(-1) ?? '';
    expect(text).toContain(
      '/imagine prompt:a red circle ^ a blue square seed:7 steps:40 size:64x64 quality:standard options:loop=reference story_every=10',
    );
    expect(text).toContain(
      "npx tessera imagine 'a red circle:1 ^ a blue square:1' --seed 7 --steps 40 --size 64x64 --model tiny-shapes --options 'loop=reference cutn=8 story_every=10'",
    );
  });
});

describe('Replay and Delete', () => {
  it('Replay: the /imagine and CLI lines of this render and its lineage', async () => {
    await setUp();
    const vary = await click('vary');
    const childRecord = await bot.records.get(vary.interactionId);
    expect(childRecord).toBeDefined();
    const { reply } = await (async () => {
      const r = new FakeResponder();
      await handleButtonClick(
        {
          interactionId: '820000000000000001',
          customId: encodeCustomId('replay', vary.interactionId),
          guildId: GUILD,
          channelId: CHANNEL,
          userId: ALICE,
          userName: 'alice',
          roleIds: [],
        },
        r,
        { ctx: bot, cooldown },
      );
      return { reply: r };
    })();
    const text = reply.answers.at(-1) ?? '';
    expect(text).toContain(
      '/imagine prompt:a red circle avoid:blue seed:99 steps:20 size:64x64 quality:standard',
    );
    expect(text).toContain(
      "npx tessera imagine 'a red circle:1 | blue:-0.5' --seed 99 --steps 20 --size 64x64 --model tiny-shapes --options 'cutn=8' --init picture.png",
    );
    expect(text).toContain(`the picture of https://discord.com/channels/${GUILD}/${CHANNEL}/${MESSAGE}`);
    expect(text).toMatch(/this render · seed 99 — 🎲 Variation of ↓/);
    expect(text).toMatch(/↳ https:\/\/discord\.com\/channels\/\S+ · seed 7 — the original/);
    expect(text.length).toBeLessThanOrEqual(2000);
  });

  it('Delete: refused to others, done for the requester and for a moderator', async () => {
    await setUp();
    const bob = await click('delete', BOB);
    expect(bob.reply.answers.at(-1)).toMatch(/Only the person who asked/);
    expect(bot.port.deleted).toEqual([]);
    const mod = await click('delete', MOD);
    expect(mod.reply.answers.at(-1)).toMatch(/Deleted/);
    expect(bot.port.deleted).toEqual([MESSAGE]);
    expect((await bot.records.get('j1'))?.state).toBe('deleted');
  });
});
