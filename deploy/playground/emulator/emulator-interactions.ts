/**
 * Sending interactions from pretend users: a slash command, a click on a button or a pick in a
 * select, a modal submitted. Each is recorded, dispatched as INTERACTION_CREATE, and marked failed
 * when the bot does not answer within the deadline, as Discord shows "did not respond".
 */
import { EmulatorInputError, buildComponentInteraction, buildModalSubmit } from './component-interactions.js';
import type { ModalValue, StoredModal } from './modals.js';
import type { createWaiter } from './emulator-setup.js';
import type { GatewayServer } from './gateway-server.js';
import { buildSlashInteraction, type OptionValue } from './interactions.js';
import type { EmulatedGuild, EmulatedUser, StoredInteraction, StoredMessage } from './model.js';
import type { DiscordEmulator } from './emulator.js';
import type { EmulatorWorld } from './world.js';

export interface SlashCommandOptions {
  /** A key of `emulator.users`, or a user id. */
  user: string;
  command: string;
  subcommand?: string;
  group?: string;
  options?: Record<string, OptionValue | undefined>;
  channelId?: string;
}

export interface ClickOptions {
  /** A key of `emulator.users`, or a user id. */
  user: string;
  messageId: string;
  customId: string;
}

export interface SelectOptions extends ClickOptions {
  values: string[];
}

export interface ModalSubmitOptions {
  /** The interaction the bot answered with the modal (a command or a click). */
  interactionId: string;
  /** Input custom id → text (or a select's values); inputs left out keep what the bot pre-filled. */
  values?: Record<string, ModalValue>;
  /** Defaults to the user who opened the modal (only they can submit it). */
  user?: string;
}

export interface SentInteraction {
  id: string;
  token: string;
  record: StoredInteraction;
  /** Resolves with the interaction's original response once the bot answered (or rejects on timeout). */
  response(timeoutMs?: number): Promise<StoredMessage>;
  /** Resolves once the bot acknowledged the interaction in any way (reply, defer, update, modal). */
  acknowledged(timeoutMs?: number): Promise<StoredInteraction>;
  /** Resolves with the modal the bot answered with. */
  modal(timeoutMs?: number): Promise<StoredModal>;
}

export interface InteractionContext {
  world: EmulatorWorld;
  gateway: GatewayServer;
  guild: EmulatedGuild;
  waitFor: ReturnType<typeof createWaiter>;
}

/** Records an interaction, dispatches it, and fails it at the deadline when nobody answered. */
export function dispatchInteraction(
  ctx: InteractionContext,
  interaction: StoredInteraction,
  payload: unknown,
): SentInteraction {
  const { world, gateway, waitFor } = ctx;
  world.addInteraction(interaction);
  const deadline = setTimeout(() => {
    if (interaction.state === 'pending') {
      interaction.state = 'failed';
      world.emit('interactionUpdate', interaction);
    }
  }, world.options.interactionDeadlineMs + 50);
  deadline.unref();
  world.emit('interactionCreate', interaction, payload);
  gateway.dispatch('INTERACTION_CREATE', payload);
  const what = interaction.commandName ? `/${interaction.commandName}` : `'${interaction.customId}'`;
  const answered = <T>(pick: () => T | undefined, timeoutMs: number, label: string) =>
    waitFor(
      () => {
        if (interaction.state === 'failed')
          throw new Error(`interaction ${interaction.id} was not answered within the deadline`);
        return pick();
      },
      { timeoutMs, what: `${label} to ${what}` },
    );
  return {
    id: interaction.id,
    token: interaction.token,
    record: interaction,
    response: (timeoutMs = 10_000) =>
      answered(
        () => (interaction.originalMessageId ? world.messages.get(interaction.originalMessageId) : undefined),
        timeoutMs,
        'a response',
      ),
    acknowledged: (timeoutMs = 10_000) =>
      answered(() => (interaction.state === 'pending' ? undefined : interaction), timeoutMs, 'an answer'),
    modal: (timeoutMs = 10_000) => answered(() => interaction.modal, timeoutMs, 'a modal'),
  };
}

export function sendSlashCommand(
  ctx: InteractionContext,
  user: EmulatedUser,
  o: SlashCommandOptions,
): SentInteraction {
  const { interaction, payload } = buildSlashInteraction(ctx.world, {
    guild: ctx.guild,
    user,
    channelId: o.channelId ?? '',
    command: o.command,
    subcommand: o.subcommand || undefined,
    group: o.group || undefined,
    options: o.options,
  });
  return dispatchInteraction(ctx, interaction, payload);
}

/** A click on a button (or a pick in a select) of a message; refuses disabled and unknown ones. */
export function clickComponent(
  ctx: InteractionContext,
  user: EmulatedUser,
  o: ClickOptions & { values?: string[] },
): SentInteraction {
  const message = ctx.world.messages.get(o.messageId);
  if (!message) throw new EmulatorInputError(`unknown message ${o.messageId}`);
  const { interaction, payload } = buildComponentInteraction(ctx.world, {
    guild: ctx.guild,
    user,
    message,
    customId: o.customId,
    values: o.values,
  });
  return dispatchInteraction(ctx, interaction, payload);
}

/** Submits the modal an interaction was answered with, as its user (MODAL_SUBMIT). */
export function submitModal(
  ctx: InteractionContext,
  user: EmulatedUser,
  opener: StoredInteraction,
  values: Record<string, ModalValue>,
): SentInteraction {
  const { interaction, payload } = buildModalSubmit(ctx.world, { guild: ctx.guild, user, opener, values });
  return dispatchInteraction(ctx, interaction, payload);
}

/** What pretend users do besides slash commands: clicks, selects, modals, and their DM settings. */
export function pretendUserActions(
  ctx: InteractionContext,
  userByKey: (key: string) => EmulatedUser,
): Pick<
  DiscordEmulator,
  'clickButton' | 'selectOption' | 'modalOf' | 'submitModal' | 'dmChannel' | 'dmsOf' | 'setDmsClosed'
> {
  const { world } = ctx;
  return {
    clickButton: (o) => clickComponent(ctx, userByKey(o.user), { ...o, values: undefined }),
    selectOption: (o) => clickComponent(ctx, userByKey(o.user), o),
    modalOf: (id) => world.interactions.get(id)?.modal,
    submitModal(o) {
      const opener = world.interactions.get(o.interactionId);
      if (!opener) throw new EmulatorInputError(`unknown interaction ${o.interactionId}`);
      const user = o.user ? userByKey(o.user) : world.users.get(opener.userId)!;
      return submitModal(ctx, user, opener, o.values ?? {});
    },
    dmChannel: (user) => world.dmWith(userByKey(user).id),
    dmsOf(user) {
      const dm = world.dmWith(userByKey(user).id);
      return dm ? [...world.messages.values()].filter((m) => m.channelId === dm.id && !m.deleted) : [];
    },
    setDmsClosed(user, closed) {
      userByKey(user).dmsClosed = closed;
      world.emit('usersUpdate');
    },
  };
}
