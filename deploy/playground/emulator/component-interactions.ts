/**
 * INTERACTION_CREATE payloads for a click on a message component (type 3) and for a modal
 * submitted (type 5), shaped as Discord sends them: `data.custom_id` and `component_type` (with
 * `values` for a select), the full `message` the component is on, and for a modal the submitted
 * values mirrored in the modal's own layout (action rows or labels around text inputs).
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-interaction-type
 */
import { componentsOf } from './components.js';
import { entryInput, modalValues, type ModalValue } from './modals.js';
import type { EmulatedGuild, EmulatedUser, StoredInteraction, StoredMessage } from './model.js';
import { interactionBase } from './interactions.js';
import { messagePayload } from './payloads.js';
import { MessageFlag, type EmulatorWorld } from './world.js';

/**
 * Something a person could not do in the Discord client (click a disabled or missing button, submit
 * a modal without a required value): the emulator refuses it without dispatching anything.
 */
export class EmulatorInputError extends Error {
  override readonly name = 'EmulatorInputError';
}

export interface ComponentClickInput {
  guild: EmulatedGuild;
  user: EmulatedUser;
  message: StoredMessage;
  customId: string;
  /** For a string select: the values picked. */
  values?: string[];
}

/** The interaction a click (or a select) on `message` produces, or an EmulatorInputError. */
export function buildComponentInteraction(
  world: EmulatorWorld,
  input: ComponentClickInput,
): { interaction: StoredInteraction; payload: unknown } {
  const { message, customId } = input;
  if (message.deleted) throw new EmulatorInputError(`message ${message.id} was deleted`);
  if (message.guildId !== input.guild.id)
    throw new EmulatorInputError('components are only clickable in guild channels here');
  if ((message.flags & MessageFlag.Ephemeral) !== 0) {
    const owner = message.interactionId ? world.interactions.get(message.interactionId)?.userId : undefined;
    if (owner !== input.user.id)
      throw new EmulatorInputError(`message ${message.id} is not visible to this user`);
  }
  const component = componentsOf(message.components).find((c) => c.custom_id === customId);
  if (!component) throw new EmulatorInputError(`message ${message.id} has no component '${customId}'`);
  if (component.disabled) throw new EmulatorInputError(`component '${customId}' is disabled`);
  const data: Record<string, unknown> = { custom_id: customId, component_type: component.type };
  if (component.type === 3) {
    const values = input.values ?? [];
    const known = new Set(component.options.map((o) => o.value));
    if (values.length < component.min_values || values.length > component.max_values)
      throw new EmulatorInputError(
        `pick between ${component.min_values} and ${component.max_values} values for '${customId}'`,
      );
    const unknown = values.find((v) => !known.has(v));
    if (unknown !== undefined) throw new EmulatorInputError(`'${unknown}' is not an option of '${customId}'`);
    data.values = values;
  } else if (input.values) throw new EmulatorInputError(`'${customId}' is a button, not a select`);
  const base = interactionBase(world, {
    guild: input.guild,
    user: input.user,
    channelId: message.channelId,
    type: 3,
    commandName: sourceCommand(world, message),
  });
  base.interaction.customId = customId;
  base.interaction.sourceMessageId = message.id;
  const payload = {
    ...base.payload,
    data,
    message: messagePayload(message, world),
  };
  return { interaction: base.interaction, payload };
}

/** The slash command behind a message (through the interaction it answers), or ''. */
function sourceCommand(world: EmulatorWorld, message: StoredMessage): string {
  const i = message.interactionId ? world.interactions.get(message.interactionId) : undefined;
  return i?.commandName ?? '';
}

/** The MODAL_SUBMIT interaction for the modal `opener` was answered with. */
export function buildModalSubmit(
  world: EmulatorWorld,
  input: {
    guild: EmulatedGuild;
    user: EmulatedUser;
    opener: StoredInteraction;
    values: Record<string, ModalValue>;
  },
): { interaction: StoredInteraction; payload: unknown } {
  const { opener } = input;
  const modal = opener.modal;
  if (!modal) throw new EmulatorInputError(`interaction ${opener.id} did not open a modal`);
  if (opener.modalSubmitted) throw new EmulatorInputError(`the modal of ${opener.id} was already submitted`);
  if (input.user.id !== opener.userId)
    throw new EmulatorInputError('only the user who opened a modal can submit it');
  const checked = modalValues(modal, input.values);
  if (!checked.ok) throw new EmulatorInputError(checked.reason);
  const components = modal.components.map((e) => {
    const t = entryInput(e);
    if (!t) return { type: e.type };
    const value = checked.values.get(t.custom_id);
    const submitted =
      t.type === 4
        ? { type: 4, custom_id: t.custom_id, value }
        : { type: 3, custom_id: t.custom_id, values: value };
    return e.type === 1 ? { type: 1, components: [submitted] } : { type: 18, component: submitted };
  });
  const base = interactionBase(world, {
    guild: input.guild,
    user: input.user,
    channelId: opener.channelId,
    type: 5,
    commandName: opener.commandName,
  });
  base.interaction.customId = modal.custom_id;
  base.interaction.sourceMessageId = opener.sourceMessageId;
  base.interaction.openerId = opener.id;
  const source = opener.sourceMessageId ? world.messages.get(opener.sourceMessageId) : undefined;
  const payload = {
    ...base.payload,
    data: { custom_id: modal.custom_id, components },
    message: source ? messagePayload(source, world) : undefined,
  };
  // A modal is submitted once; the client closes it.
  opener.modalSubmitted = true;
  return { interaction: base.interaction, payload };
}
