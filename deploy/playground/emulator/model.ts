/**
 * The emulator's world: one application with its bot user, guilds with roles, channels and
 * members, the messages in those channels (with every revision), and interactions. Plain data;
 * `rest-server.ts` and `gateway-server.ts` read and change it, tests and the playground inspect it.
 */

import type { StoredActionRow } from './components.js';
import type { StoredModal } from './modals.js';

/** Permission bits used by the emulator (subset of Discord's). */
export const Permission = {
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  ManageGuild: 1n << 5n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  UseExternalEmojis: 1n << 18n,
  UseApplicationCommands: 1n << 31n,
} as const;

/** What a plain member may do in a fresh server (roughly Discord's @everyone default). */
export const DEFAULT_MEMBER_PERMISSIONS =
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.AddReactions |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.UseExternalEmojis |
  Permission.UseApplicationCommands;

export const ALL_PERMISSIONS = (1n << 50n) - 1n;

export interface EmulatedUser {
  id: string;
  username: string;
  globalName: string | null;
  bot: boolean;
  /** The user's privacy setting "allow direct messages" is off: posting into their DM answers 50007. */
  dmsClosed?: boolean;
}

export interface EmulatedRole {
  id: string;
  name: string;
  permissions: bigint;
  position: number;
  color: number;
}

export interface EmulatedMember {
  userId: string;
  roleIds: string[];
  nick: string | null;
  joinedAt: string;
}

export interface EmulatedChannel {
  id: string;
  guildId: string;
  name: string;
  /** 0 = GUILD_TEXT. */
  type: 0;
  position: number;
}

/** The DM channel between the bot and one user (type 1), opened with `POST /users/@me/channels`. */
export interface DmChannel {
  id: string;
  type: 1;
  recipientId: string;
}

export interface EmulatedGuild {
  id: string;
  name: string;
  ownerId: string;
  roles: Map<string, EmulatedRole>;
  members: Map<string, EmulatedMember>;
  channels: Map<string, EmulatedChannel>;
}

export interface StoredAttachment {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  data: Uint8Array;
  /** Where the emulator serves the bytes (http://host:port/attachments/...). */
  url: string;
  description?: string;
}

/** Who a message would have notified, computed like Discord does from content + allowed_mentions. */
export interface MessagePings {
  everyone: boolean;
  users: string[];
  roles: string[];
}

/** One state of a message: index 0 is its creation, then one entry per accepted edit. */
export interface MessageRevision {
  at: number;
  content: string;
  embeds: unknown[];
  attachments: StoredAttachment[];
  /** Which route produced it: the interaction webhook (token) or the channel (bot token). */
  via: 'interaction-callback' | 'webhook' | 'channel';
  flags: number;
  components: StoredActionRow[];
}

export interface StoredMessage {
  id: string;
  channelId: string;
  /** null in a DM channel. */
  guildId: string | null;
  authorId: string;
  content: string;
  embeds: unknown[];
  attachments: StoredAttachment[];
  /** Action rows of buttons / selects, as validated wire JSON. */
  components: StoredActionRow[];
  flags: number;
  /** Set for replies to an interaction (the "original response" and follow-ups). */
  interactionId?: string;
  /** Message this one replies to (message_reference), if any. */
  referenceMessageId?: string;
  createdAt: number;
  editedAt: number | null;
  revisions: MessageRevision[];
  /** emoji (unicode name) → user ids who reacted. */
  reactions: Map<string, Set<string>>;
  deleted: boolean;
  pings: MessagePings;
}

/** Interaction types: 2 application command, 3 message component, 5 modal submit. */
export type InteractionKind = 2 | 3 | 5;

export interface StoredInteraction {
  id: string;
  token: string;
  applicationId: string;
  type: InteractionKind;
  guildId: string;
  channelId: string;
  userId: string;
  /** The slash command (`quota set`); for a component or modal, the command of the message it came from. */
  commandName: string;
  /** The component's or modal's custom id (types 3 and 5). */
  customId?: string;
  /** The message a component (or the component that opened this modal) sits on. */
  sourceMessageId?: string;
  /** For a modal submit: the interaction whose answer was the modal. */
  openerId?: string;
  /** The modal the bot answered with (callback type 9). */
  modal?: StoredModal;
  /** The modal was submitted (it closes in the client then). */
  modalSubmitted?: boolean;
  /** The callback type the bot answered with (4, 5, 6, 7 or 9). */
  responseType?: number;
  createdAt: number;
  /** none → deferred | replied (the 3 s deadline); failed if nobody answered in time. */
  state: 'pending' | 'deferred' | 'replied' | 'failed';
  /** The token no longer works (15 min passed, or a test expired it): webhook routes answer 50027. */
  tokenExpired: boolean;
  originalMessageId?: string;
  /** Deferred-reply flags (64 = ephemeral). */
  deferredFlags?: number;
}

export interface RegisteredCommand {
  id: string;
  applicationId: string;
  guildId: string | null;
  name: string;
  description: string;
  options: RegisteredOption[];
  defaultMemberPermissions: string | null;
  type: number;
  version: string;
}

export interface RegisteredOption {
  type: number;
  name: string;
  description?: string;
  required?: boolean;
  choices?: { name: string; value: string | number }[];
  options?: RegisteredOption[];
  min_value?: number;
  max_value?: number;
  min_length?: number;
  max_length?: number;
}

/** Discord application command option types. */
export const OptionType = {
  Subcommand: 1,
  SubcommandGroup: 2,
  String: 3,
  Integer: 4,
  Boolean: 5,
  User: 6,
  Channel: 7,
  Role: 8,
  Mentionable: 9,
  Number: 10,
  Attachment: 11,
} as const;

/** Effective guild-level permissions of a member (owner and Administrator get everything). */
export function memberPermissions(guild: EmulatedGuild, userId: string): bigint {
  if (guild.ownerId === userId) return ALL_PERMISSIONS;
  const member = guild.members.get(userId);
  let perms = guild.roles.get(guild.id)?.permissions ?? 0n;
  for (const roleId of member?.roleIds ?? []) perms |= guild.roles.get(roleId)?.permissions ?? 0n;
  return (perms & Permission.Administrator) !== 0n ? ALL_PERMISSIONS : perms;
}
