/** What the page draws for one viewer: the server, its people and commands, and the visible messages. */
import {
  Permission,
  type DiscordEmulator,
  type RegisteredCommand,
  type StoredModalEntry,
} from './emulator/index.js';
import {
  messageView,
  noResponseView,
  personView,
  type MessageView,
  type PersonView,
} from './message-view.js';
import { RequestError } from './playground-http.js';

export interface PlaygroundUser extends PersonView {
  key: string;
  moderator: boolean;
  roles: string[];
}

/** Everything the page needs to draw itself for one viewer. */
export interface PlaygroundState {
  guild: { id: string; name: string };
  channels: { id: string; name: string }[];
  defaultChannelId: string;
  users: PlaygroundUser[];
  roles: { id: string; name: string; color: string | null }[];
  bot: PersonView;
  botOnline: boolean;
  commands: RegisteredCommand[];
  messages: MessageView[];
  /** The viewer's DMs with the bot: the channel once the bot opened it, and whether they are closed. */
  dms: DmState;
  /** A modal the bot showed the viewer and they have not submitted or closed yet. */
  modal: ModalView | null;
}

export interface DmState {
  channelId: string | null;
  closed: boolean;
}

/** One entry of a modal as the page draws it: a text input, a select, or a line of text. */
export type ModalFieldView =
  | {
      kind: 'text';
      customId: string;
      label: string;
      description: string | null;
      /** 'short' (one line) or 'paragraph'. */
      style: 'short' | 'paragraph';
      value: string;
      placeholder: string | null;
      required: boolean;
      minLength: number | null;
      maxLength: number | null;
    }
  | {
      kind: 'select';
      customId: string;
      label: string;
      description: string | null;
      options: { label: string; value: string; default: boolean }[];
      minValues: number;
      maxValues: number;
      required: boolean;
    }
  | { kind: 'note'; content: string };

export interface ModalView {
  interactionId: string;
  title: string;
  fields: ModalFieldView[];
}

export function dmState(emu: DiscordEmulator, viewerKey: string): DmState {
  const user = emu.users[viewerKey]!;
  return { channelId: emu.dmChannel(viewerKey)?.id ?? null, closed: user.dmsClosed === true };
}

/** The newest modal still open for the viewer (Discord shows one at a time), or null. */
export function modalView(emu: DiscordEmulator, viewerKey: string, dismissed: Set<string>): ModalView | null {
  const viewerId = emu.users[viewerKey]!.id;
  const open = [...emu.world.interactions.values()]
    .filter(
      (i) => i.modal && !i.modalSubmitted && !i.tokenExpired && i.userId === viewerId && !dismissed.has(i.id),
    )
    .at(-1);
  if (!open?.modal) return null;
  return {
    interactionId: open.id,
    title: open.modal.title,
    fields: open.modal.components.map(fieldView),
  };
}

function fieldView(e: StoredModalEntry): ModalFieldView {
  if (e.type === 10) return { kind: 'note', content: e.content };
  const t = e.type === 1 ? e.components[0] : e.component;
  const label = e.type === 18 ? e.label : ((t.type === 4 ? t.label : undefined) ?? t.custom_id);
  const description = e.type === 18 ? (e.description ?? null) : null;
  if (t.type === 3)
    return {
      kind: 'select',
      customId: t.custom_id,
      label,
      description,
      options: t.options.map((o) => ({ label: o.label, value: o.value, default: o.default })),
      minValues: t.min_values,
      maxValues: t.max_values,
      required: t.required,
    };
  return {
    kind: 'text',
    customId: t.custom_id,
    label,
    description,
    style: t.style === 2 ? 'paragraph' : 'short',
    value: t.value ?? '',
    placeholder: t.placeholder ?? null,
    required: t.required,
    minLength: t.min_length ?? null,
    maxLength: t.max_length ?? null,
  };
}

/** The pretend user's key, `alice` when none is given. */
export function userKey(emu: DiscordEmulator, key: string | null): string {
  const k = key ?? 'alice';
  if (!emu.users[k])
    throw new RequestError(400, `unknown user '${k}' (one of ${Object.keys(emu.users).join(', ')})`);
  return k;
}

function isModerator(emu: DiscordEmulator, userId: string): boolean {
  const g = emu.guild.raw;
  if (g.ownerId === userId) return true;
  const roles = g.members.get(userId)?.roleIds ?? [];
  return roles.some(
    (r) => ((g.roles.get(r)?.permissions ?? 0n) & (Permission.ManageGuild | Permission.Administrator)) !== 0n,
  );
}

/** Commands as the bot registered them: guild commands first, then global ones not shadowed. */
export function commandsOf(emu: DiscordEmulator): RegisteredCommand[] {
  const all = [...emu.world.commands.values()];
  const guild = all.filter((c) => c.guildId === emu.guild.id);
  const global = all.filter((c) => c.guildId === null && !guild.some((g) => g.name === c.name));
  return [...guild, ...global];
}

function viewsFor(emu: DiscordEmulator, viewerId: string): MessageView[] {
  const views: MessageView[] = [];
  for (const m of emu.world.messages.values()) {
    const v = messageView(emu.world, m, viewerId);
    if (v) views.push(v);
  }
  for (const i of emu.world.interactions.values()) {
    const v = noResponseView(emu.world, i, viewerId);
    if (v) views.push(v);
  }
  return views.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
}

export function snapshot(emu: DiscordEmulator, viewerKey: string, dismissed: Set<string>): PlaygroundState {
  const g = emu.guild.raw;
  const viewer = emu.users[viewerKey]!;
  return {
    guild: { id: g.id, name: g.name },
    channels: [...g.channels.values()]
      .sort((a, b) => a.position - b.position)
      .map((c) => ({ id: c.id, name: c.name })),
    defaultChannelId: emu.guild.channelId,
    users: Object.entries(emu.users).map(([key, u]) => ({
      ...personView(emu.world, g.id, u.id),
      key,
      moderator: isModerator(emu, u.id),
      roles: [
        ...(g.ownerId === u.id ? ['Server owner'] : []),
        ...(g.members.get(u.id)?.roleIds ?? []).map((r) => g.roles.get(r)?.name ?? r),
      ],
    })),
    roles: [...g.roles.values()]
      .filter((r) => r.id !== g.id)
      .map((r) => ({
        id: r.id,
        name: r.name,
        color: r.color ? `#${r.color.toString(16).padStart(6, '0')}` : null,
      })),
    bot: personView(emu.world, g.id, emu.applicationId),
    botOnline: emu.connectedBots() > 0,
    commands: commandsOf(emu),
    messages: viewsFor(emu, viewer.id),
    dms: dmState(emu, viewerKey),
    modal: modalView(emu, viewerKey, dismissed),
  };
}
