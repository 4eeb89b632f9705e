/**
 * Server-side permission checks. Moderator commands are hidden from members by
 * `setDefaultMemberPermissions(ManageGuild)`, but server admins can override that, so the bot
 * checks again.
 */
import { PermissionFlagsBits, type Client, type PermissionsBitField } from 'discord.js';

export function isModeratorPermissions(perms: Readonly<PermissionsBitField> | null | undefined): boolean {
  return perms?.has(PermissionFlagsBits.ManageGuild) ?? false;
}

/** For reactions: whether a member may cancel or delete other people's renders. */
export async function isModerator(client: Client, guildId: string, userId: string): Promise<boolean> {
  const guild =
    client.guilds.cache.get(guildId) ?? (await client.guilds.fetch(guildId).catch(() => undefined));
  if (!guild) return false;
  const member = await guild.members.fetch(userId).catch(() => undefined);
  if (!member) return false;
  return (
    member.permissions.has(PermissionFlagsBits.ManageGuild) ||
    member.permissions.has(PermissionFlagsBits.ManageMessages)
  );
}

/** Role ids of a member, from a cached GuildMember or the raw API member of an interaction. */
export function memberRoleIds(member: unknown): string[] {
  if (!member || typeof member !== 'object' || !('roles' in member)) return [];
  const roles = (member as { roles: unknown }).roles;
  if (Array.isArray(roles)) return roles.filter((r): r is string => typeof r === 'string');
  if (roles && typeof roles === 'object' && 'cache' in roles)
    return [...(roles as { cache: Map<string, unknown> }).cache.keys()];
  return [];
}
