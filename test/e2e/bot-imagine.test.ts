/**
 * The bot end to end: the real discord.js client against the local Discord emulator, a real
 * nats-server and a renderer process. One stack for the whole file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Kvm } from '@nats-io/kv';
import {
  decodeMessage,
  terminalEventSubject,
  getJob,
  JobEvent,
  renderRecordsBucket,
} from '../../shared/src/index.js';
import { distinctFrames, embedField, pingingMessages, waitFinished } from '../support/discord-helpers.js';
import { startDiscordStack, type DiscordStack } from '../support/discord-stack.js';
import { waitUntil } from '../support/farm-harness.js';

let stack: DiscordStack;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `tessera bot` as its own process (not through the tessera.mjs wrapper, so SIGKILL reaches it). */
function spawnBot(env: Record<string, string>): ChildProcess {
  return spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'deploy', 'cli', 'main.ts'), 'bot'],
    {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

/** The bot's clock runs this far ahead of the emulator's (to reach the 14-minute token switch). */
let skewMs = 0;

beforeAll(async () => {
  stack = await startDiscordStack({ bot: { now: () => Date.now() + skewMs } });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

/** Sends /imagine and returns the render message once the bot deferred. */
async function imagine(user: string, options: Record<string, string | number>) {
  const sent = stack.emulator.sendSlashCommand({
    user,
    command: 'imagine',
    options: options as Record<string, string | number>,
  });
  const reply = await sent.response();
  return { sent, reply };
}

/** Waits until the bot offers 🔁 on a finished render. */
function rerollOffered(messageId: string) {
  return stack.emulator.waitFor(
    () =>
      stack.emulator.message(messageId)?.reactions.get('🔁')?.has(stack.emulator.applicationId) || undefined,
    { what: 'the bot to add 🔁' },
  );
}

/** Waits for the first frame edit of a message (the render is running). */
function firstFrame(messageId: string) {
  return stack.emulator.waitFor(
    () => {
      const m = stack.emulator.message(messageId);
      return m?.attachments.some((a) => a.filename.startsWith('frame')) ? m : undefined;
    },
    { timeoutMs: 60_000, what: 'a first frame' },
  );
}

describe('/imagine end to end', () => {
  it('shows at least 3 distinct frames, then the final image with its seed', async () => {
    const { sent, reply } = await imagine('alice', {
      prompt: 'a red circle on a blue background',
      seed: 1234,
      steps: 60,
    });
    const done = await waitFinished(stack.emulator, reply.id);
    await rerollOffered(reply.id);
    expect(done.content).toMatch(/^✅ Done/u);
    expect(distinctFrames(done)).toBeGreaterThanOrEqual(3);
    expect(done.attachments).toHaveLength(1);
    expect(done.attachments[0]!.filename).toBe('tessera-1234.png');
    expect(Buffer.from(done.attachments[0]!.data).subarray(1, 4).toString()).toBe('PNG');
    expect(embedField(done, 'Seed')).toBe('1234');
    expect(done.reactions.get('🔁')?.has(stack.emulator.applicationId)).toBe(true);
    expect(done.reactions.get('❌')?.has(stack.emulator.applicationId)).toBe(true);
    expect(done.revisions.some((r) => /Queued|Rendering/u.test(r.content))).toBe(true);
    expect(sent.record.state).toBe('deferred');
    expect(stack.emulator.maxEditsInFlight(done.id)).toBeLessThanOrEqual(1);
    // The reply's message id comes from the callback response: no GET of the original message.
    const gets = stack.emulator
      .requests()
      .filter((r) => r.method === 'GET' && r.path.includes('/messages/@original'));
    expect(gets).toEqual([]);
  });

  it('keeps the interaction token in the bot: not in the job, not in the render record', async () => {
    const { sent, reply } = await imagine('alice', { prompt: 'a red square', steps: 10 });
    await waitFinished(stack.emulator, reply.id);
    const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
    const job = await stack.farm.jobs.get(sent.id);
    expect(text(job?.value)).toContain('a red square');
    expect(text(job?.value)).not.toContain(sent.token);
    const records = await new Kvm(stack.farm.js).open(renderRecordsBucket());
    const record = await records.get(`job.${sent.id}`);
    expect(text(record?.value)).toContain(reply.id);
    expect(text(record?.value)).not.toContain(sent.token);
  });

  it('🔁 rerolls into a new message with a new seed, linked to the original, charged to the reactor', async () => {
    const { reply } = await imagine('alice', { prompt: 'a green square', seed: 7, steps: 20 });
    await waitFinished(stack.emulator, reply.id);
    await rerollOffered(reply.id);
    const before = stack.emulator.messages().length;
    stack.emulator.addReaction({ user: 'bob', messageId: reply.id, emoji: '🔁' });
    const reroll = await stack.emulator.waitFor(
      () => stack.emulator.messages().find((m) => m.referenceMessageId === reply.id),
      { what: 'reroll message' },
    );
    expect(stack.emulator.messages().length).toBeGreaterThan(before);
    const done = await waitFinished(stack.emulator, reroll.id);
    expect(done.content).toMatch(/^✅ Done/u);
    expect(embedField(done, 'Seed')).not.toBe('7');
    expect(done.attachments[0]!.filename).toBe(`tessera-${embedField(done, 'Seed')}.png`);
    const embed = done.embeds[0] as { description: string };
    expect(embed.description).toContain(reply.id);
    expect(embed.description).toContain(`<@${stack.emulator.users.bob!.id}>`);
    const entry = await stack.farm.quotas.get(
      `usage.${stack.emulator.guild.id}.${stack.emulator.users.bob!.id}`,
    );
    expect(JSON.parse(new TextDecoder().decode(entry!.value)).day.jobs).toHaveLength(1);
  });

  it('❌ during a render stops the renderer within a second and refunds the quota once', async () => {
    const { reply, sent } = await imagine('alice', { prompt: 'a yellow triangle', steps: 400 });
    await firstFrame(reply.id);
    const events: { type: string; at: number }[] = [];
    const sub = stack.farm.nc.subscribe(terminalEventSubject(sent.id), {
      callback: (_e, msg) => {
        const d = decodeMessage(JobEvent, msg.data);
        if (d.ok) events.push({ type: d.value.type, at: Date.now() });
      },
    });
    const frames: number[] = [];
    const frameSub = stack.farm.nc.subscribe(`tessera.frames.${sent.id}`, {
      callback: () => void frames.push(Date.now()),
    });
    const t0 = Date.now();
    stack.emulator.addReaction({ user: 'alice', messageId: reply.id, emoji: '❌' });
    const done = await waitFinished(stack.emulator, reply.id);
    // The bot hears the event on its own connection and may finish the message before this
    // connection has handed us the same event: wait for it (its arrival time is what is checked).
    await waitUntil(
      () => events.some((e) => e.type === 'cancelled'),
      5000,
      () => 'no cancelled event',
    );
    sub.unsubscribe();
    frameSub.unsubscribe();
    const cancelled = events.find((e) => e.type === 'cancelled');
    expect(cancelled).toBeDefined();
    expect(cancelled!.at - t0).toBeLessThan(1000);
    expect(frames.filter((f) => f > cancelled!.at + 200)).toEqual([]);
    expect(done.content).toMatch(/^🛑 Cancelled/u);
    const key = `usage.${stack.emulator.guild.id}.${stack.emulator.users.alice!.id}`;
    const usage = JSON.parse(new TextDecoder().decode((await stack.farm.quotas.get(key))!.value)) as {
      day: { jobs: string[] };
      active: string[];
    };
    expect(usage.day.jobs).not.toContain(sent.id);
    expect(usage.active).not.toContain(sent.id);
    const revision = (await stack.farm.quotas.get(key))!.revision;
    // A redelivered terminal event settles again: nothing changes, nothing is refunded twice.
    await stack.bot.renders.onEvent({
      v: 1,
      type: 'cancelled',
      jobId: sent.id,
      by: 'x',
      at: new Date().toISOString(),
    });
    expect((await stack.farm.quotas.get(key))!.revision).toBe(revision);
  });

  it('lets a moderator cancel someone else’s render, and ignores ❌ from anyone else', async () => {
    const { reply } = await imagine('alice', { prompt: 'a white circle', steps: 400 });
    await firstFrame(reply.id);
    stack.emulator.addReaction({ user: 'bob', messageId: reply.id, emoji: '❌' });
    // The bot takes bob's ❌ away and the render goes on.
    await stack.emulator.waitFor(
      () =>
        stack.emulator.message(reply.id)?.reactions.get('❌')?.has(stack.emulator.users.bob!.id) === false
          ? true
          : undefined,
      { what: "bob's ❌ to be removed" },
    );
    expect(stack.emulator.message(reply.id)!.content).toMatch(/^🎨 Rendering/u);
    stack.emulator.addReaction({ user: 'mia', messageId: reply.id, emoji: '❌' });
    const done = await waitFinished(stack.emulator, reply.id);
    expect(done.content).toMatch(/^🛑 Cancelled/u);
    expect((done.embeds[0] as { description: string }).description).toContain(
      `Cancelled by** <@${stack.emulator.users.mia!.id}>`,
    );
  });

  it('lands the final frame through a 429 storm with at most one edit in flight per message', async () => {
    const { reply } = await imagine('bob', { prompt: 'a blue circle', steps: 60 });
    await firstFrame(reply.id);
    stack.emulator.inject429({ durationMs: 2500, retryAfterMs: 300, method: 'PATCH' });
    const done = await waitFinished(stack.emulator, reply.id);
    expect(done.content).toMatch(/^✅ Done/u);
    expect(done.attachments[0]!.filename).toMatch(/^tessera-\d+\.png$/);
    expect(stack.emulator.count429()).toBeGreaterThan(0);
    expect(stack.emulator.maxEditsInFlight(reply.id)).toBe(1);
    expect(stack.bot.renders.totals.maxInFlight).toBeLessThanOrEqual(1);
  });

  it('keeps editing through the channel when the interaction token expires mid-render', async () => {
    const { reply, sent } = await imagine('alice', { prompt: 'a red square', steps: 60 });
    await firstFrame(reply.id);
    stack.emulator.expireInteractionToken(sent.id);
    const done = await waitFinished(stack.emulator, reply.id);
    expect(done.content).toMatch(/^✅ Done/u);
    const last = done.revisions.at(-1)!;
    expect(last.via).toBe('channel');
    expect(last.attachments[0]!.filename).toMatch(/^tessera-\d+\.png$/);
    expect(stack.emulator.requests().some((r) => r.code === 50027)).toBe(true);
  });

  it('switches to the channel message by itself before the 15-minute token runs out', async () => {
    const { reply } = await imagine('bob', { prompt: 'a purple square', steps: 60 });
    await firstFrame(reply.id);
    skewMs = 14 * 60_000 + 1000;
    try {
      const done = await waitFinished(stack.emulator, reply.id);
      expect(done.content).toMatch(/^✅ Done/u);
      expect(done.revisions.at(-1)!.via).toBe('channel');
      expect(done.revisions.some((r) => r.via === 'webhook')).toBe(true);
      // Proactive: the token still worked, nothing was refused.
      expect(
        stack.emulator
          .requests()
          .filter((r) => r.messageId === reply.id && r.status >= 400 && r.status !== 429),
      ).toEqual([]);
    } finally {
      skewMs = 0;
    }
  });

  it('completes the message after the bot is killed and restarted mid-render', async () => {
    const { reply } = await imagine('alice', { prompt: 'a green circle', steps: 120 });
    await firstFrame(reply.id);
    await stack.restartBot();
    const done = await waitFinished(stack.emulator, reply.id, 90_000);
    expect(done.content).toMatch(/^✅ Done/u);
    expect(done.attachments[0]!.filename).toMatch(/^tessera-\d+\.png$/);
    await rerollOffered(reply.id);
    // And reactions on that pre-restart message still work.
    stack.emulator.addReaction({ user: 'alice', messageId: reply.id, emoji: '❌' });
    await stack.emulator.waitFor(() => stack.emulator.message(reply.id)?.deleted || undefined, {
      what: 'the finished render to be deleted',
    });
  });

  it('starts from an init image given as an attachment', async () => {
    const png = new Uint8Array(
      await sharp({ create: { width: 64, height: 64, channels: 3, background: '#cc2222' } })
        .png()
        .toBuffer(),
    );
    const sent = stack.emulator.sendSlashCommand({
      user: 'bob',
      command: 'imagine',
      options: {
        prompt: 'a red circle',
        steps: 10,
        init_image: { filename: 'start.png', data: png, contentType: 'image/png' },
      },
    });
    const reply = await sent.response();
    const done = await waitFinished(stack.emulator, reply.id);
    expect(done.content).toMatch(/^✅ Done/u);
    const job = await getJob(stack.farm, sent.id);
    expect(job?.initImage?.key).toMatch(/start\.png$/);
    expect([...(await stack.farm.images.getBlob(job!.initImage!.key))!]).toEqual([...png]);
  });

  it('never pings anyone', () => {
    expect(pingingMessages(stack.emulator)).toEqual([]);
  });

  it('finishes the message when the bot process is SIGKILLed mid-render and started again', async () => {
    // Hand the application over to real `tessera bot` processes for this test.
    await stack.bot.stop();
    const env = {
      ...stack.nats.env('bot'),
      DISCORD_TOKEN: stack.emulator.botToken,
      DISCORD_API_BASE: stack.emulator.apiBase,
      LOG_LEVEL: 'warn',
    };
    const first = spawnBot(env);
    await stack.emulator.waitFor(() => stack.emulator.connectedBots() === 1 || undefined, {
      timeoutMs: 60_000,
      what: 'the bot process to connect',
    });
    const { reply } = await imagine('alice', { prompt: 'a blue triangle', steps: 80 });
    await firstFrame(reply.id);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const second = spawnBot(env);
    try {
      const done = await waitFinished(stack.emulator, reply.id, 90_000);
      expect(done.content).toMatch(/^✅ Done/u);
      expect(done.attachments[0]!.filename).toMatch(/^tessera-\d+\.png$/);
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => (second.exitCode !== null ? r(undefined) : second.once('exit', r)));
    }
  });
});
