/**
 * discord.js side of the render buttons: a `ButtonInteraction` or `ModalSubmitInteraction` as a
 * `ButtonClick` and its private answers, and the Edit modal as Discord's JSON.
 */
import {
  ComponentType,
  MessageFlags,
  TextInputStyle,
  type APIModalInteractionResponseCallbackData,
  type ButtonInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import { MAX_PROMPT_CHARS } from '../core/imagine-request.js';
import type { EditFields } from '../core/render-actions.js';
import type { ButtonClick, ClickResponder, EditModal } from './buttons.js';
import { memberRoleIds } from './permissions.js';

const NO_PINGS = { parse: [] as [] };

const FIELDS: { key: keyof EditFields; label: string; long?: boolean; max: number; required: boolean }[] = [
  { key: 'prompt', label: 'Prompt', long: true, max: MAX_PROMPT_CHARS, required: true },
  { key: 'seed', label: 'Seed (blank: a new one)', max: 10, required: false },
  { key: 'steps', label: 'Steps (blank: the quality’s)', max: 5, required: false },
  { key: 'size', label: 'Size (WxH)', max: 11, required: false },
  { key: 'options', label: 'Options (key=value …)', long: true, max: 400, required: false },
];

/** The modal as Discord's JSON (component types 1 and 4). */
export function modalJson(modal: EditModal): APIModalInteractionResponseCallbackData {
  return {
    custom_id: modal.customId,
    title: modal.title,
    components: FIELDS.map((f) => ({
      type: ComponentType.ActionRow as const,
      components: [
        {
          type: ComponentType.TextInput as const,
          custom_id: f.key,
          label: f.label,
          style: f.long ? TextInputStyle.Paragraph : TextInputStyle.Short,
          value: modal.fields[f.key].slice(0, f.max) || undefined,
          max_length: f.max,
          required: f.required,
        },
      ],
    })),
  };
}

export function clickOf(i: ButtonInteraction | ModalSubmitInteraction): ButtonClick {
  const field = (key: keyof EditFields) => {
    try {
      return i.isModalSubmit() ? i.fields.getTextInputValue(key) : '';
    } catch {
      return '';
    }
  };
  return {
    interactionId: i.id,
    customId: i.customId,
    guildId: i.guildId ?? undefined,
    channelId: i.channelId ?? '',
    userId: i.user.id,
    userName: i.user.username,
    roleIds: memberRoleIds(i.member),
    fields: i.isModalSubmit()
      ? {
          prompt: field('prompt'),
          seed: field('seed'),
          steps: field('steps'),
          size: field('size'),
          options: field('options'),
        }
      : undefined,
  };
}

export function responderOf(i: ButtonInteraction | ModalSubmitInteraction): ClickResponder {
  return {
    async defer() {
      if (!i.deferred && !i.replied) await i.deferReply({ flags: MessageFlags.Ephemeral });
    },
    async answer(content) {
      if (i.deferred || i.replied) await i.editReply({ content, allowedMentions: NO_PINGS });
      else await i.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
    },
    async showModal(modal) {
      if (i.isModalSubmit()) throw new Error('a modal cannot open another modal');
      await i.showModal(modalJson(modal));
    },
  };
}
