import { describe, expect, it } from 'vitest';
import type { RenderParams } from '../../bot/src/core/render-record.js';
import { startRender, type RenderOrder } from '../../bot/src/start-render.js';
import { memoryBot } from '../support/bot-ports.js';

const GUILD = '200000000000000001';
const CHANNEL = '300000000000000001';
const USER = '400000000000000001';
const TOKEN = 'aW50ZXJhY3Rpb24tdG9rZW4tc2VjcmV0LXZhbHVl';

const params: RenderParams = {
  promptText: 'a red circle',
  prompts: [{ text: 'a red circle', weight: 1 }],
  seed: 7,
  steps: 20,
  cutn: 8,
  width: 64,
  height: 64,
  quality: 'standard',
  model: 'tiny-shapes',
};

function order(over: Partial<RenderOrder> = {}): RenderOrder & { opened: number } {
  const o = {
    jobId: '500000000000000001',
    guildId: GUILD,
    channelId: CHANNEL,
    applicationId: '600000000000000001',
    requester: { id: USER, name: 'alice', interactionId: '500000000000000001' },
    params,
    quota: { rule: { limit: 2, per: 'day' as const }, maxConcurrent: 2 },
    opened: 0,
    openMessage: async () => {
      o.opened += 1;
      return {
        messageId: '700000000000000001',
        reply: { applicationId: '600000000000000001', token: TOKEN, issuedAt: Date.now() },
      };
    },
    ...over,
  };
  return o;
}

