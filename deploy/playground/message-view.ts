/**
 * What the playground page shows of the emulator's world, as plain JSON for one viewer: the
 * channel's messages with author, "used /command" header, embeds with their image resolved from
 * `attachment://`, reactions with counts, and ephemeral replies only for the user they belong to.
 * Interactions nobody answered in time become the "did not respond" notice Discord shows.
 */
import type {
  DiscordEmulator,
  StoredAttachment,
  StoredInteraction,
  StoredMessage,
} from './emulator/index.js';
import { MessageFlag } from './emulator/index.js';

type EmulatorWorld = DiscordEmulator['world'];

export interface PersonView {
  id: string;
  name: string;
  bot: boolean;
  /** Top role colour as #rrggbb, or null. */
  color: string | null;
}

export interface EmbedView {
  title: string | null;
  description: string | null;
  color: string | null;
  fields: { name: string; value: string; inline: boolean }[];
  image: { url: string; name: string } | null;
  footer: string | null;
}

export interface MessageView {
  id: string;
  channelId: string;
  author: PersonView;
  createdAt: number;
  editedAt: number | null;
  content: string;
  embeds: EmbedView[];
  /** Image attachments not shown inside an embed. */
  images: { url: string; name: string }[];
  /** Other attachments, as download links. */
  files: { url: string; name: string; size: number }[];
  reactions: { emoji: string; count: number; me: boolean; bot: boolean }[];
  ephemeral: boolean;
  /** Deferred reply still "thinking…". */
  loading: boolean;
  /** A notice the page shows in place of a reply (the bot did not answer in time). */
  notice?: 'no-response';
  interaction: { user: PersonView; command: string } | null;
  reference: { id: string; author: PersonView | null; snippet: string } | null;
  revision: number;
}

const hex = (c: number | undefined | null): string | null =>
  c ? `#${c.toString(16).padStart(6, '0')}` : null;

/** Path-only URL: the page loads attachments from whatever host it was opened on. */
function localUrl(a: StoredAttachment): string {
  return `/attachments/${a.id}/${encodeURIComponent(a.filename)}`;
}

export function personView(world: EmulatorWorld, guildId: string | null, userId: string): PersonView {
  const user = world.users.get(userId);
  const guild = guildId ? world.guilds.get(guildId) : undefined;
  const member = guild?.members.get(userId);
  let top: { position: number; color: number } | undefined;
  for (const roleId of member?.roleIds ?? []) {
    const role = guild?.roles.get(roleId);
    if (role && role.color !== 0 && (!top || role.position > top.position)) top = role;
  }
  return {
    id: userId,
    name: member?.nick ?? user?.globalName ?? user?.username ?? 'unknown user',
    bot: user?.bot ?? false,
    color: hex(top?.color),
  };
}

function embedView(raw: unknown, attachments: StoredAttachment[], used: Set<string>): EmbedView {
  const e = (raw ?? {}) as {
    title?: string;
    description?: string;
    color?: number;
    fields?: { name?: string; value?: string; inline?: boolean }[];
    image?: { url?: string };
    footer?: { text?: string };
  };
  let image: EmbedView['image'] = null;
  const url = e.image?.url;
  if (url?.startsWith('attachment://')) {
    const a = attachments.find((x) => x.filename === url.slice('attachment://'.length));
    if (a) {
      used.add(a.id);
      image = { url: localUrl(a), name: a.filename };
    }
  } else if (url && /^https?:\/\//.test(url)) {
    image = { url, name: url.split('/').pop() ?? 'image' };
  }
  return {
    title: e.title ?? null,
    description: e.description ?? null,
    color: hex(e.color),
    fields: (e.fields ?? []).map((f) => ({
      name: f.name ?? '',
      value: f.value ?? '',
      inline: f.inline ?? false,
    })),
    image,
    footer: e.footer?.text ?? null,
  };
}

/** Who may see a message: everyone, or only the user whose interaction an ephemeral reply answers. */
export function visibleTo(world: EmulatorWorld, m: StoredMessage, viewerId: string): boolean {
  if (m.deleted) return false;
  if ((m.flags & MessageFlag.Ephemeral) === 0) return true;
  const interaction = m.interactionId ? world.interactions.get(m.interactionId) : undefined;
  return interaction?.userId === viewerId;
}

/** The page's view of one message for `viewerId`, or null when that viewer cannot see it. */
export function messageView(world: EmulatorWorld, m: StoredMessage, viewerId: string): MessageView | null {
  if (!visibleTo(world, m, viewerId)) return null;
  const used = new Set<string>();
  const embeds = m.embeds.map((e) => embedView(e, m.attachments, used));
  const rest = m.attachments.filter((a) => !used.has(a.id));
  const interaction = m.interactionId ? world.interactions.get(m.interactionId) : undefined;
  const ref = m.referenceMessageId ? world.messages.get(m.referenceMessageId) : undefined;
  return {
    id: m.id,
    channelId: m.channelId,
    author: personView(world, m.guildId, m.authorId),
    createdAt: m.createdAt,
    editedAt: m.editedAt,
    content: m.content,
    embeds,
    images: rest
      .filter((a) => a.contentType.startsWith('image/'))
      .map((a) => ({ url: localUrl(a), name: a.filename })),
    files: rest
      .filter((a) => !a.contentType.startsWith('image/'))
      .map((a) => ({ url: localUrl(a), name: a.filename, size: a.size })),
    reactions: [...m.reactions]
      .filter(([, who]) => who.size > 0)
      .map(([emoji, who]) => ({
        emoji,
        count: who.size,
        me: who.has(viewerId),
        bot: who.has(world.applicationId),
      })),
    ephemeral: (m.flags & MessageFlag.Ephemeral) !== 0,
    loading: (m.flags & MessageFlag.Loading) !== 0,
    interaction: interaction
      ? { user: personView(world, m.guildId, interaction.userId), command: interaction.commandName }
      : null,
    reference: ref
      ? {
          id: ref.id,
          author: ref.deleted ? null : personView(world, ref.guildId, ref.authorId),
          snippet: ref.deleted
            ? 'Original message was deleted'
            : (ref.content || (ref.embeds[0] as { title?: string } | undefined)?.title || '').slice(0, 100),
        }
      : null,
    revision: m.revisions.length,
  };
}

/** An interaction the bot never answered: the viewer who sent it sees Discord's notice. */
export function noResponseView(
  world: EmulatorWorld,
  i: StoredInteraction,
  viewerId: string,
): MessageView | null {
  if (i.state !== 'failed' || i.userId !== viewerId || i.originalMessageId) return null;
  return {
    id: `no-response-${i.id}`,
    channelId: i.channelId,
    author: personView(world, i.guildId, world.applicationId),
    createdAt: i.createdAt,
    editedAt: null,
    content: 'The application did not respond',
    embeds: [],
    images: [],
    files: [],
    reactions: [],
    ephemeral: true,
    loading: false,
    notice: 'no-response',
    interaction: { user: personView(world, i.guildId, i.userId), command: i.commandName },
    reference: null,
    revision: 1,
  };
}
