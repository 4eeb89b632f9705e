/**
 * Fair share through Discord: the real discord.js bot in two servers of the emulator, real NATS,
 * the real scheduler process and two renderer processes with the fixed-duration test engine.
 * Server A floods (5 members × 4 renders); then a member of server B asks for one. B's render starts
 * within a few job durations, ahead of most of A's backlog, and no reply ever shows a position that
 * went up — except the one place each of A's waiting renders honestly loses when B's overtakes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REST } from 'discord.js';
import type { Subscription } from '@nats-io/transport-node';
import { deployCommands } from '../../bot/src/cli/commands.js';
import type { SentInteraction, StoredMessage } from '../../deploy/playground/emulator/index.js';
import {
  JobEvent,
  RenderJob,
  allEventsSubject,
  allFramesSubject,
  decodeMessage,
} from '../../shared/src/index.js';
import { waitFinished } from '../support/discord-helpers.js';
import { startDiscordStack, type DiscordStack } from '../support/discord-stack.js';
import { waitUntil } from '../support/farm-harness.js';

/** Job duration D ≈ STEPS × STEP_MS plus the renderer's upload and pull (≈ 1 s in all). */
const STEPS = 10;
const STEP_MS = 80;
const A_MEMBERS = ['a1', 'a2', 'a3', 'a4', 'a5'];
const PER_MEMBER = 4;

let stack: DiscordStack;
let guildA: string;
let guildB: string;
let events: Subscription;
let frames: Subscription;
/** Positions the scheduler announced, per job, in order. */
const announced = new Map<string, number[]>();
/** Per job: when it arrived in intake, started and ended (this process's clock). */
const seen = new Map<string, { arrived?: number; started?: number; ended?: number }>();

const note = (jobId: string, what: 'arrived' | 'started' | 'ended'): void => {
  const entry = seen.get(jobId) ?? {};
  entry[what] ??= Date.now();
  seen.set(jobId, entry);
};

beforeAll(async () => {
  stack = await startDiscordStack({
    emulator: {
      moreGuilds: ['server B'],
      users: [
        ...A_MEMBERS.map((name) => ({ name })),
        { name: 'bea', roles: ['artist'] },
        { name: 'mia', roles: ['moderator'] },
      ],
    },
    renderers: 2,
    testEngine: true,
    testEngineStepMs: STEP_MS,
    scheduler: true,
  });
  guildA = stack.emulator.guilds[0]!.id;
  guildB = stack.emulator.guilds[1]!.id;
  const rest = new REST({ api: stack.emulator.apiBase }).setToken(stack.emulator.botToken);
  const applicationId = stack.emulator.applicationId;
  await deployCommands({ rest, applicationId, guildId: guildB, model: stack.model });
  events = stack.farm.nc.subscribe(allEventsSubject(), {
    callback: (_e, m) => {
      const d = decodeMessage(JobEvent, m.data, { name: 'job event' });
      if (!d.ok) return;
      const t = d.value.type;
      if (t === 'queued') note(d.value.jobId, 'arrived');
      else if (t === 'started') note(d.value.jobId, 'started');
      else if (t === 'done' || t === 'failed' || t === 'cancelled') note(d.value.jobId, 'ended');
    },
  });
  frames = stack.farm.nc.subscribe(allFramesSubject(), {
    callback: (_e, m) => {
      const d = decodeMessage(JobEvent, m.data, { name: 'frame' });
      if (d.ok && d.value.type === 'queued' && d.value.position !== undefined)
        announced.set(d.value.jobId, [...(announced.get(d.value.jobId) ?? []), d.value.position]);
    },
  });
}, 120_000);

afterAll(async () => {
  events?.unsubscribe();
  frames?.unsubscribe();
  await stack?.stop();
});

/** A command's answer once the bot has written it (ephemeral replies are deferred, then edited). */
async function answer(sent: SentInteraction): Promise<StoredMessage> {
  const reply = await sent.response();
  return stack.emulator.waitFor(
    () => {
      const m = stack.emulator.message(reply.id);
      return m && m.content !== '' ? m : undefined;
    },
    { what: 'an answer' },
  );
}

function imagine(user: string, guildId: string, prompt: string): SentInteraction {
  return stack.emulator.sendSlashCommand({
    user,
    guildId,
    command: 'imagine',
    options: { prompt, steps: STEPS, seed: 7 },
  });
}

/** Every position a reply showed, in order ("⏳ Queued · position N"). */
function positionsShown(m: StoredMessage): number[] {
  return m.revisions.flatMap((r) => {
    const p = /position (\d+)/u.exec(r.content);
    return p ? [Number(p[1])] : [];
  });
}

