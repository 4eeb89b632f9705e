/**
 * The buttons under finished renders, end to end: the real discord.js bot against the local
 * Discord emulator (pretend users click and submit modals), a real nats-server and a renderer
 * process on the bundled model. One stack for the whole file.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageFlag, type StoredMessage } from '../../deploy/playground/emulator/index.js';
import { getJob, type RenderJob } from '../../shared/src/index.js';
import { buttonsOf, clickButton, waitFinished } from '../support/discord-helpers.js';
import { startDiscordStack, type DiscordStack } from '../support/discord-stack.js';

let stack: DiscordStack;

beforeAll(async () => {
  stack = await startDiscordStack({
    emulator: {
      users: [
        { name: 'alice' },
        { name: 'bob' },
        { name: 'carol' },
        { name: 'dave' },
        { name: 'erin' },
        { name: 'frank' },
        { name: 'mia', roles: ['moderator'] },
        { name: 'olivia' },
      ],
    },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const isEphemeral = (m: StoredMessage) => (m.flags & MessageFlag.Ephemeral) !== 0;

/** Sends /imagine and waits for the finished render with its buttons. */
async function rendered(user: string, options: Record<string, string | number>): Promise<StoredMessage> {
  const sent = stack.emulator.sendSlashCommand({ user, command: 'imagine', options });
  const reply = await sent.response();
  await waitFinished(stack.emulator, reply.id);
  return withButtons(reply.id);
}

/** The message once its buttons are there (the final edit carries them). */
function withButtons(messageId: string): Promise<StoredMessage> {
  return stack.emulator.waitFor(
    () => {
      const m = stack.emulator.message(messageId);
      return m && buttonsOf(m).length > 0 ? m : undefined;
    },
    { timeoutMs: 60_000, what: `buttons under ${messageId}` },
  );
}

/** The private answer a click ends with (after "thinking…"). */
async function answerTo(sent: ReturnType<typeof clickButton>): Promise<StoredMessage> {
  const first = await sent.response();
  return stack.emulator.waitFor(
    () => {
      const m = stack.emulator.message(first.id);
      return m && m.content !== '' ? m : undefined;
    },
    { what: `an answer to click ${sent.id}` },
  );
}

/** Clicks a button and returns the click's id (the job id of a render it starts) and its answer. */
async function click(user: string, messageId: string, label: string) {
  const sent = clickButton(stack.emulator, { user, messageId, label });
  return { id: sent.id, answer: await answerTo(sent) };
}

/** The render message a click's answer links to. */
function startedMessage(answer: StoredMessage): string {
  const id = /started: https:\/\/discord\.com\/channels\/\d+\/\d+\/(\d+)/u.exec(answer.content)?.[1];
  if (!id) throw new Error(`no render started: ${answer.content}`);
  return id;
}

async function jobOf(jobId: string): Promise<RenderJob> {
  const job = await getJob(stack.farm, jobId);
  if (!job) throw new Error(`no job ${jobId}`);
  return job;
}

const labels = (m: StoredMessage) => buttonsOf(m).map((b) => b.label);

