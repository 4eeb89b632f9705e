/**
 * `/quota` and `/settings`: moderators only. The permission is checked here as well as by
 * `setDefaultMemberPermissions`, because server admins can open commands to anyone.
 */
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import {
  DEFAULT_MEMBER_WEIGHT,
  QuotaPeriod,
  RoleWeight,
  effectiveQuota,
  type GuildSettings,
} from '../core/guild-settings.js';
import { formatDuration, msUntilReset, remaining, used } from '../core/quota.js';
import { displayText } from '../core/text-safety.js';
import { messageLink } from '../render-service.js';
import { moderatorLines, ownRenderLines, schedulerQueueLine } from '../core/farm-view.js';
import type { BotContext } from './context.js';
import { isModeratorPermissions, memberRoleIds } from './permissions.js';
import { describeRule } from './quota-text.js';

const NO_PINGS = { parse: [] as [] };

async function replyPrivately(i: ChatInputCommandInteraction, content: string): Promise<void> {
  await i.reply({
    content: content.slice(0, 2000),
    flags: MessageFlags.Ephemeral,
    allowedMentions: NO_PINGS,
  });
}

async function requireModerator(i: ChatInputCommandInteraction, what: string): Promise<boolean> {
  if (isModeratorPermissions(i.memberPermissions)) return true;
  await replyPrivately(i, `🔒 Only moderators (Manage Server permission) can ${what}.`);
  return false;
}

export async function handleQuota(i: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (!i.guildId) return;
  const guildId = i.guildId;
  if (!(await requireModerator(i, 'change or view quotas'))) {
    ctx.log.info({ userId: i.user.id, sub: i.options.getSubcommand() }, '/quota refused: not a moderator');
    return;
  }
  const sub = i.options.getSubcommand(true);
  if (sub === 'set') {
    const target = i.options.get('target', true);
    const rule = {
      limit: i.options.getInteger('renders', true),
      per: QuotaPeriod.parse(i.options.getString('per', true)),
    };
    if (target.role) {
      const roleId = target.role.id;
      await ctx.settings.update(guildId, (s) => ({ ...s, roleQuotas: { ...s.roleQuotas, [roleId]: rule } }));
      await replyPrivately(i, `✅ Members with the role <@&${roleId}> may start ${describeRule(rule)}.`);
    } else if (target.user) {
      const userId = target.user.id;
      await ctx.settings.update(guildId, (s) => ({ ...s, userQuotas: { ...s.userQuotas, [userId]: rule } }));
      await replyPrivately(i, `✅ <@${userId}> may start ${describeRule(rule)}.`);
    } else {
      await replyPrivately(i, 'Please pick a member or a role.');
    }
    return;
  }
  if (sub === 'default') {
    const rule = {
      limit: i.options.getInteger('renders', true),
      per: QuotaPeriod.parse(i.options.getString('per', true)),
    };
    await ctx.settings.update(guildId, (s) => ({ ...s, defaultQuota: rule }));
    await replyPrivately(i, `✅ Everyone without their own quota may start ${describeRule(rule)}.`);
    return;
  }
  if (sub === 'reset') {
    const user = i.options.getUser('user', true);
    await ctx.quotas.reset(guildId, user.id);
    await replyPrivately(i, `✅ <@${user.id}>'s renders in the current windows were forgotten.`);
    return;
  }
  // show
  const settings = await ctx.settings.get(guildId);
  const user = i.options.getUser('user') ?? i.user;
  const member = i.guild ? await i.guild.members.fetch(user.id).catch(() => undefined) : undefined;
  const lines = [`**Server default:** ${describeRule(settings.defaultQuota)}`];
  for (const [roleId, rule] of Object.entries(settings.roleQuotas))
    lines.push(`Role <@&${roleId}>: ${describeRule(rule)}`);
  for (const [userId, rule] of Object.entries(settings.userQuotas))
    lines.push(`Member <@${userId}>: ${describeRule(rule)}`);
  lines.push('', await usageLine(ctx, settings, guildId, user.id, memberRoleIds(member)));
  await replyPrivately(i, lines.join('\n'));
}

/** "<@user> has used 3 of 5 renders per day; 2 left, refills in 4 h." */
export async function usageLine(
  ctx: BotContext,
  settings: GuildSettings,
  guildId: string,
  userId: string,
  roleIds: string[],
): Promise<string> {
  const rule = effectiveQuota(settings, userId, roleIds);
  const usage = await ctx.quotas.usage(guildId, userId);
  const now = ctx.now();
  return `<@${userId}> has used ${used(usage, rule.per, now)} of ${describeRule(rule)} (${rule.source} rule): ${remaining(usage, rule, now)} left, refills in ${formatDuration(msUntilReset(rule.per, now))}.`;
}