/** How far, in total, a sequence of positions went up. */
function totalRise(positions: number[]): number {
  let rise = 0;
  for (let i = 1; i < positions.length; i++) rise += Math.max(0, positions[i]! - positions[i - 1]!);
  return rise;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('fair share through Discord', () => {
  it("starts server B's render within a few job durations of a flood from server A", async () => {
    const mod = (guildId: string, subcommand: string, options: Record<string, unknown>) =>
      answer(
        stack.emulator.sendSlashCommand({
          user: 'mia',
          guildId,
          command: 'settings',
          subcommand,
          options: options as never,
        }),
      );
    expect((await mod(guildA, 'limits', { concurrent: PER_MEMBER })).content).toContain(
      `(waiting or running): ${PER_MEMBER}`,
    );
    const artist = stack.emulator.guilds[1]!.roles.artist!;
    expect((await mod(guildB, 'role-weight', { role: { roleId: artist }, weight: 2 })).content).toContain(
      `<@&${artist}> ×2`,
    );

    // The flood, in rounds (each member's k-th render), each round in intake before the next.
    const flood: SentInteraction[] = [];
    for (let k = 0; k < PER_MEMBER; k++) {
      const round = A_MEMBERS.map((m) => imagine(m, guildA, `a red disc from ${m} number ${k}`));
      await Promise.all(round.map((s) => s.response()));
      await waitUntil(() => round.every((s) => seen.get(s.id)?.arrived !== undefined), 15_000);
      flood.push(...round);
    }
    // B asks just after two of A's renders began, while the renderers are busy with A's flood…
    const startsSoFar = () => flood.filter((s) => seen.get(s.id)?.started !== undefined).length;
    const before = startsSoFar();
    await waitUntil(
      () => startsSoFar() >= before + 2,
      15_000,
      () => 'for two more of A to start',
    );
    // …and the scheduler has refilled the work queue's prefetch slot behind them (else B takes it).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sentAt = Date.now();
    const b = imagine('bea', guildB, 'a blue square from server B');
    const bReply = await b.response();
    await waitUntil(
      () => seen.get(b.id)?.started !== undefined,
      30_000,
      () => "for B's render to start",
    );
    const bWaitMs = seen.get(b.id)!.started! - sentAt;

    // /farm while A's backlog is still there: B's moderator sees the other server only as counts.
    const farm = await answer(
      stack.emulator.sendSlashCommand({ user: 'mia', guildId: guildB, command: 'farm' }),
    );
    const ownFarm = await answer(
      stack.emulator.sendSlashCommand({ user: 'a5', guildId: guildA, command: 'farm' }),
    );

    const done = await Promise.all(
      [...flood, b].map(async (s) => waitFinished(stack.emulator, (await s.response()).id, 60_000)),
    );
    expect(done.every((m) => m.content.startsWith('✅'))).toBe(true);

    // D: the measured duration of A's renders, started → ended.
    const d = median(flood.map((s) => seen.get(s.id)!.ended! - seen.get(s.id)!.started!));
    expect(bWaitMs, `B waited ${bWaitMs} ms with D = ${d} ms`).toBeLessThanOrEqual(3 * d + 1000);
    // Behaviour, not timing: most of A's flood, queued before B, started after it (FIFO: none).
    const aAfterB = flood.filter((s) => seen.get(s.id)!.started! > seen.get(b.id)!.started!).length;
    expect(aAfterB).toBeGreaterThanOrEqual(10);

    // B's position only ever went down. It shows one whenever the scheduler announced one; a render
    // released before the first announcement (a renderer was free at once) honestly has none.
    const bPositions = positionsShown(stack.emulator.message(bReply.id)!);
    const bAnnounced = announced.get(b.id) ?? [];
    expect(totalRise(bAnnounced), `the scheduler announced ${bAnnounced.join(' → ')} for B`).toBe(0);
    if (bAnnounced.length > 0) expect(bPositions.length).toBeGreaterThan(0);
    expect(totalRise(bPositions), `B showed ${bPositions.join(' → ')}`).toBe(0);
    // A's went down too, but for the one place B's render took from those it overtook.
    for (const [i, m] of done.slice(0, flood.length).entries()) {
      const shown = positionsShown(m);
      expect(totalRise(shown), `A's render ${i} showed ${shown.join(' → ')}`).toBeLessThanOrEqual(1);
    }

    // Role weights reach the job; /farm tells counts, never the other server's id.
    const bJob = await stack.farm.jobs.get(b.id);
    expect(RenderJob.parse(JSON.parse(new TextDecoder().decode(bJob!.value))).requester.weight).toBe(2);
    expect(farm.content).toMatch(
      /\*\*This server:\*\* \d+ waiting · \d+ with the renderers; 1 other server: \d+ waiting/u,
    );
    expect(farm.content).toContain('this server ×1');
    expect(farm.content).toContain(`<@&${artist}> ×2`);
    expect(farm.content).not.toContain(guildA);
    expect(ownFarm.content).toMatch(/#\d+ in line, starts in|rendering/u);
    expect(ownFarm.content).not.toContain('**This server:**');
  }, 90_000);
});
