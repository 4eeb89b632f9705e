/**
 * Builders for the JSON objects Discord sends (API v10), from the emulator's model. Only the
 * fields discord.js 14 reads, filled the way Discord fills them.
 * @see https://discord.com/developers/docs/resources/message#message-object
 */
import {
  memberPermissions,
  type DmChannel,
  type EmulatedChannel,
  type EmulatedGuild,
  type EmulatedMember,
  type EmulatedRole,
  type EmulatedUser,
  type StoredAttachment,
  type StoredInteraction,
  type StoredMessage,
} from './model.js';

export function userPayload(user: EmulatedUser) {
  return {
    id: user.id,
    username: user.username,
    global_name: user.globalName,
    discriminator: '0',
    avatar: null,
    bot: user.bot,
    system: false,
    public_flags: 0,
    flags: 0,
  };
}

export function rolePayload(role: EmulatedRole) {
  return {
    id: role.id,
    name: role.name,
    color: role.color,
    colors: { primary_color: role.color, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: role.position,
    permissions: role.permissions.toString(),
    managed: false,
    mentionable: false,
    flags: 0,
  };
}

export function memberPayload(member: EmulatedMember, user: EmulatedUser, guild?: EmulatedGuild) {
  return {
    user: userPayload(user),
    nick: member.nick,
    avatar: null,
    roles: member.roleIds,
    joined_at: member.joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    pending: false,
    flags: 0,
    communication_disabled_until: null,
    permissions: guild ? memberPermissions(guild, member.userId).toString() : undefined,
  };
}

export function channelPayload(channel: EmulatedChannel) {
  return {
    id: channel.id,
    type: channel.type,
    guild_id: channel.guildId,
    name: channel.name,
    position: channel.position,
    permission_overwrites: [],
    nsfw: false,
    topic: null,
    last_message_id: null,
    rate_limit_per_user: 0,
    parent_id: null,
    flags: 0,
  };
}

/** A DM channel between the bot and `recipient`. */
export function dmChannelPayload(dm: DmChannel, recipient: EmulatedUser | undefined) {
  return {
    id: dm.id,
    type: dm.type,
    last_message_id: null,
    flags: 0,
    recipients: recipient ? [userPayload(recipient)] : [],
  };
}

export function guildCreatePayload(guild: EmulatedGuild, users: Map<string, EmulatedUser>) {
  const members = [...guild.members.values()].flatMap((m) => {
    const user = users.get(m.userId);
    return user ? [memberPayload(m, user)] : [];
  });
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: [...guild.roles.values()].map(rolePayload),
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    preferred_locale: 'en-US',
    public_updates_channel_id: null,
    nsfw_level: 0,
    premium_progress_bar_enabled: false,
    safety_alerts_channel_id: null,
    max_members: 500000,
    max_video_channel_users: 25,
    joined_at: new Date(0).toISOString(),
    large: false,
    unavailable: false,
    member_count: members.length,
    voice_states: [],
    members,
    channels: [...guild.channels.values()].map(channelPayload),
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

export function attachmentPayload(a: StoredAttachment) {
  return {
    id: a.id,
    filename: a.filename,
    size: a.size,
    url: a.url,
    proxy_url: a.url,
    content_type: a.contentType,
    description: a.description || undefined,
  };
}

/** What `messagePayload` reads of the world: users, the application, the interactions. */
export interface PayloadSource {
  users: Map<string, EmulatedUser>;
  applicationId: string;
  interactions: Map<string, StoredInteraction>;
}

/**
 * `interaction_metadata` of a reply: who triggered it, and for a click the message clicked, for a
 * modal the interaction that opened it; follow-ups name the original response.
 */
function interactionMetadata(source: PayloadSource, i: StoredInteraction, messageId: string): unknown {
  const user = source.users.get(i.userId);
  const opener = i.openerId ? source.interactions.get(i.openerId) : undefined;
  return {
    id: i.id,
    type: i.type,
    user: user ? userPayload(user) : undefined,
    authorizing_integration_owners: { '0': i.guildId },
    name: i.type === 2 ? i.commandName : undefined,
    original_response_message_id:
      i.originalMessageId && i.originalMessageId !== messageId ? i.originalMessageId : undefined,
    interacted_message_id: i.type === 3 ? i.sourceMessageId : undefined,
    triggering_interaction_metadata: opener ? interactionMetadata(source, opener, '') : undefined,
  };
}

export function messagePayload(message: StoredMessage, source: PayloadSource) {
  const { users, applicationId } = source;
  const author = users.get(message.authorId);
  const isInteractionReply = message.interactionId !== undefined;
  const interaction = message.interactionId ? source.interactions.get(message.interactionId) : undefined;
  const invoker = interaction ? users.get(interaction.userId) : undefined;
  const reactions = [...message.reactions.entries()]
    .filter(([, who]) => who.size > 0)
    .map(([emoji, who]) => ({
      emoji: { id: null, name: emoji },
      count: who.size,
      count_details: { burst: 0, normal: who.size },
      me: who.has(applicationIdToBotId(users, applicationId)),
      me_burst: false,
      burst_colors: [],
    }));
  return {
    id: message.id,
    type: isInteractionReply ? 20 : message.referenceMessageId ? 19 : 0,
    channel_id: message.channelId,
    guild_id: message.guildId ?? undefined,
    author: author
      ? userPayload(author)
      : { id: message.authorId, username: 'unknown', discriminator: '0', avatar: null },
    content: message.content,
    timestamp: new Date(message.createdAt).toISOString(),
    edited_timestamp: message.editedAt === null ? null : new Date(message.editedAt).toISOString(),
    tts: false,
    mention_everyone: message.pings.everyone,
    mentions: message.pings.users.flatMap((id) => {
      const u = users.get(id);
      return u ? [userPayload(u)] : [];
    }),
    mention_roles: message.pings.roles,
    attachments: message.attachments.map(attachmentPayload),
    embeds: message.embeds,
    reactions: reactions.length > 0 ? reactions : undefined,
    pinned: false,
    flags: message.flags,
    components: message.components,
    webhook_id: isInteractionReply ? applicationId : undefined,
    interaction_metadata: interaction ? interactionMetadata(source, interaction, message.id) : undefined,
    // The deprecated summary discord.js still exposes as `message.interaction`.
    interaction:
      interaction && invoker
        ? {
            id: interaction.id,
            type: interaction.type,
            name: interaction.commandName || interaction.customId || '',
            user: userPayload(invoker),
          }
        : undefined,
    application_id: isInteractionReply ? applicationId : undefined,
    message_reference: message.referenceMessageId
      ? {
          type: 0,
          message_id: message.referenceMessageId,
          channel_id: message.channelId,
          guild_id: message.guildId ?? undefined,
        }
      : undefined,
  };
}

function applicationIdToBotId(users: Map<string, EmulatedUser>, applicationId: string): string {
  // The bot user shares the application's id, as for every application created since 2021.
  return users.has(applicationId) ? applicationId : '';
}
