/**
 * The emulator's state and the rules Discord applies when it changes: message limits, attachment
 * replacement on edit, mention resolution, reactions, interaction deadlines and token expiry.
 * Emits an event for every change so the gateway can dispatch it and tests can wait on it.
 */
import { EventEmitter } from 'node:events';
import {
  cannotMessageUser,
  invalidFormBody,
  invalidWebhookToken,
  tooLarge,
  unknownChannel,
  unknownInteraction,
  unknownMessage,
} from './errors.js';
import { mergePings, resolvePings, validateBody } from './message-rules.js';
import type {
  DmChannel,
  EmulatedChannel,
  EmulatedGuild,
  EmulatedUser,
  RegisteredCommand,
  StoredAttachment,
  StoredInteraction,
  StoredMessage,
} from './model.js';

export { resolvePings } from './message-rules.js';

/** Message flags Discord uses on interaction replies. */
export const MessageFlag = { Ephemeral: 64, Loading: 128, SuppressNotifications: 4096 } as const;

/** The JSON part of a message create/edit (`payload_json` for multipart requests). */
export interface MessageBody {
  content?: string | null;
  embeds?: unknown[] | null;
  attachments?: { id: string | number; filename?: string; description?: string }[] | null;
  allowed_mentions?: { parse?: string[]; users?: string[]; roles?: string[]; replied_user?: boolean } | null;
  flags?: number | null;
  message_reference?: { message_id?: string } | null;
  /** Action rows; checked by `validateMessageComponents`. */
  components?: unknown[] | null;
}

/** A file that came with a multipart request, keyed by its form field index (`files[N]`). */
export interface UploadedFile {
  index: string;
  filename: string;
  contentType: string;
  data: Uint8Array;
}

export interface WorldEvents {
  messageCreate: [StoredMessage];
  messageUpdate: [StoredMessage];
  messageDelete: [StoredMessage];
  reactionAdd: [{ message: StoredMessage; userId: string; emoji: string }];
  reactionRemove: [{ message: StoredMessage; userId: string; emoji: string }];
  interactionCreate: [StoredInteraction, unknown];
  interactionUpdate: [StoredInteraction];
  commandsUpdate: [RegisteredCommand[]];
  /** A user setting changed (DMs closed). */
  usersUpdate: [];
}

export interface WorldOptions {
  applicationId: string;
  applicationName: string;
  botToken: string;
  attachmentSizeLimit: number;
  interactionDeadlineMs: number;
  interactionTokenTtlMs: number;
  nextId: () => string;
  now?: () => number;
}

export class EmulatorWorld extends EventEmitter<WorldEvents> {
  readonly users = new Map<string, EmulatedUser>();
  readonly guilds = new Map<string, EmulatedGuild>();
  readonly messages = new Map<string, StoredMessage>();
  readonly interactions = new Map<string, StoredInteraction>();
  readonly commands = new Map<string, RegisteredCommand>();
  /** DM channels by id (one per user, opened by the bot). */
  readonly dmChannels = new Map<string, DmChannel>();
  /** Served at `${origin}/attachments/:id/:filename`; set once the HTTP server listens. */
  origin = 'http://127.0.0.1';
  readonly now: () => number;

  constructor(readonly options: WorldOptions) {
    super();
    this.now = options.now ?? Date.now;
  }

  get applicationId(): string {
    return this.options.applicationId;
  }

  nextId(): string {
    return this.options.nextId();
  }

  channel(channelId: string): { channel: EmulatedChannel; guild: EmulatedGuild } {
    for (const guild of this.guilds.values()) {
      const channel = guild.channels.get(channelId);
      if (channel) return { channel, guild };
    }
    throw unknownChannel();
  }

  /** A guild text channel or a DM channel, by id; 10003 when neither. */
  anyChannel(channelId: string): { guild: EmulatedGuild; channel: EmulatedChannel } | { dm: DmChannel } {
    const dm = this.dmChannels.get(channelId);
    return dm ? { dm } : this.channel(channelId);
  }