export async function handleSettings(i: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (!i.guildId) return;
  const guildId = i.guildId;
  if (!(await requireModerator(i, 'change server settings'))) return;
  const sub = i.options.getSubcommand(true);
  let s: GuildSettings;
  if (sub === 'channels') {
    const action = i.options.getString('action', true);
    const channel = i.options.getChannel('channel');
    if (action !== 'everywhere' && !channel) {
      await replyPrivately(i, 'Please pick a channel.');
      return;
    }
    s = await ctx.settings.update(guildId, (cur) => {
      if (action === 'everywhere') return { ...cur, allowedChannels: [] };
      const set = new Set(cur.allowedChannels);
      if (action === 'allow') set.add(channel!.id);
      else set.delete(channel!.id);
      return { ...cur, allowedChannels: [...set] };
    });
  } else if (sub === 'limits') {
    const maxSteps = i.options.getInteger('max_steps');
    const maxSize = i.options.getInteger('max_size');
    const concurrent = i.options.getInteger('concurrent');
    const queued = i.options.getInteger('queued');
    s = await ctx.settings.update(guildId, (cur) => ({
      ...cur,
      maxSteps: maxSteps ?? cur.maxSteps,
      maxSize: maxSize ?? cur.maxSize,
      maxConcurrentPerUser: concurrent ?? cur.maxConcurrentPerUser,
      maxQueuedPerUser: queued ?? cur.maxQueuedPerUser,
    }));
  } else if (sub === 'role-weight') {
    s = await setRoleWeight(i, ctx, guildId);
  } else if (sub === 'banned') {
    const action = i.options.getString('action', true);
    const words = (i.options.getString('words') ?? '')
      .split(',')
      .map((w) => w.trim().toLowerCase())
      .filter((w) => w.length > 0 && w.length <= 64);
    s = await ctx.settings.update(guildId, (cur) => {
      if (action === 'clear') return { ...cur, bannedWords: [] };
      const set = new Set(cur.bannedWords);
      for (const w of words)
        if (action === 'add') set.add(w);
        else set.delete(w);
      return { ...cur, bannedWords: [...set].slice(0, 500) };
    });
  } else {
    s = await ctx.settings.get(guildId);
  }
  await replyPrivately(i, describeSettings(s));
}

/** `/settings role-weight`: weight 1 removes the role's rule (1 is everyone's default). */
async function setRoleWeight(
  i: ChatInputCommandInteraction,
  ctx: BotContext,
  guildId: string,
): Promise<GuildSettings> {
  const roleId = i.options.getRole('role', true).id;
  const weight = RoleWeight.parse(i.options.getNumber('weight', true));
  return ctx.settings.update(guildId, (cur) => {
    const roleWeights = { ...cur.roleWeights };
    if (weight === DEFAULT_MEMBER_WEIGHT) delete roleWeights[roleId];
    else roleWeights[roleId] = weight;
    return { ...cur, roleWeights };
  });
}

export function describeSettings(s: GuildSettings): string {
  return [
    '**Server settings**',
    `Channels: ${s.allowedChannels.length === 0 ? 'everywhere' : s.allowedChannels.map((c) => `<#${c}>`).join(', ')}`,
    `Max steps: ${s.maxSteps === 0 ? 'model maximum' : s.maxSteps} · Max size: ${s.maxSize === 0 ? 'any' : `${s.maxSize} px`} · Renders per member at once (waiting or running): ${s.maxConcurrentPerUser}`,
    `Renders waiting per member: ${s.maxQueuedPerUser === 0 ? 'no separate limit' : s.maxQueuedPerUser}`,
    `Role weights (share of this server's render time; everyone else 1): ${describeRoleWeights(s)}`,
    `Banned words: ${s.bannedWords.length === 0 ? 'none' : s.bannedWords.map((w) => `“${displayText(w, 64)}”`).join(', ')}`,
    `Default quota: ${describeRule(s.defaultQuota)}`,
  ].join('\n');
}

export function describeRoleWeights(s: GuildSettings): string {
  const entries = Object.entries(s.roleWeights).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? 'none' : entries.map(([id, w]) => `<@&${id}> ×${w}`).join(', ');
}

/**
 * `/farm`: renderers, the queue and the member's own renders (with the scheduler: their real
 * positions and waits). Moderators also see this server's share of the queue (other servers only
 * as counts) and the weights in force.
 */
export async function handleFarm(i: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (!i.guildId) return;
  const guildId = i.guildId;
  await i.deferReply({ flags: MessageFlags.Ephemeral });
  const [renderers, queue, settings, scheduler] = await Promise.all([
    ctx.status.renderers(),
    ctx.status.queue(ctx.model.name),
    ctx.settings.get(guildId),
    ctx.status.schedulerStatus(ctx.model.name).catch(() => undefined),
  ]);
  const speed =
    ctx.renders.currentSpeed() ??
    (renderers.length > 0
      ? renderers.reduce((a, r) => a + r.recentItPerSec, 0) / renderers.length
      : undefined);
  const mine = ownRenderLines(ctx.renders.progressOf(i.user.id), guildId, (r) =>
    messageLink(r.guildId, r.channelId, r.messageId),
  );
  const lines = [
    `**Renderers online:** ${renderers.length}${renderers.length > 0 ? ` (${renderers.map((r) => `${displayText(r.id, 40)}: ${r.state}, ${r.executionProvider}`).join('; ')})` : ''}`,
    scheduler
      ? schedulerQueueLine(scheduler, ctx.now())
      : `**Queue:** ${queue.waiting} waiting · ${queue.rendering} rendering`,
    `**Recent speed:** ${speed === undefined ? 'no renders yet' : `${speed.toFixed(1)} it/s`}`,
    `**Your renders:** ${mine.length === 0 ? 'none waiting or running' : ''}`,
    ...mine.slice(0, 10),
    await usageLine(ctx, settings, guildId, i.user.id, memberRoleIds(i.member)),
  ];
  if (scheduler && isModeratorPermissions(i.memberPermissions))
    lines.push(...moderatorLines(scheduler, settings, guildId));
  await i.editReply({ content: lines.join('\n').slice(0, 2000), allowedMentions: NO_PINGS });
}
