/**
 * Server-side permission checks and member facts. Moderator commands are hidden from members by
 * `setDefaultMemberPermissions(ManageGuild)`, but server admins can override that, so the bot
 * checks again.
 */
import { PermissionFlagsBits, type Client, type GuildMember, type PermissionsBitField } from 'discord.js';
import type { Members } from '../core/ports.js';

export function isModeratorPermissions(perms: Readonly<PermissionsBitField> | null | undefined): boolean {
  return perms?.has(PermissionFlagsBits.ManageGuild) ?? false;
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

/** `Members` through the discord.js client (its caches, then the API). */
export class DiscordMembers implements Members {
  constructor(private readonly client: Client) {}

  private async member(guildId: string, userId: string): Promise<GuildMember | undefined> {
    const guild =
      this.client.guilds.cache.get(guildId) ??
      (await this.client.guilds.fetch(guildId).catch(() => undefined));
    return guild ? await guild.members.fetch(userId).catch(() => undefined) : undefined;
  }

  /** Manage Server or Manage Messages: may cancel or delete other people's renders. */
  async isModerator(guildId: string, userId: string): Promise<boolean> {
    const member = await this.member(guildId, userId);
    if (!member) return false;
    return (
      member.permissions.has(PermissionFlagsBits.ManageGuild) ||
      member.permissions.has(PermissionFlagsBits.ManageMessages)
    );
  }

  async roleIds(guildId: string, userId: string): Promise<string[]> {
    return memberRoleIds(await this.member(guildId, userId));
  }

  username(userId: string): string | undefined {
    return this.client.users.cache.get(userId)?.username;
  }
}
