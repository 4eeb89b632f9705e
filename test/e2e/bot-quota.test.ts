/**
 * Quotas, moderator commands, server settings and hostile prompts, end to end: the real
 * discord.js client against the local Discord emulator, real NATS and a renderer process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageFlag, type StoredMessage } from '../../deploy/playground/emulator/index.js';
import { pingingMessages, waitFinished } from '../support/discord-helpers.js';
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
        { name: 'erin', roles: ['artist'] },
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

/** Runs a command and returns the message the user ends up seeing (reply or follow-up). */
async function run(
  user: string,
  command: string,
  options: Record<string, unknown> = {},
  subcommand?: string,
): Promise<StoredMessage> {
  const sent = stack.emulator.sendSlashCommand({
    user,
    command,
    options: options as never,
    subcommand,
  });
  await sent.response();
  // Settled: an ephemeral answer, or the render message with content (not the "thinking…" placeholder).
  return stack.emulator.waitFor(
    () => {
      const mine = stack.emulator.messages().filter((m) => m.interactionId === sent.id);
      return (
        mine.find((m) => isEphemeral(m) && m.content !== '') ??
        mine.find((m) => !isEphemeral(m) && m.content !== '')
      );
    },
    { what: `an answer to /${command}` },
  );
}

describe('quotas and moderator commands', () => {
  it('refuses /quota set from a non-moderator, on the server side', async () => {
    const answer = await run(
      'alice',
      'quota',
      { target: { userId: stack.emulator.users.bob!.id }, renders: 100, per: 'day' },
      'set',
    );
    expect(isEphemeral(answer)).toBe(true);
    expect(answer.content).toMatch(/Only moderators/);
    const settings = await stack.farm.guildSettings.get(stack.emulator.guild.id);
    expect(
      settings?.value ? (JSON.parse(new TextDecoder().decode(settings.value)).userQuotas ?? {}) : {},
    ).toEqual({});
  });

  it('lets a moderator set a quota, then refuses politely once it is used up', async () => {
    const set = await run(
      'mia',
      'quota',
      { target: { userId: stack.emulator.users.bob!.id }, renders: 1, per: 'day' },
      'set',
    );
    expect(set.content).toMatch(/1 render per day/);
    const first = await run('bob', 'imagine', { prompt: 'a red circle', steps: 10 });
    expect(isEphemeral(first)).toBe(false);
    await waitFinished(stack.emulator, first.id);
    const second = await run('bob', 'imagine', { prompt: 'a blue square', steps: 10 });
    expect(isEphemeral(second)).toBe(true);
    expect(second.content).toMatch(/used all 1 render/);
    expect(second.content).toMatch(/refills in/);
    const show = await run('mia', 'quota', { user: { userId: stack.emulator.users.bob!.id } }, 'show');
    expect(show.content).toMatch(/has used 1 of 1 render per day \(user rule\): 0 left/);
    await run('mia', 'quota', { user: { userId: stack.emulator.users.bob!.id } }, 'reset');
    const third = await run('bob', 'imagine', { prompt: 'a blue square', steps: 10 });
    expect(isEphemeral(third)).toBe(false);
    await waitFinished(stack.emulator, third.id);
  });

  it('applies a role quota to the role’s members', async () => {
    const set = await run(
      'mia',
      'quota',
      { target: { roleId: stack.emulator.guild.roles.artist! }, renders: 0, per: 'day' },
      'set',
    );
    expect(set.content).toMatch(/Members with the role/);
    const refused = await run('erin', 'imagine', { prompt: 'a red circle', steps: 10 });
    expect(isEphemeral(refused)).toBe(true);
    expect(refused.content).toMatch(/switched off for you/);
    const show = await run('mia', 'quota', { user: { userId: stack.emulator.users.erin!.id } }, 'show');
    expect(show.content).toMatch(/0 render(s)? per day \(role rule\)/);
  });

  it('accepts exactly one of 20 concurrent /imagine at the last unit of quota', async () => {
    await run(
      'mia',
      'quota',
      { target: { userId: stack.emulator.users.dave!.id }, renders: 1, per: 'hour' },
      'set',
    );
    const sent = Array.from({ length: 20 }, (_, k) =>
      stack.emulator.sendSlashCommand({
        user: 'dave',
        command: 'imagine',
        options: { prompt: `a green circle`, steps: 10, seed: k },
      }),
    );
    await Promise.all(sent.map((s) => s.response()));
    const answers = await stack.emulator.waitFor(
      () => {
        const settled = sent.map((s) =>
          stack.emulator
            .messages({ includeDeleted: true })
            .filter((m) => m.interactionId === s.id && m.content !== '' && !m.deleted),
        );
        return settled.every((list) => list.length > 0) ? settled.map((l) => l[0]!) : undefined;
      },
      { what: 'all 20 answers', timeoutMs: 30_000 },
    );
    const accepted = answers.filter((m) => !isEphemeral(m));
    const refused = answers.filter((m) => isEphemeral(m));
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(19);
    for (const r of refused) expect(r.content).toMatch(/used all 1 render/);
    await waitFinished(stack.emulator, accepted[0]!.id);
  });

  it('applies server settings: banned words are refused privately, with the reason', async () => {
    const s = await run('mia', 'settings', { action: 'add', words: 'gory, spiders' }, 'banned');
    expect(s.content).toMatch(/“gory”/);
    const refused = await run('carol', 'imagine', { prompt: 'a Gory red circle' });
    expect(isEphemeral(refused)).toBe(true);
    expect(refused.content).toMatch(/does not allow “gory”/);
    const limits = await run('mia', 'settings', { max_steps: 50 }, 'limits');
    expect(limits.content).toMatch(/Max steps: 50/);
    const tooMany = await run('carol', 'imagine', { prompt: 'a red circle', steps: 80 });
    expect(tooMany.content).toMatch(/80 steps is more than this server allows \(50\)/);
    await run('mia', 'settings', { action: 'clear' }, 'banned');
    await run('mia', 'settings', { max_steps: 0 }, 'limits');
  });

  it('shows the renderer’s readable reason when it refuses a prompt, and refunds it', async () => {
    // The real tiny-shapes model knows a small vocabulary; the test engine refuses "gibberish".
    const prompt = stack.rendererKind === 'real' ? 'a purple elephant' : 'a purple gibberish';
    const word = stack.rendererKind === 'real' ? 'elephant' : 'gibberish';
    const answer = await run('carol', 'imagine', { prompt, steps: 10 });
    const done = await waitFinished(stack.emulator, answer.id);
    expect(done.content).toMatch(/^⚠️ Failed · not counted against your quota/u);
    expect((done.embeds[0] as { description: string }).description).toMatch(
      new RegExp(`Why:.*${word}`, 'is'),
    );
    const usage = await stack.farm.quotas.get(
      `usage.${stack.emulator.guild.id}.${stack.emulator.users.carol!.id}`,
    );
    expect(JSON.parse(new TextDecoder().decode(usage!.value)).day.jobs).not.toContain(answer.interactionId);
  });

  it('limits /imagine to the channels moderators allow', async () => {
    const art = stack.emulator.guild.channels.art!;
    const allow = await run('mia', 'settings', { action: 'allow', channel: { channelId: art } }, 'channels');
    expect(allow.content).toContain(`<#${art}>`);
    const refused = await run('carol', 'imagine', { prompt: 'a red circle', steps: 10 });
    expect(isEphemeral(refused)).toBe(true);
    expect(refused.content).toMatch(new RegExp(`not enabled in this channel.*<#${art}>`));
    const sent = stack.emulator.sendSlashCommand({
      user: 'carol',
      command: 'imagine',
      channelId: art,
      options: { prompt: 'a red circle', steps: 10 },
    });
    const reply = await sent.response();
    expect(reply.channelId).toBe(art);
    await waitFinished(stack.emulator, reply.id);
    await run('mia', 'settings', { action: 'everywhere' }, 'channels');
  });

  it('answers /farm with renderers, queue and the caller’s quota', async () => {
    const farm = await run('carol', 'farm');
    expect(isEphemeral(farm)).toBe(true);
    expect(farm.content).toMatch(/Renderers online:\*\* 1/);
    expect(farm.content).toMatch(/Queue:\*\* \d+ waiting/);
    expect(farm.content).toMatch(/left, refills in/);
  });
});

