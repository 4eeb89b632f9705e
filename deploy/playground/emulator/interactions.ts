/**
 * Builds INTERACTION_CREATE payloads for slash commands the way Discord sends them to a bot:
 * options typed from the registered command (or inferred), `data.resolved` for users, roles,
 * channels and attachments, the `channel` object, `member.permissions` and `app_permissions`
 * as decimal strings, `entitlements` and `authorizing_integration_owners`.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object
 */
import { randomBytes } from 'node:crypto';
import {
  OptionType,
  memberPermissions,
  type EmulatedGuild,
  type EmulatedUser,
  type InteractionKind,
  type RegisteredOption,
  type StoredAttachment,
  type StoredInteraction,
} from './model.js';
import { attachmentPayload, channelPayload, memberPayload, rolePayload, userPayload } from './payloads.js';
import type { EmulatorWorld } from './world.js';

/** A file given as an attachment option. */
export interface AttachmentInput {
  filename: string;
  data: Uint8Array;
  contentType?: string;
}

export type OptionValue =
  | string
  | number
  | boolean
  | AttachmentInput
  | { userId: string }
  | { roleId: string }
  | { channelId: string };

export interface SlashCommandInput {
  guild: EmulatedGuild;
  user: EmulatedUser;
  channelId: string;
  command: string;
  /** `/quota set …` → group undefined, subcommand 'set'. */
  subcommand?: string;
  group?: string;
  options?: Record<string, OptionValue | undefined>;
}

interface WireOption {
  name: string;
  type: number;
  value?: string | number | boolean;
  options?: WireOption[];
}

interface Resolved {
  users: Record<string, unknown>;
  members: Record<string, unknown>;
  roles: Record<string, unknown>;
  channels: Record<string, unknown>;
  attachments: Record<string, unknown>;
}

const isAttachment = (v: unknown): v is AttachmentInput =>
  typeof v === 'object' && v !== null && 'data' in v && 'filename' in v;

function inferType(value: OptionValue): number {
  if (typeof value === 'string') return OptionType.String;
  if (typeof value === 'boolean') return OptionType.Boolean;
  if (typeof value === 'number') return Number.isInteger(value) ? OptionType.Integer : OptionType.Number;
  if (isAttachment(value)) return OptionType.Attachment;
  if ('userId' in value) return OptionType.User;
  if ('roleId' in value) return OptionType.Role;
  return OptionType.Channel;
}

/** The option definitions for a command path, from what the bot registered (if it did). */
function registeredOptions(
  world: EmulatorWorld,
  input: SlashCommandInput,
): { commandId: string; options: RegisteredOption[] } {
  const cmd =
    [...world.commands.values()].find((c) => c.name === input.command && c.guildId === input.guild.id) ??
    [...world.commands.values()].find((c) => c.name === input.command && c.guildId === null);
  let options = cmd?.options ?? [];
  if (input.group) options = options.find((o) => o.name === input.group)?.options ?? [];
  if (input.subcommand) options = options.find((o) => o.name === input.subcommand)?.options ?? [];
  return { commandId: cmd?.id ?? world.nextId(), options };
}

export function buildSlashInteraction(
  world: EmulatorWorld,
  input: SlashCommandInput,
): { interaction: StoredInteraction; payload: unknown } {
  const { guild, user } = input;
  const { channel } = world.channel(input.channelId);
  const { commandId, options: defs } = registeredOptions(world, input);
  const resolved: Resolved = { users: {}, members: {}, roles: {}, channels: {}, attachments: {} };
  const leafOptions: WireOption[] = [];
  for (const [name, value] of Object.entries(input.options ?? {})) {
    if (value === undefined) continue;
    const type = defs.find((d) => d.name === name)?.type ?? inferType(value);
    leafOptions.push({ name, type, value: resolveValue(world, guild, type, value, resolved) });
  }
  let options: WireOption[] = leafOptions;
  if (input.subcommand) options = [{ name: input.subcommand, type: OptionType.Subcommand, options }];
  if (input.group) options = [{ name: input.group, type: OptionType.SubcommandGroup, options }];

  const base = interactionBase(world, {
    guild,
    user,
    channelId: channel.id,
    type: 2,
    commandName: [input.command, input.group, input.subcommand].filter(Boolean).join(' '),
  });
  const hasResolved = Object.values(resolved).some((r) => Object.keys(r).length > 0);
  const payload = {
    ...base.payload,
    data: {
      id: commandId,
      name: input.command,
      type: 1,
      guild_id: guild.id,
      options,
      resolved: hasResolved ? resolved : undefined,
    },
  };
  const interaction = base.interaction;
  return { interaction, payload };
}

