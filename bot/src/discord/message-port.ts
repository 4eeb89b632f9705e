/**
 * The bot's raw Discord calls for render messages, through discord.js's REST client (so its
 * per-route queues and 429 handling apply). Raw routes rather than `Interaction` objects because
 * a restarted bot only has the stored token and ids.
 */
import {
  ButtonStyle,
  ComponentType,
  DiscordAPIError,
  HTTPError,
  Routes,
  type REST,
  type RawFile,
} from 'discord.js';
import {
  MessageEditError,
  type EditTarget,
  type MessageButton,
  type MessageEditPort,
  type RenderPayload,
} from '../core/frame-editor.js';

const NO_PINGS = { parse: [] as string[] };

function contentTypeOf(name: string): string {
  if (name.endsWith('.png')) return 'image/png';
  if (name.endsWith('.webp')) return 'image/webp';
  if (name.endsWith('.jpg') || name.endsWith('.jpeg')) return 'image/jpeg';
  return 'application/octet-stream';
}

const BUTTON_STYLES = {
  primary: ButtonStyle.Primary,
  secondary: ButtonStyle.Secondary,
  success: ButtonStyle.Success,
  danger: ButtonStyle.Danger,
} as const;

/** Discord's action rows of buttons (component types 1 and 2). */
export function toComponentRows(rows: MessageButton[][]): Record<string, unknown>[] {
  return rows
    .filter((row) => row.length > 0)
    .map((row) => ({
      type: ComponentType.ActionRow,
      components: row.map((b) => ({
        type: ComponentType.Button,
        style: BUTTON_STYLES[b.style],
        label: b.label,
        custom_id: b.customId,
        emoji: b.emoji ? { name: b.emoji } : undefined,
      })),
    }));
}

/** JSON body + files for a message create/edit from a render payload. */
export function toRestBody(payload: RenderPayload): { body: Record<string, unknown>; files: RawFile[] } {
  const image = payload.image;
  const embed = payload.embed
    ? // Spread: `image: undefined` would erase an image the embed already names.
      { ...payload.embed, ...(image ? { image: { url: `attachment://${image.name}` } } : {}) }
    : undefined;
  return {
    body: {
      content: payload.content,
      embeds: embed ? [embed] : [],
      // Listing exactly the new file replaces the previous frame instead of piling frames up.
      attachments: image ? [{ id: 0, filename: image.name }] : [],
      // Every state lists its buttons (none until the render is finished).
      components: toComponentRows(payload.components ?? []),
      allowed_mentions: NO_PINGS,
    },
    files: image
      ? [
          {
            name: image.name,
            data: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength),
            contentType: contentTypeOf(image.name),
          },
        ]
      : [],
  };
}

export function toEditError(e: unknown): unknown {
  if (e instanceof DiscordAPIError)
    return new MessageEditError(e.message, typeof e.code === 'number' ? e.code : undefined, e.status, {
      cause: e,
    });
  if (e instanceof HTTPError) return new MessageEditError(e.message, undefined, e.status, { cause: e });
  return e;
}

export class DiscordMessagePort implements MessageEditPort {
  /** DM channel id per user (a cache: Discord answers the same channel every time). */
  private readonly dmChannels = new Map<string, string>();

  constructor(private readonly rest: REST) {}

  /**
   * Sends a message to a user's DMs (opening the DM channel first); a user who does not accept
   * DMs from the bot makes it reject with a `MessageEditError` of code 50007.
   */
  async dm(userId: string, payload: RenderPayload): Promise<string> {
    try {
      let channelId = this.dmChannels.get(userId);
      if (!channelId) {
        const channel = (await this.rest.post(Routes.userChannels(), { body: { recipient_id: userId } })) as {
          id: string;
        };
        channelId = channel.id;
        if (this.dmChannels.size > 10_000) this.dmChannels.clear();
        this.dmChannels.set(userId, channelId);
      }
      const { body, files } = toRestBody(payload);
      const message = (await this.rest.post(Routes.channelMessages(channelId), { body, files })) as {
        id: string;
      };
      return message.id;
    } catch (e) {
      throw toEditError(e);
    }
  }

  async edit(target: EditTarget, payload: RenderPayload): Promise<void> {
    const { body, files } = toRestBody(payload);
    try {
      if (target.kind === 'interaction') {
        await this.rest.patch(Routes.webhookMessage(target.applicationId, target.token, '@original'), {
          body,
          files,
          auth: false,
        });
      } else {
        await this.rest.patch(Routes.channelMessage(target.channelId, target.messageId), { body, files });
      }
    } catch (e) {
      throw toEditError(e);
    }
  }

  /** Posts a message in a channel with the bot token; returns its id. */
  async post(channelId: string, payload: RenderPayload, replyTo?: string): Promise<string> {
    const { body, files } = toRestBody(payload);
    const full = replyTo
      ? { ...body, message_reference: { message_id: replyTo, fail_if_not_exists: false } }
      : body;
    try {
      const message = (await this.rest.post(Routes.channelMessages(channelId), { body: full, files })) as {
        id: string;
      };
      return message.id;
    } catch (e) {
      throw toEditError(e);
    }
  }

  /** A short text message (no embeds, no pings). */
  async say(channelId: string, content: string, replyTo?: string): Promise<string> {
    const body = {
      content,
      allowed_mentions: NO_PINGS,
      message_reference: replyTo ? { message_id: replyTo, fail_if_not_exists: false } : undefined,
    };
    const message = (await this.rest.post(Routes.channelMessages(channelId), { body })) as { id: string };
    return message.id;
  }

  async delete(channelId: string, messageId: string): Promise<void> {
    try {
      await this.rest.delete(Routes.channelMessage(channelId, messageId));
    } catch (e) {
      throw toEditError(e);
    }
  }

  async react(channelId: string, messageId: string, emoji: string): Promise<void> {
    await this.rest.put(Routes.channelMessageOwnReaction(channelId, messageId, encodeURIComponent(emoji)));
  }

  async removeReaction(channelId: string, messageId: string, emoji: string, userId: string): Promise<void> {
    await this.rest.delete(
      Routes.channelMessageUserReaction(channelId, messageId, encodeURIComponent(emoji), userId),
    );
  }
}
