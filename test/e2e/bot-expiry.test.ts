/**
 * Nothing waits forever, end to end: a queued /imagine past the farm's maximum queue time ends
 * `failed: expired` in its Discord message and is refunded; with no renderer online, /imagine is
 * refused at once, privately, and nothing is queued or charged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageFlag, type StoredMessage } from '../../deploy/playground/emulator/index.js';
import { jobsStream } from '../../shared/src/index.js';
import { waitFinished } from '../support/discord-helpers.js';
import { startDiscordStack, type DiscordStack } from '../support/discord-stack.js';

let stack: DiscordStack;

beforeAll(async () => {
  stack = await startDiscordStack({
    emulator: { users: [{ name: 'alice' }, { name: 'bob' }, { name: 'carol' }] },
    rendererEnv: { JOB_MAX_QUEUE_S: '2', RENDERER_SWEEP_INTERVAL_MS: '300' },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const isEphemeral = (m: StoredMessage) => (m.flags & MessageFlag.Ephemeral) !== 0;

async function imagine(user: string, options: Record<string, unknown>) {
  const sent = stack.emulator.sendSlashCommand({ user, command: 'imagine', options: options as never });
  await sent.response();
  const reply = await stack.emulator.waitFor(
    () => stack.emulator.messages().find((m) => m.interactionId === sent.id && m.content !== ''),
    { what: 'an answer to /imagine' },
  );
  return { sent, reply };
}

async function chargedJobs(user: string): Promise<string[]> {
  const id = stack.emulator.users[user]!.id;
  const entry = await stack.farm.quotas.get(`usage.${stack.emulator.guild.id}.${id}`);
  if (entry?.operation !== 'PUT') return [];
  return (JSON.parse(new TextDecoder().decode(entry.value)) as { day: { jobs: string[] } }).day.jobs;
}

describe('/imagine never waits forever', () => {
  it('ends a job queued past the maximum queue time as expired, refunded, while the running one finishes', async () => {
    const first = await imagine('alice', { prompt: 'a red circle on a blue background', steps: 400 });
    await stack.emulator.waitFor(
      () => (/Rendering/u.test(stack.emulator.message(first.reply.id)?.content ?? '') ? true : undefined),
      { timeoutMs: 60_000, what: 'the first render to start' },
    );
    const second = await imagine('bob', { prompt: 'a green square on a white background', steps: 20 });
    const expired = await waitFinished(stack.emulator, second.reply.id, 20_000);
    expect(expired.content).toMatch(/^⚠️ Failed · not counted against your quota/u);
    expect((expired.embeds[0] as { description: string }).description).toMatch(
      /Why:.*No renderer of tiny-shapes took this job within 2 seconds/s,
    );
    expect(await chargedJobs('bob')).not.toContain(second.sent.id);

    const done = await waitFinished(stack.emulator, first.reply.id, 60_000);
    expect(done.content).toMatch(/^✅ Done/u);
    expect(await chargedJobs('alice')).toContain(first.sent.id);
  });

  it('refuses /imagine at once and privately when no renderer serves the model; nothing is queued or charged', async () => {
    await stack.stopRenderer();
    // The bot remembers the renderers it saw for 5 s.
    await new Promise((r) => setTimeout(r, 5500));
    const before = (await stack.farm.jsm.streams.info(jobsStream())).state.last_seq;
    const { sent, reply } = await imagine('carol', { prompt: 'a blue triangle on a black background' });
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.content).toMatch(/^🙅 No renderer is online, so a render of tiny-shapes would only wait/u);
    expect((await stack.farm.jsm.streams.info(jobsStream())).state.last_seq).toBe(before);
    expect(await chargedJobs('carol')).not.toContain(sent.id);
  });
});
