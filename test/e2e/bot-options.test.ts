/**
 * `/imagine options:` end to end: the real discord.js client against the local Discord emulator,
 * a real nats-server and a renderer process on the bundled model. generate.py's options reach the
 * job and the render; bad options are refused privately and nothing is queued.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageFlag, type StoredMessage } from '../../deploy/playground/emulator/index.js';
import { jobsStream, RenderJob } from '../../shared/src/index.js';
import { embedField, waitFinished } from '../support/discord-helpers.js';
import { startDiscordStack, type DiscordStack } from '../support/discord-stack.js';

let stack: DiscordStack;

beforeAll(async () => {
  stack = await startDiscordStack({ emulator: { users: [{ name: 'alice' }, { name: 'bob' }] } });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const isEphemeral = (m: StoredMessage) => (m.flags & MessageFlag.Ephemeral) !== 0;

/** Sends /imagine and returns the first answer with content (a refusal or the render message). */
async function imagine(user: string, options: Record<string, string | number>) {
  const sent = stack.emulator.sendSlashCommand({ user, command: 'imagine', options });
  await sent.response();
  const reply = await stack.emulator.waitFor(
    () => stack.emulator.messages().find((m) => m.interactionId === sent.id && m.content !== ''),
    { what: 'an answer to /imagine' },
  );
  return { sent, reply };
}

async function submittedJob(jobId: string): Promise<RenderJob> {
  const entry = await stack.farm.jobs.get(jobId);
  return RenderJob.parse(JSON.parse(new TextDecoder().decode(entry!.value)));
}

describe('/imagine options end to end', () => {
  it('renders with generate.py’s options and a story, and says which part the picture ended on', async () => {
    const { sent, reply } = await imagine('alice', {
      prompt: 'a red circle on a blue background ^ a green square on a white background',
      seed: 11,
      steps: 24,
      options: 'loop=reference cutn=4 augments=Af,Ji optimiser=AdamW lr=0.2 story_every=8',
    });
    expect(isEphemeral(reply)).toBe(false);
    const done = await waitFinished(stack.emulator, reply.id, 90_000);
    expect(done.content, (done.embeds[0] as { description?: string })?.description).toMatch(/^✅ Done/u);
    const job = await submittedJob(sent.id);
    expect(job).toMatchObject({
      loop: 'reference',
      cutn: 4,
      augments: ['Af', 'Ji'],
      optimiser: 'AdamW',
      lr: 0.2,
      storyEvery: 8,
      story: [[{ text: 'a green square on a white background', weight: 1 }]],
    });
    expect(embedField(done, 'Options')).toBe(
      '`loop=reference cutn=4 augments=Af,Ji optimiser=AdamW lr=0.2 story_every=8`',
    );
    // 24 steps, a part every 8: parts 1, 2, 1 — the last steps ran part 1
    expect((done.embeds[0] as { description: string }).description).toContain(
      '**Story:** ended on part 1/2: a red circle on a blue background',
    );
    expect(done.attachments[0]!.filename).toBe('tessera-11.png');
  });

  it('attaches a zoom video as an animated WebP', async () => {
    const { sent, reply } = await imagine('alice', {
      prompt: 'a yellow triangle on a black background',
      seed: 3,
      steps: 20,
      options: 'zoom_every=5 zoom_scale=1.05 zoom_shift_x=1',
    });
    const done = await waitFinished(stack.emulator, reply.id, 90_000);
    expect(done.content).toMatch(/^✅ Done/u);
    expect((await submittedJob(sent.id)).zoomEvery).toBe(5);
    expect(done.attachments).toHaveLength(1);
    expect(done.attachments[0]!.filename).toBe('tessera-3.webp');
    const meta = await sharp(Buffer.from(done.attachments[0]!.data), { animated: true }).metadata();
    expect(meta.format).toBe('webp');
    // a frame before steps 0, 5, 10, 15 and the final picture
    expect(meta.pages).toBe(5);
    const result = await stack.farm.results.get(sent.id);
    const event = JSON.parse(new TextDecoder().decode(result!.value)) as { video?: { key: string } };
    expect(event.video?.key).toBe(`renders/${sent.id}/attempt-1.webp`);
  });

  it.each([
    ['augments=Af,Xy loop=reference', /unknown augment 'Xy'/],
    ['cutn=0', /cutn must be a whole number from 1 to 256/],
    ['lr=0', /lr must be a number above 0/],
    ['zoom_every=1', /1000 frames .* at most 500/],
  ])('refuses options %s privately; nothing is queued', async (options, message) => {
    const before = (await stack.farm.jsm.streams.info(jobsStream())).state.last_seq;
    const { reply } = await imagine('bob', { prompt: 'a red circle', steps: 1000, options });
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.content).toMatch(/^🙅 /u);
    expect(reply.content).toMatch(message);
    expect((await stack.farm.jsm.streams.info(jobsStream())).state.last_seq).toBe(before);
  });
});