describe('buttons under a finished render', () => {
  let parent: StoredMessage;
  beforeAll(async () => {
    parent = await rendered('alice', { prompt: 'a red circle on a blue background', seed: 11, steps: 20 });
  }, 90_000);

  it('shows Reroll, Variations, Zoom video, Edit, Replay, Delete (no Upscale: tiny-shapes has one size) and keeps 🔁 ❌', async () => {
    expect(labels(parent)).toEqual(['Reroll', 'Variations', 'Zoom video', 'Edit', 'Replay', 'Delete']);
    // 🔁 comes last, after the final edit.
    await stack.emulator.waitFor(
      () =>
        stack.emulator.message(parent.id)?.reactions.get('🔁')?.has(stack.emulator.applicationId) ||
        undefined,
      { what: 'the bot to add 🔁' },
    );
    expect(parent.reactions.get('❌')?.has(stack.emulator.applicationId)).toBe(true);
  });

  it('Reroll: a new render with a new seed in its own message, linked to its parent, charged to the clicker', async () => {
    const { id, answer } = await click('bob', parent.id, 'Reroll');
    expect(isEphemeral(answer)).toBe(true);
    const childId = startedMessage(answer);
    const child = await withButtons(childId);
    expect(child.content).toMatch(/^✅ Done/u);
    expect(child.referenceMessageId).toBe(parent.id);
    const embed = child.embeds[0] as { description: string };
    expect(embed.description).toContain(`🔁 Reroll of https://discord.com/channels/`);
    expect(embed.description).toContain(`<@${stack.emulator.users.bob!.id}>`);
    const job = await jobOf(id);
    expect(job.parentJobId).toBe(parent.interactionId);
    expect(job.seed).not.toBe(11);
    expect(job.requester.userId).toBe(stack.emulator.users.bob!.id);
  });

  it('Variations: this picture as init image, a new seed', async () => {
    const { id, answer } = await click('carol', parent.id, 'Variations');
    const child = await withButtons(startedMessage(answer));
    expect(child.content).toMatch(/^✅ Done/u);
    expect((child.embeds[0] as { description: string }).description).toContain('🎲 Variation of');
    const job = await jobOf(id);
    expect(job.initImage?.key).toMatch(new RegExp(`^renders/${parent.interactionId}/attempt-\\d+\\.png$`));
    expect(job.seed).not.toBe(11);
  });

  it('Zoom video: a zoom job from this picture', async () => {
    const { id, answer } = await click('dave', parent.id, 'Zoom video');
    const child = await waitFinished(stack.emulator, startedMessage(answer));
    expect(child.content).toMatch(/^✅ Done/u);
    const job = await jobOf(id);
    expect(job.zoomEvery).toBeGreaterThan(0);
    expect(job.zoomScale).toBeDefined();
    expect(job.initImage?.key).toMatch(/^renders\//u);
    // The video itself reaches Discord: an animated WebP of about 25 frames.
    expect(child.attachments[0]!.filename).toMatch(/\.webp$/u);
    const meta = await sharp(Buffer.from(child.attachments[0]!.data), { animated: true }).metadata();
    expect(meta.pages).toBeGreaterThan(5);
  });

  it('Edit: a modal pre-filled from the render; the submitted fields render as its child', async () => {
    const sent = clickButton(stack.emulator, { user: 'erin', messageId: parent.id, label: 'Edit' });
    const modal = await sent.modal();
    const values = Object.fromEntries(
      modal.components.flatMap((row) =>
        'components' in row ? row.components.map((c) => [c.custom_id, c.value]) : [],
      ),
    );
    expect(values).toMatchObject({
      prompt: 'a red circle on a blue background',
      seed: '11',
      steps: '20',
      size: '64x64',
    });
    const submitted = stack.emulator.submitModal({
      interactionId: sent.id,
      values: { prompt: 'a yellow square on a purple background', seed: '5' },
    });
    const answer = await answerTo(submitted);
    const child = await waitFinished(stack.emulator, startedMessage(answer));
    expect(child.content).toMatch(/^✅ Done/u);
    expect((child.embeds[0] as { description: string }).description).toMatch(/yellow square.*✏️ Edit of/su);
    const job = await jobOf(submitted.id);
    expect(job).toMatchObject({ seed: 5, steps: 20, parentJobId: parent.interactionId });
  });

  it('Replay: the /imagine command it gives makes the same picture, byte for byte', async () => {
    const { answer } = await click('bob', parent.id, 'Replay');
    expect(isEphemeral(answer)).toBe(true);
    const command = /\/imagine prompt:(.+?) seed:(\d+) steps:(\d+) size:(\S+) quality:(\S+)/u.exec(
      answer.content,
    );
    expect(command).not.toBeNull();
    expect(answer.content).toContain(
      "npx tessera imagine 'a red circle on a blue background:1' --seed 11 --steps 20",
    );
    expect(answer.content).toMatch(/this render · seed 11 — the original/u);
    const [, prompt, seed, steps, size, quality] = command!;
    const again = await rendered('olivia', {
      prompt: prompt!,
      seed: Number(seed),
      steps: Number(steps),
      size: size!,
      quality: quality!,
    });
    expect(Buffer.from(again.attachments[0]!.data).equals(Buffer.from(parent.attachments[0]!.data))).toBe(
      true,
    );
  });

  it('Delete: refused to someone else; the requester deletes', async () => {
    const refused = (await click('bob', parent.id, 'Delete')).answer;
    expect(refused.content).toMatch(/Only the person who asked/u);
    const visible = () => stack.emulator.messages().some((m) => m.id === parent.id);
    expect(visible()).toBe(true);
    const done = (await click('alice', parent.id, 'Delete')).answer;
    expect(done.content).toMatch(/Deleted/u);
    expect(visible()).toBe(false);
  });
});

describe('clicks that must not go wrong', () => {
  it('works on a message posted before a bot restart', async () => {
    const before = await rendered('alice', { prompt: 'a green triangle', seed: 3, steps: 10 });
    await stack.restartBot();
    const { id, answer } = await click('frank', before.id, 'Reroll');
    const child = await waitFinished(stack.emulator, startedMessage(answer));
    expect(child.content).toMatch(/^✅ Done/u);
    expect((await jobOf(id)).parentJobId).toBe(before.interactionId);
  });

  it('lands the render through a 429 storm', async () => {
    const m = await rendered('alice', { prompt: 'a white circle', seed: 4, steps: 10 });
    const before = stack.emulator.count429();
    stack.emulator.inject429({ durationMs: 2500, retryAfterMs: 300, path: /\/channels\// });
    const { answer } = await click('mia', m.id, 'Reroll');
    const child = await waitFinished(stack.emulator, startedMessage(answer));
    expect(child.content).toMatch(/^✅ Done/u);
    expect(stack.emulator.count429()).toBeGreaterThan(before);
    expect(stack.emulator.maxEditsInFlight(child.id)).toBeLessThanOrEqual(1);
  });

  it('refuses a member over quota politely and charges nothing', async () => {
    const m = await rendered('alice', { prompt: 'a black square', seed: 6, steps: 10 });
    const carol = stack.emulator.users.carol!.id;
    const set = stack.emulator.sendSlashCommand({
      user: 'mia',
      command: 'quota',
      subcommand: 'set',
      options: { target: { userId: carol }, renders: 0, per: 'day' } as never,
    });
    await answerTo(set);
    const usageBefore = await stack.farm.quotas.get(`usage.${stack.emulator.guild.id}.${carol}`);
    const posted = stack.emulator.messages().length;
    const { id, answer } = await click('carol', m.id, 'Variations');
    expect(isEphemeral(answer)).toBe(true);
    expect(answer.content).toMatch(/switched off for you/u);
    const usageAfter = await stack.farm.quotas.get(`usage.${stack.emulator.guild.id}.${carol}`);
    expect(usageAfter?.revision).toBe(usageBefore?.revision);
    expect(await getJob(stack.farm, id)).toBeUndefined();
    expect(stack.emulator.messages().filter((x) => !isEphemeral(x))).toHaveLength(
      stack.emulator
        .messages()
        .slice(0, posted)
        .filter((x) => !isEphemeral(x)).length,
    );
  });

  it('starts exactly one render for 10 rapid clicks by one member', async () => {
    const m = await rendered('alice', { prompt: 'a blue triangle', seed: 8, steps: 10 });
    const sent = Array.from({ length: 10 }, () =>
      clickButton(stack.emulator, { user: 'olivia', messageId: m.id, label: 'Reroll' }),
    );
    const answers = await Promise.all(sent.map(answerTo));
    const started = answers.filter((a) => /started:/u.test(a.content));
    expect(started).toHaveLength(1);
    expect(answers.filter((a) => /try again in/u.test(a.content))).toHaveLength(9);
    await waitFinished(stack.emulator, startedMessage(started[0]!));
    const jobs = await Promise.all(sent.map((s) => getJob(stack.farm, s.id)));
    expect(jobs.filter(Boolean)).toHaveLength(1);
  });
});

describe('Upscale, on a model with a larger size (the test engine renders any size)', () => {
  let upscaling: DiscordStack;
  beforeAll(async () => {
    upscaling = await startDiscordStack({
      renderer: 'test-engine',
      modelFacts: {
        sizes: [
          [64, 64],
          [128, 128],
        ],
      },
    });
  }, 120_000);
  afterAll(async () => {
    await upscaling?.stop();
  });

  it('shows Upscale and renders the next larger size from this picture with fewer steps', async () => {
    const e = upscaling.emulator;
    const sent = e.sendSlashCommand({
      user: 'alice',
      command: 'imagine',
      options: { prompt: 'a red disc', steps: 60 },
    });
    const reply = await sent.response();
    await waitFinished(e, reply.id);
    const m = await e.waitFor(
      () => {
        const x = e.message(reply.id);
        return x && buttonsOf(x).length > 0 ? x : undefined;
      },
      { what: 'buttons' },
    );
    expect(labels(m)).toEqual(['Reroll', 'Variations', 'Upscale', 'Zoom video', 'Edit', 'Replay', 'Delete']);
    const click = clickButton(e, { user: 'bob', messageId: m.id, label: 'Upscale' });
    const first = await click.response();
    const answer = await e.waitFor(
      () => {
        const x = e.message(first.id);
        return x && x.content !== '' ? x : undefined;
      },
      { what: 'the answer' },
    );
    const child = await waitFinished(e, startedMessage(answer));
    expect(child.content).toMatch(/^✅ Done/u);
    expect((child.embeds[0] as { description: string }).description).toContain('🔍 Upscale of');
    const job = await getJob(upscaling.farm, click.id);
    expect(job).toMatchObject({ width: 128, height: 128, parentJobId: sent.id });
    expect(job!.steps).toBeLessThan(60);
    expect(job!.initImage?.key).toMatch(new RegExp(`^renders/${sent.id}/`));
  });
});