/**
 * What every guild interaction carries, whatever its type: id and token, the channel with the
 * member's permissions in it, the member, the app's permissions, locales, and the stored record.
 */
export function interactionBase(
  world: EmulatorWorld,
  input: {
    guild: EmulatedGuild;
    user: EmulatedUser;
    channelId: string;
    type: InteractionKind;
    commandName: string;
  },
): { payload: Record<string, unknown>; interaction: StoredInteraction } {
  const { guild, user, type } = input;
  const { channel } = world.channel(input.channelId);
  const id = world.nextId();
  const token = `aW50ZXJhY3Rpb246${id}:${randomBytes(24).toString('base64url')}`;
  const member = guild.members.get(user.id) ?? {
    userId: user.id,
    roleIds: [],
    nick: null,
    joinedAt: new Date(0).toISOString(),
  };
  const permissions = memberPermissions(guild, user.id).toString();
  const payload = {
    id,
    application_id: world.applicationId,
    type,
    token,
    version: 1,
    guild_id: guild.id,
    guild: { id: guild.id, locale: 'en-US', features: [] },
    channel_id: channel.id,
    channel: { ...channelPayload(channel), permissions },
    member: { ...memberPayload(member, user), permissions },
    app_permissions: memberPermissions(guild, world.applicationId).toString(),
    locale: 'en-US',
    guild_locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: { '0': guild.id },
    context: 0,
    attachment_size_limit: world.options.attachmentSizeLimit,
  };
  const interaction: StoredInteraction = {
    id,
    token,
    applicationId: world.applicationId,
    type,
    guildId: guild.id,
    channelId: channel.id,
    userId: user.id,
    commandName: input.commandName,
    createdAt: world.now(),
    state: 'pending',
    tokenExpired: false,
  };
  return { payload, interaction };
}

function resolveValue(
  world: EmulatorWorld,
  guild: EmulatedGuild,
  type: number,
  value: OptionValue,
  resolved: Resolved,
): string | number | boolean {
  switch (type) {
    case OptionType.Attachment: {
      if (!isAttachment(value)) throw new TypeError('attachment option needs { filename, data }');
      const stored: StoredAttachment = world.storeAttachment({
        filename: value.filename,
        contentType: value.contentType ?? 'application/octet-stream',
        data: value.data,
      });
      resolved.attachments[stored.id] = { ...attachmentPayload(stored), ephemeral: true };
      return stored.id;
    }
    case OptionType.User:
    case OptionType.Mentionable: {
      const id =
        typeof value === 'object' && 'userId' in value
          ? value.userId
          : typeof value === 'object' && 'roleId' in value
            ? value.roleId
            : String(value);
      const user = world.users.get(id);
      const role = guild.roles.get(id);
      if (user) {
        resolved.users[id] = userPayload(user);
        const member = guild.members.get(id);
        if (member) {
          const { user: _u, ...rest } = memberPayload(member, user);
          resolved.members[id] = { ...rest, permissions: memberPermissions(guild, id).toString() };
        }
      } else if (role) {
        resolved.roles[id] = rolePayload(role);
      }
      return id;
    }
    case OptionType.Role: {
      const id = typeof value === 'object' && 'roleId' in value ? value.roleId : String(value);
      const role = guild.roles.get(id);
      if (role) resolved.roles[id] = rolePayload(role);
      return id;
    }
    case OptionType.Channel: {
      const id = typeof value === 'object' && 'channelId' in value ? value.channelId : String(value);
      const ch = guild.channels.get(id);
      if (ch) resolved.channels[id] = { ...channelPayload(ch), permissions: '0' };
      return id;
    }
    default:
      if (typeof value === 'object') throw new TypeError(`option of type ${type} needs a plain value`);
      return value;
  }
}