  /** The DM channel with a user, opened on first use (Discord returns the same one every time). */
  openDm(userId: string): DmChannel {
    for (const dm of this.dmChannels.values()) if (dm.recipientId === userId) return dm;
    const dm: DmChannel = { id: this.nextId(), type: 1, recipientId: userId };
    this.dmChannels.set(dm.id, dm);
    return dm;
  }

  /** The DM channel with a user, if the bot opened one. */
  dmWith(userId: string): DmChannel | undefined {
    for (const dm of this.dmChannels.values()) if (dm.recipientId === userId) return dm;
    return undefined;
  }

  message(channelId: string | null, messageId: string): StoredMessage {
    const m = this.messages.get(messageId);
    if (!m || m.deleted || (channelId !== null && m.channelId !== channelId)) throw unknownMessage();
    return m;
  }

  /** Every attachment the emulator has stored (message files and interaction option uploads). */
  readonly attachments = new Map<string, StoredAttachment>();

  storeAttachment(file: {
    filename: string;
    contentType: string;
    data: Uint8Array;
    description?: string;
  }): StoredAttachment {
    const id = this.nextId();
    const a: StoredAttachment = {
      id,
      filename: file.filename,
      contentType: file.contentType,
      size: file.data.byteLength,
      data: file.data,
      url: `${this.origin}/attachments/${id}/${encodeURIComponent(file.filename)}`,
      description: file.description || undefined,
    };
    this.attachments.set(id, a);
    return a;
  }

  createMessage(input: {
    channelId: string;
    authorId: string;
    body: MessageBody;
    files: UploadedFile[];
    via: StoredMessage['revisions'][number]['via'];
    interactionId?: string;
    extraFlags?: number;
  }): StoredMessage {
    const target = this.anyChannel(input.channelId);
    const guild = 'guild' in target ? target.guild : null;
    if ('dm' in target) {
      const recipient = this.users.get(target.dm.recipientId);
      // Bots cannot receive DMs from bots; people can turn DMs from server members off.
      if (!recipient || recipient.bot || recipient.dmsClosed) throw cannotMessageUser();
    }
    const components = validateBody(input.body) ?? [];
    const attachments = this.attachmentsFor(input.body, input.files, []);
    const flags =
      ((input.body.flags ?? 0) & (MessageFlag.Ephemeral | MessageFlag.SuppressNotifications)) |
      (input.extraFlags ?? 0);
    const content = input.body.content ?? '';
    const embeds = input.body.embeds ?? [];
    const at = this.now();
    const message: StoredMessage = {
      id: this.nextId(),
      channelId: input.channelId,
      guildId: guild?.id ?? null,
      authorId: input.authorId,
      content,
      embeds,
      attachments,
      components,
      flags,
      interactionId: input.interactionId || undefined,
      referenceMessageId: input.body.message_reference?.message_id || undefined,
      createdAt: at,
      editedAt: null,
      revisions: [{ at, content, embeds, attachments, via: input.via, flags, components }],
      reactions: new Map(),
      deleted: false,
      pings: guild
        ? resolvePings(content, input.body.allowed_mentions, guild)
        : { everyone: false, users: [], roles: [] },
    };
    this.messages.set(message.id, message);
    this.emit('messageCreate', message);
    return message;
  }

