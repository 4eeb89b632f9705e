/**
 * What the playground page shows of the emulator's world, as plain JSON for one viewer: the
 * channel's messages with author, "used /command" header, embeds with their image resolved from
 * `attachment://`, reactions with counts, and ephemeral replies only for the user they belong to.
 * Interactions nobody answered in time become the "did not respond" notice Discord shows.
 */
import type {
  DiscordEmulator,
  StoredActionRow,
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

/** A button or select under a message, as the page draws it. */
export type ComponentView =
  | {
      kind: 'button';
      /** primary | secondary | success | danger | link */
      style: string;
      label: string | null;
      emoji: string | null;
      customId: string | null;
      url: string | null;
      disabled: boolean;
    }
  | {
      kind: 'select';
      customId: string;
      placeholder: string | null;
      options: { label: string; value: string; description: string | null }[];
      minValues: number;
      maxValues: number;
      disabled: boolean;
    };

export interface MessageView {
  id: string;
  channelId: string;
  /** In the viewer's DMs with the bot rather than a server channel. */
  dm: boolean;
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
  /** Action rows of buttons / selects. */
  components: ComponentView[][];
  ephemeral: boolean;
  /** Deferred reply still "thinking…". */
  loading: boolean;
  /** A notice the page shows in place of a reply (the bot did not answer in time). */
  notice?: 'no-response';
  /** What the reply answers: a slash command, or a click (a component or a modal from one). */
  interaction: { user: PersonView; command: string; kind: 'command' | 'component' | 'modal' } | null;
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

const STYLES = ['', 'primary', 'secondary', 'success', 'danger', 'link'];

export function componentViews(rows: StoredActionRow[]): ComponentView[][] {
  return rows.map((row) =>
    row.components.map((c): ComponentView => {
      if (c.type === 3)
        return {
          kind: 'select',
          customId: c.custom_id,
          placeholder: c.placeholder ?? null,
          options: c.options.map((o) => ({
            label: o.label,
            value: o.value,
            description: o.description ?? null,
          })),
          minValues: c.min_values,
          maxValues: c.max_values,
          disabled: c.disabled,
        };
      return {
        kind: 'button',
        style: STYLES[c.style] ?? 'secondary',
        label: c.label ?? null,
        emoji: c.emoji?.name ?? null,
        customId: c.custom_id ?? null,
        url: c.url ?? null,
        disabled: c.disabled,
      };
    }),
  );
}

const KINDS = { 2: 'command', 3: 'component', 5: 'modal' } as const;

/**
 * Who may see a message: everyone in a server channel, only the recipient in a DM, and only the
 * user whose interaction an ephemeral reply answers.
 */
export function visibleTo(world: EmulatorWorld, m: StoredMessage, viewerId: string): boolean {
  if (m.deleted) return false;
  if (m.guildId === null) return world.dmChannels.get(m.channelId)?.recipientId === viewerId;
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
    dm: m.guildId === null,
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
    components: componentViews(m.components),
    ephemeral: (m.flags & MessageFlag.Ephemeral) !== 0,
    loading: (m.flags & MessageFlag.Loading) !== 0,
    interaction: interaction ? interactionView(world, interaction) : null,
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
    dm: false,
    author: personView(world, i.guildId, world.applicationId),
    createdAt: i.createdAt,
    editedAt: null,
    content: 'The application did not respond',
    embeds: [],
    images: [],
    files: [],
    reactions: [],
    components: [],
    ephemeral: true,
    loading: false,
    notice: 'no-response',
    interaction: interactionView(world, i),
    reference: null,
    revision: 1,
  };
}

function interactionView(
  world: EmulatorWorld,
  i: StoredInteraction,
): NonNullable<MessageView['interaction']> {
  return { user: personView(world, i.guildId, i.userId), command: i.commandName, kind: KINDS[i.type] };
}
