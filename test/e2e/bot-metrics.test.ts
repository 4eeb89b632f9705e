/** The bot's metrics count the message edits it sends and the 429s Discord answers. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFinished } from '../support/discord-helpers.js';
import { startDiscordStack, type DiscordStack } from '../support/discord-stack.js';

let stack: DiscordStack;
beforeAll(async () => {
  stack = await startDiscordStack({ testEngineStepMs: 25 });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

async function counter(name: 'discordEdits' | 'discordRateLimited'): Promise<number> {
  return (await stack.bot.metrics[name].get()).values[0]?.value ?? 0;
}

describe('bot metrics', () => {
  it('count the edits of a render and the 429s of a rate-limit storm', async () => {
    const sent = stack.emulator.sendSlashCommand({
      user: 'alice',
      command: 'imagine',
      options: { prompt: 'a red square', steps: 40 },
    });
    const reply = await sent.response();
    stack.emulator.inject429({ durationMs: 1500, retryAfterMs: 300, method: 'PATCH' });
    const done = await waitFinished(stack.emulator, reply.id);
    expect(done.content).toMatch(/^✅ Done/u);
    expect(stack.emulator.count429()).toBeGreaterThan(0);
    expect(await counter('discordRateLimited')).toBe(stack.emulator.count429());
    expect(await counter('discordEdits')).toBeGreaterThanOrEqual(2);
    const text = await stack.bot.metrics.registry.metrics();
    expect(text).toMatch(/tessera_discord_edits_total\{role="bot"\} [1-9]/);
    expect(text).toMatch(/tessera_queue_depth\{consumer="[^"]+",role="bot"\} \d+/);
  });
});
