/**
 * INTERACTION_CREATE payloads for a click on a message component (type 3) and for a modal
 * submitted (type 5), shaped as Discord sends them: `data.custom_id` and `component_type` (with
 * `values` for a select), the full `message` the component is on, and for a modal the submitted
 * values mirrored in the modal's own layout (action rows or labels around text inputs).
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-interaction-type
 */
import { componentsOf, entryInput, type StoredModal } from './components.js';
import type { EmulatedGuild, EmulatedUser, StoredInteraction, StoredMessage } from './model.js';
import { interactionBase } from './interactions.js';
import { messagePayload } from './payloads.js';
import type { EmulatorWorld } from './world.js';

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
    message: messagePayload(message, world.users, world.applicationId),
  };
  return { interaction: base.interaction, payload };
}

/** The slash command behind a message (through the interaction it answers), or ''. */
function sourceCommand(world: EmulatorWorld, message: StoredMessage): string {
  const i = message.interactionId ? world.interactions.get(message.interactionId) : undefined;
  return i?.commandName ?? '';
}

/**
 * The values a modal is submitted with: each text input's given value, else the value the bot
 * pre-filled; required inputs must not be empty and lengths must fit, as the client enforces.
 */
export function modalValues(modal: StoredModal, given: Record<string, string>): Map<string, string> {
  const inputs = modal.components.map(entryInput);
  for (const id of Object.keys(given))
    if (!inputs.some((t) => t.custom_id === id))
      throw new EmulatorInputError(`modal '${modal.custom_id}' has no input '${id}'`);
  const out = new Map<string, string>();
  for (const t of inputs) {
    const value = given[t.custom_id] ?? t.value ?? '';
    const n = [...value].length;
    const name = t.label ?? t.custom_id;
    if (t.required && n === 0) throw new EmulatorInputError(`'${name}' is required`);
    if (n > 0 && t.min_length !== undefined && n < t.min_length)
      throw new EmulatorInputError(`'${name}' needs at least ${t.min_length} characters`);
    if (t.max_length !== undefined && n > t.max_length)
      throw new EmulatorInputError(`'${name}' takes at most ${t.max_length} characters`);
    if (t.style === 1 && value.includes('\n')) throw new EmulatorInputError(`'${name}' is a single line`);
    out.set(t.custom_id, value);
  }
  return out;
}

/** The MODAL_SUBMIT interaction for the modal `opener` was answered with. */
export function buildModalSubmit(
  world: EmulatorWorld,
  input: {
    guild: EmulatedGuild;
    user: EmulatedUser;
    opener: StoredInteraction;
    values: Record<string, string>;
  },
): { interaction: StoredInteraction; payload: unknown } {
  const { opener } = input;
  const modal = opener.modal;
  if (!modal) throw new EmulatorInputError(`interaction ${opener.id} did not open a modal`);
  if (opener.modalSubmitted) throw new EmulatorInputError(`the modal of ${opener.id} was already submitted`);
  if (input.user.id !== opener.userId)
    throw new EmulatorInputError('only the user who opened a modal can submit it');
  const values = modalValues(modal, input.values);
  const components = modal.components.map((e) => {
    const t = entryInput(e);
    const submitted = { type: 4, custom_id: t.custom_id, value: values.get(t.custom_id) };
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
  const source = opener.sourceMessageId ? world.messages.get(opener.sourceMessageId) : undefined;
  const payload = {
    ...base.payload,
    data: { custom_id: modal.custom_id, components },
    message: source ? messagePayload(source, world.users, world.applicationId) : undefined,
  };
  // A modal is submitted once; the client closes it.
  opener.modalSubmitted = true;
  return { interaction: base.interaction, payload };
}