  editMessage(
    message: StoredMessage,
    body: MessageBody,
    files: UploadedFile[],
    via: StoredMessage['revisions'][number]['via'],
  ): StoredMessage {
    const components = validateBody(body);
    const guild = message.guildId === null ? undefined : this.guilds.get(message.guildId);
    if (components !== undefined) message.components = components;
    if (body.content !== undefined) message.content = body.content ?? '';
    if (body.embeds !== undefined) message.embeds = body.embeds ?? [];
    message.attachments = this.attachmentsFor(body, files, message.attachments);
    // Editing a deferred reply turns the "thinking…" placeholder into a real message.
    message.flags &= ~MessageFlag.Loading;
    if (body.flags !== undefined && body.flags !== null) {
      message.flags =
        (message.flags & MessageFlag.Ephemeral) | (body.flags & MessageFlag.SuppressNotifications);
    }
    message.editedAt = this.now();
    if (guild) {
      const pings = resolvePings(message.content, body.allowed_mentions, guild);
      // Edits only notify newly mentioned users, but anything resolved at all is worth recording.
      message.pings = mergePings(message.pings, pings);
    }
    message.revisions.push({
      at: message.editedAt,
      content: message.content,
      embeds: message.embeds,
      attachments: message.attachments,
      via,
      flags: message.flags,
      components: message.components,
    });
    this.emit('messageUpdate', message);
    return message;
  }

  deleteMessage(message: StoredMessage): void {
    if (message.deleted) throw unknownMessage();
    message.deleted = true;
    this.emit('messageDelete', message);
  }

  addReaction(message: StoredMessage, userId: string, emoji: string): void {
    let who = message.reactions.get(emoji);
    if (!who) message.reactions.set(emoji, (who = new Set()));
    if (who.has(userId)) return;
    who.add(userId);
    this.emit('reactionAdd', { message, userId, emoji });
  }

  removeReaction(message: StoredMessage, userId: string, emoji: string): void {
    const who = message.reactions.get(emoji);
    if (!who?.delete(userId)) return;
    this.emit('reactionRemove', { message, userId, emoji });
  }

  private readonly byToken = new Map<string, StoredInteraction>();

  /** Records a new interaction (and indexes its token for the webhook routes). */
  addInteraction(interaction: StoredInteraction): void {
    this.interactions.set(interaction.id, interaction);
    this.byToken.set(interaction.token, interaction);
  }

  /** The interaction a token belongs to, expired or not. */
  interactionForToken(token: string): StoredInteraction | undefined {
    return this.byToken.get(token);
  }

  /** The interaction behind a webhook token; throws 50027 once the token has expired. */
  interactionByToken(applicationId: string, token: string): StoredInteraction {
    const i = this.byToken.get(token);
    if (!i || i.applicationId !== applicationId) throw invalidWebhookToken();
    if (!i.tokenExpired && this.now() - i.createdAt > this.options.interactionTokenTtlMs)
      i.tokenExpired = true;
    if (i.tokenExpired) throw invalidWebhookToken();
    return i;
  }

  interaction(id: string, token: string): StoredInteraction {
    const i = this.interactions.get(id);
    if (!i || i.token !== token) throw unknownInteraction();
    return i;
  }

  /**
   * New attachment list: on create, every uploaded file. On edit, Discord keeps exactly the
   * attachments listed in `attachments` (existing ids kept, `files[N]` indices added); with no
   * `attachments` field, uploaded files are appended to the current ones.
   */
  private attachmentsFor(
    body: MessageBody,
    files: UploadedFile[],
    current: StoredAttachment[],
  ): StoredAttachment[] {
    for (const f of files) if (f.data.byteLength > this.options.attachmentSizeLimit) throw tooLarge();
    const uploaded = new Map(files.map((f) => [f.index, f]));
    const fromFile = (f: UploadedFile, description?: string) =>
      this.storeAttachment({
        filename: f.filename,
        contentType: f.contentType,
        data: f.data,
        description: description || undefined,
      });
    if (!body.attachments) return [...current, ...files.map((f) => fromFile(f))];
    const next: StoredAttachment[] = [];
    for (const entry of body.attachments) {
      const key = String(entry.id);
      const file = uploaded.get(key);
      if (file) {
        next.push(fromFile(entry.filename ? { ...file, filename: entry.filename } : file, entry.description));
        continue;
      }
      const kept = current.find((a) => a.id === key);
      if (kept) next.push(kept);
      else throw invalidFormBody('attachments', 'ATTACHMENT_NOT_FOUND', `Attachment ${key} was not uploaded`);
    }
    return next;
  }
}
