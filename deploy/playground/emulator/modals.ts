/**
 * Modals as Discord checks and submits them. The bot's MODAL callback (type 9) carries a title, a
 * custom id and 1–5 entries: a label wrapping a text input or a string select (the current form),
 * an action row with one text input (the older form), or a text display. The user's submission
 * mirrors that layout with each input's value (or a select's values).
 * @see https://discord.com/developers/docs/components/reference#modal
 */
import {
  fail,
  isObject,
  optInt,
  optString,
  reqString,
  stringSelect,
  type Raw,
  type StoredStringSelect,
} from './components.js';

export interface StoredTextInput {
  type: 4;
  custom_id: string;
  /** 1 short, 2 paragraph. */
  style: number;
  label?: string;
  placeholder?: string;
  value?: string;
  required: boolean;
  min_length?: number;
  max_length?: number;
}

/** A string select in a modal: like a message's, plus `required`. */
export type StoredModalSelect = StoredStringSelect & { required: boolean };

/** What a user fills in: a text input or a string select. */
export type StoredModalInput = StoredTextInput | StoredModalSelect;

/** One top-level entry of a modal. */
export type StoredModalEntry =
  | { type: 1; components: [StoredTextInput] }
  | { type: 18; label: string; description?: string; component: StoredModalInput }
  | { type: 10; content: string };

export interface StoredModal {
  custom_id: string;
  title: string;
  components: StoredModalEntry[];
}

function textInput(raw: unknown, field: string): StoredTextInput {
  if (!isObject(raw) || raw.type !== 4)
    return fail(`${field}.type`, 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (4,).');
  const style = raw.style;
  if (style !== 1 && style !== 2)
    return fail(`${field}.style`, 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2}.');
  const min = optInt(raw, 'min_length', field, 0, 4000);
  const max = optInt(raw, 'max_length', field, 1, 4000);
  if (min !== undefined && max !== undefined && min > max)
    fail(`${field}.min_length`, 'BASE_TYPE_BAD_INT', 'min_length must not exceed max_length');
  return {
    type: 4,
    custom_id: reqString(raw, 'custom_id', field, 100),
    style,
    label: optString(raw, 'label', field, 45),
    placeholder: optString(raw, 'placeholder', field, 100),
    value: optString(raw, 'value', field, max ?? 4000),
    required: raw.required !== false,
    min_length: min,
    max_length: max,
  };
}

function labelled(raw: unknown, field: string): StoredModalInput {
  if (isObject(raw) && raw.type === 3)
    return { ...stringSelect(raw, field), required: raw.required !== false };
  return textInput(raw, field);
}

function modalEntry(raw: unknown, field: string): StoredModalEntry {
  if (isObject(raw) && raw.type === 18) {
    return {
      type: 18,
      label: reqString(raw, 'label', field, 45),
      description: optString(raw, 'description', field, 100),
      component: labelled(raw.component, `${field}.component`),
    };
  }
  if (isObject(raw) && raw.type === 10) return { type: 10, content: reqString(raw, 'content', field, 4000) };
  if (!isObject(raw) || raw.type !== 1)
    return fail(`${field}.type`, 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (1, 10, 18).');
  const children = raw.components;
  if (!Array.isArray(children) || children.length !== 1)
    return fail(`${field}.components`, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 1 in length.');
  const input = textInput(children[0], `${field}.components.0`);
  if (!input.label) fail(`${field}.components.0.label`, 'BASE_TYPE_REQUIRED', 'This field is required');
  return { type: 1, components: [input] };
}

/** The input inside a modal entry (none for a text display). */
export const entryInput = (e: StoredModalEntry): StoredModalInput | undefined =>
  e.type === 1 ? e.components[0] : e.type === 18 ? e.component : undefined;

/** The inputs of a modal, in order. */
export const modalInputs = (m: StoredModal): StoredModalInput[] =>
  m.components.flatMap((e) => entryInput(e) ?? []);

/**
 * Checks the `data` of a MODAL callback (type 9): a title of 1–45 characters, a custom id of 1–100,
 * 1–5 entries, custom ids unique.
 */
export function validateModal(raw: Raw): StoredModal {
  const title = reqString(raw, 'title', 'data', 45);
  const customId = reqString(raw, 'custom_id', 'data', 100);
  const entries = raw.components;
  if (!Array.isArray(entries) || entries.length < 1 || entries.length > 5)
    return fail('data.components', 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.');
  const modal = {
    custom_id: customId,
    title,
    components: entries.map((e, k) => modalEntry(e, `data.components.${k}`)),
  };
  const ids = modalInputs(modal).map((t) => t.custom_id);
  if (new Set(ids).size !== ids.length)
    fail('data.components', 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
  return modal;
}

/** A value the user submits: text for a text input, the picked values for a select. */
export type ModalValue = string | string[];

/** Why a submission is refused (what the Discord client would not let through), or the values. */
export function modalValues(
  modal: StoredModal,
  given: Record<string, ModalValue>,
): { ok: true; values: Map<string, ModalValue> } | { ok: false; reason: string } {
  const inputs = modalInputs(modal);
  for (const id of Object.keys(given))
    if (!inputs.some((t) => t.custom_id === id))
      return { ok: false, reason: `modal '${modal.custom_id}' has no input '${id}'` };
  const values = new Map<string, ModalValue>();
  for (const t of inputs) {
    const problem = t.type === 4 ? textProblem(t, given[t.custom_id]) : selectProblem(t, given[t.custom_id]);
    if (typeof problem === 'string') return { ok: false, reason: problem };
    values.set(t.custom_id, problem.value);
  }
  return { ok: true, values };
}

function textProblem(t: StoredTextInput, given: ModalValue | undefined): string | { value: string } {
  if (Array.isArray(given)) return `'${t.label ?? t.custom_id}' takes text`;
  const value = given ?? t.value ?? '';
  const n = [...value].length;
  const name = t.label ?? t.custom_id;
  if (t.required && n === 0) return `'${name}' is required`;
  if (n > 0 && t.min_length !== undefined && n < t.min_length)
    return `'${name}' needs at least ${t.min_length} characters`;
  if (t.max_length !== undefined && n > t.max_length)
    return `'${name}' takes at most ${t.max_length} characters`;
  if (t.style === 1 && value.includes('\n')) return `'${name}' is a single line`;
  return { value };
}

function selectProblem(s: StoredModalSelect, given: ModalValue | undefined): string | { value: string[] } {
  const picked =
    given === undefined ? s.options.filter((o) => o.default).map((o) => o.value) : [given].flat();
  if (picked.length === 0 && !s.required) return { value: [] };
  if (picked.length < Math.max(1, s.min_values) || picked.length > s.max_values)
    return `pick between ${Math.max(1, s.min_values)} and ${s.max_values} values for '${s.custom_id}'`;
  const unknown = picked.find((v) => !s.options.some((o) => o.value === v));
  if (unknown !== undefined) return `'${unknown}' is not an option of '${s.custom_id}'`;
  return { value: picked };
}