describe('hostile prompts', () => {
  const hostile: [string, string][] = [
    ['6 000 characters', 'a red circle '.repeat(462).slice(0, 6000)],
    ['control characters', 'a red\u0000\u0007\u001b[31m circle\u0085'],
    ['RTL overrides', '\u202ea red circle\u202c \u2067on blue\u2069'],
    ['@everyone and mentions', `@everyone @here <@${'1'.repeat(18)}> <@&${'2'.repeat(18)}> a red circle`],
    ['zalgo', 'a r̸̢̛̖̗̘̙̜̝̞̟̠̤̥̦̩̪̫̬̭̮̯̰̱̲̳̹̺̻̼͇͈͉͍͎̀́̂̃̄̅̆̇̈̉̊̋̌̍̎̏̐̑̒̓̔̽̾̿̀́͂̓̈́͆͊͋͌ͅ͏͓͔͕͖͙͚͐͑͒͗͛ͣͤͥͦͧͨͩͪͫͬͭͮͯ͘͜͟͢͝͞͠͡e̷d circle'],
    ['lone surrogates', 'a red \ud800 circle \udfff'],
    ['only invisible characters', '\u200b\u200d\u2060\ufeff'],
  ];

  it.each(hostile)('%s → a clear reply, no crash', async (_name, prompt) => {
    const answer = await run('carol', 'imagine', { prompt, steps: 10 });
    if (isEphemeral(answer)) {
      expect(answer.content.length).toBeGreaterThan(20);
    } else {
      const done = await waitFinished(stack.emulator, answer.id);
      // Rendered, or refused by the renderer with its readable reason (unknown words …).
      expect(done.content).toMatch(/^(✅|⚠️)/u);
      const embed = done.embeds[0] as { description: string };
      expect(embed.description).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u0000-\u0008]/);
      expect(embed.description).not.toMatch(/@everyone|@here/);
    }
  });

  it('pinged nobody in any message, and the bot still answers', async () => {
    expect(pingingMessages(stack.emulator)).toEqual([]);
    const farm = await run('olivia', 'farm');
    expect(farm.content).toMatch(/Renderers online/);
  });
});