describe('startRender', () => {
  it('charges, opens the message, records, submits and follows the job, then offers ❌', async () => {
    const bot = memoryBot();
    const o = order();
    const outcome = await startRender(bot, o);
    expect(outcome).toEqual({ ok: true, jobId: o.jobId, messageId: '700000000000000001' });
    expect((await bot.quotas.usage(GUILD, USER)).day.jobs).toEqual([o.jobId]);
    expect(await bot.records.get(o.jobId)).toMatchObject({
      state: 'active',
      messageId: '700000000000000001',
    });
    expect(bot.jobs.job(o.jobId)).toMatchObject({
      seed: 7,
      model: 'tiny-shapes',
      requester: { userId: USER },
    });
    expect(bot.renders.activeJobsOf(USER).map((r) => r.jobId)).toEqual([o.jobId]);
    expect(bot.port.reactions).toEqual([{ messageId: '700000000000000001', emoji: '❌' }]);
    await bot.renders.stop();
  });

  it('refuses over quota before any message is shown, and submits nothing', async () => {
    const bot = memoryBot();
    const o = order({ quota: { rule: { limit: 0, per: 'day' }, maxConcurrent: 2 } });
    const outcome = await startRender(bot, o);
    expect(outcome).toMatchObject({ ok: false, stage: 'quota', refusal: { identifier: 'quota-exhausted' } });
    expect(o.opened).toBe(0);
    expect(bot.jobs.published.size).toBe(0);
    expect(bot.records.stored.size).toBe(0);
  });

  it('refuses a third render while two are running', async () => {
    const bot = memoryBot();
    const quota = { rule: { limit: 10, per: 'day' as const }, maxConcurrent: 2 };
    for (const id of ['1', '2']) await startRender(bot, order({ jobId: `j${id}`, quota }));
    const third = await startRender(bot, order({ jobId: 'j3', quota }));
    expect(third).toMatchObject({ ok: false, stage: 'quota', refusal: { identifier: 'too-many-running' } });
    await bot.renders.stop();
  });

  it('refuses politely over the queued limit, charges nothing, and counts started renders apart', async () => {
    const bot = memoryBot();
    await bot.settings.update(GUILD, (s) => ({ ...s, maxQueuedPerUser: 2, maxConcurrentPerUser: 10 }));
    const quota = { rule: { limit: 10, per: 'day' as const }, maxConcurrent: 10 };
    for (const id of ['1', '2']) await startRender(bot, order({ jobId: `q${id}`, quota }));
    const third = order({ jobId: 'q3', quota });
    expect(await startRender(bot, third)).toMatchObject({
      ok: false,
      stage: 'quota',
      refusal: { identifier: 'too-many-queued', queued: 2, max: 2 },
    });
    expect(third.opened).toBe(0);
    expect((await bot.quotas.usage(GUILD, USER)).day.jobs).toEqual(['q1', 'q2']);
    // One of the two starts rendering: one place is free again.
    await bot.renders.onEvent({
      v: 1,
      type: 'started',
      jobId: 'q1',
      at: new Date().toISOString(),
      attempt: 1,
      rendererId: 'r1',
    });
    expect(await startRender(bot, order({ jobId: 'q4', quota }))).toMatchObject({ ok: true });
    expect(await startRender(bot, order({ jobId: 'q5', quota }))).toMatchObject({
      ok: false,
      refusal: { identifier: 'too-many-queued' },
    });
    await bot.renders.stop();
  });

  it("sets the job's fair-share weight from the member's highest weighted role", async () => {
    const bot = memoryBot();
    await bot.settings.update(GUILD, (s) => ({
      ...s,
      roleWeights: { '810000000000000001': 2, '810000000000000002': 3 },
    }));
    await startRender(bot, order({ jobId: 'w1', roleIds: ['810000000000000001', '810000000000000009'] }));
    expect(bot.jobs.job('w1')?.requester.weight).toBe(2);
    // Without the interaction's roles (a reroll), they are looked up.
    bot.members.roles.set(USER, ['810000000000000002', '810000000000000001']);
    await startRender(bot, order({ jobId: 'w2' }));
    expect(bot.jobs.job('w2')?.requester.weight).toBe(3);
    await bot.settings.update(GUILD, (s) => ({ ...s, roleWeights: {} }));
    await startRender(
      bot,
      order({ jobId: 'w3', quota: { rule: { limit: 10, per: 'day' }, maxConcurrent: 5 } }),
    );
    expect(bot.jobs.job('w3')?.requester.weight).toBeUndefined();
    await bot.renders.stop();
  });

  it('refunds the charge when the message cannot be opened', async () => {
    const bot = memoryBot();
    const o = order({
      openMessage: async () => {
        throw new Error('interaction expired');
      },
    });
    const outcome = await startRender(bot, o);
    expect(outcome).toMatchObject({ ok: false, stage: 'message' });
    const usage = await bot.quotas.usage(GUILD, USER);
    expect(usage.day.jobs).toEqual([]);
    expect(usage.active).toEqual([]);
    expect(bot.jobs.published.size).toBe(0);
  });

  it('refunds the charge and marks the record failed when the farm refuses the job', async () => {
    const bot = memoryBot();
    bot.jobs.failSubmit = new Error('no responders');
    const o = order();
    const outcome = await startRender(bot, o);
    expect(outcome).toMatchObject({ ok: false, stage: 'submit', messageId: '700000000000000001' });
    expect(bot.quotas.refunds).toEqual([o.jobId]);
    expect((await bot.records.get(o.jobId))?.state).toBe('failed');
    expect(bot.renders.activeJobsOf(USER)).toEqual([]);
    expect(bot.port.reactions).toEqual([]);
  });

  it('stores a new init image before submitting and references it by key', async () => {
    const bot = memoryBot();
    const bytes = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);
    const o = order({
      params: { ...params, initImageKey: 'inputs/500000000000000001/start.png' },
      initImage: { contentType: 'image/png', load: async () => bytes },
    });
    await startRender(bot, o);
    expect(bot.images.images.get('inputs/500000000000000001/start.png')).toEqual(bytes);
    expect(bot.jobs.job(o.jobId)?.initImage).toEqual({
      key: 'inputs/500000000000000001/start.png',
      contentType: 'image/png',
      bytes: 7,
    });
    await bot.renders.stop();
  });

  it('refunds when the init image cannot be loaded', async () => {
    const bot = memoryBot();
    const o = order({
      params: { ...params, initImageKey: 'inputs/x/start.png' },
      initImage: {
        contentType: 'image/png',
        load: async () => {
          throw new Error('HTTP 404');
        },
      },
    });
    expect(await startRender(bot, o)).toMatchObject({ ok: false, stage: 'submit' });
    expect(bot.quotas.refunds).toEqual([o.jobId]);
    expect(bot.jobs.published.size).toBe(0);
  });

  it('keeps the interaction token out of the submitted job and the render record', async () => {
    const bot = memoryBot();
    const o = order();
    await startRender(bot, o);
    const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
    const jobBytes = text(bot.jobs.published.get(o.jobId));
    const recordBytes = text(bot.records.stored.get(o.jobId));
    expect(jobBytes).toContain('a red circle');
    expect(jobBytes).not.toContain(TOKEN);
    expect(jobBytes).not.toMatch(/token/i);
    expect(recordBytes).toContain('700000000000000001');
    expect(recordBytes).not.toContain(TOKEN);
    expect(recordBytes).not.toMatch(/token/i);
    // The token is used, from memory, for the edits of the reply.
    bot.renders.markCancelling(o.jobId, USER);
    await bot.renders.stop();
    expect(bot.port.edits[0]?.target).toMatchObject({ kind: 'interaction', token: TOKEN });
  });
});
