/**
 * Message components as Discord checks them: action rows of buttons or one string select. A bad
 * shape is refused with 50035 Invalid Form Body and the field path Discord reports; a good one is
 * stored as the clean wire JSON that message payloads and MESSAGE_CREATE/UPDATE carry back.
 * (Modals: `modals.ts`.)
 * @see https://discord.com/developers/docs/components/reference
 */
import { invalidFormBody } from './errors.js';

/** Discord component types the emulator knows. */
export const ComponentType = {
  ActionRow: 1,
  Button: 2,
  StringSelect: 3,
  TextInput: 4,
  Label: 18,
} as const;

/** Button styles: 1 primary, 2 secondary, 3 success, 4 danger, 5 link. */
export const ButtonStyle = { Primary: 1, Secondary: 2, Success: 3, Danger: 4, Link: 5 } as const;

export interface StoredEmoji {
  id: string | null;
  name: string | null;
  animated?: boolean;
}

export interface StoredButton {
  type: 2;
  style: number;
  label?: string;
  emoji?: StoredEmoji;
  custom_id?: string;
  url?: string;
  disabled: boolean;
}

export interface StoredSelectOption {
  label: string;
  value: string;
  description?: string;
  emoji?: StoredEmoji;
  default: boolean;
}

export interface StoredStringSelect {
  type: 3;
  custom_id: string;
  options: StoredSelectOption[];
  placeholder?: string;
  min_values: number;
  max_values: number;
  disabled: boolean;
}

export interface StoredActionRow {
  type: 1;
  components: (StoredButton | StoredStringSelect)[];
}

export type Raw = Record<string, unknown>;

export const fail = (field: string, code: string, message: string): never => {
  throw invalidFormBody(field, code, message);
};
export const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const len = (s: string) => [...s].length;

export function optString(raw: Raw, key: string, field: string, max: number, min = 0): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') return fail(`${field}.${key}`, 'BASE_TYPE_STRING', 'Must be a string.');
  if (len(v) > max)
    return fail(`${field}.${key}`, 'BASE_TYPE_BAD_LENGTH', `Must be between ${min} and ${max} in length.`);
  if (len(v) < min)
    return fail(`${field}.${key}`, 'BASE_TYPE_BAD_LENGTH', `Must be between ${min} and ${max} in length.`);
  return v;
}

export function reqString(raw: Raw, key: string, field: string, max: number, min = 1): string {
  const v = optString(raw, key, field, max, min);
  if (v === undefined) return fail(`${field}.${key}`, 'BASE_TYPE_REQUIRED', 'This field is required');
  return v;
}

export function optInt(raw: Raw, key: string, field: string, min: number, max: number): number | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    return fail(`${field}.${key}`, 'NUMBER_TYPE_MAX', `int value should be between ${min} and ${max}.`);
  return v;
}

function emoji(raw: unknown, field: string): StoredEmoji | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw) || (typeof raw.name !== 'string' && typeof raw.id !== 'string'))
    return fail(`${field}.emoji`, 'BUTTON_COMPONENT_INVALID_EMOJI', 'Invalid emoji');
  return {
    id: typeof raw.id === 'string' ? raw.id : null,
    name: typeof raw.name === 'string' ? raw.name : null,
    animated: raw.animated === true || undefined,
  };
}

function button(raw: Raw, field: string): StoredButton {
  const style = raw.style;
  if (typeof style !== 'number' || style < 1 || style > 5)
    return fail(`${field}.style`, 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4, 5}.');
  const label = optString(raw, 'label', field, 80);
  const e = emoji(raw.emoji, field);
  if (!label && !e) fail(field, 'BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED', 'A label or emoji is required');
  const b: StoredButton = { type: 2, style, label, emoji: e, disabled: raw.disabled === true };
  if (style === ButtonStyle.Link) {
    if (raw.custom_id !== undefined && raw.custom_id !== null)
      fail(
        `${field}.custom_id`,
        'BUTTON_COMPONENT_LINK_HAS_CUSTOM_ID',
        'A link button cannot have a custom id',
      );
    const url = reqString(raw, 'url', field, 512);
    if (!/^(https?|discord):\/\/\S+$/.test(url))
      fail(`${field}.url`, 'URL_TYPE_INVALID_URL', 'Not a well formed URL.');
    b.url = url;
  } else {
    if (raw.url !== undefined && raw.url !== null)
      fail(`${field}.url`, 'BUTTON_COMPONENT_NOT_LINK_HAS_URL', 'Only link buttons can have a url');
    b.custom_id = reqString(raw, 'custom_id', field, 100);
  }
  return b;
}

export function stringSelect(raw: Raw, field: string): StoredStringSelect {
  const options = raw.options;
  if (!Array.isArray(options) || options.length < 1 || options.length > 25)
    return fail(`${field}.options`, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 25 in length.');
  const stored = options.map((o, k): StoredSelectOption => {
    const f = `${field}.options.${k}`;
    if (!isObject(o)) return fail(f, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    return {
      label: reqString(o, 'label', f, 100),
      value: reqString(o, 'value', f, 100),
      description: optString(o, 'description', f, 100),
      emoji: emoji(o.emoji, f),
      default: o.default === true,
    };
  });
  if (new Set(stored.map((o) => o.value)).size !== stored.length)
    fail(`${field}.options`, 'SELECT_COMPONENT_OPTION_VALUE_DUPLICATED', 'Option values must be unique');
  const min = optInt(raw, 'min_values', field, 0, 25) ?? 1;
  const max = optInt(raw, 'max_values', field, 1, 25) ?? 1;
  if (min > max || max > stored.length)
    fail(`${field}.max_values`, 'SELECT_COMPONENT_MAX_VALUES_TOO_LARGE', 'max_values is out of range');
  return {
    type: 3,
    custom_id: reqString(raw, 'custom_id', field, 100),
    options: stored,
    placeholder: optString(raw, 'placeholder', field, 150),
    min_values: min,
    max_values: max,
    disabled: raw.disabled === true,
  };
}

function actionRow(raw: unknown, field: string): StoredActionRow {
  if (!isObject(raw) || raw.type !== ComponentType.ActionRow)
    return fail(`${field}.type`, 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (1,).');
  const children = raw.components;
  if (!Array.isArray(children) || children.length < 1 || children.length > 5)
    return fail(`${field}.components`, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.');
  const out = children.map((c, k) => {
    const f = `${field}.components.${k}`;
    if (!isObject(c)) return fail(f, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    if (c.type === ComponentType.Button) return button(c, f);
    if (c.type === ComponentType.StringSelect) return stringSelect(c, f);
    return fail(`${f}.type`, 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (2, 3).');
  });
  if (out.some((c) => c.type === 3) && out.length > 1)
    fail(
      `${field}.components`,
      'COMPONENT_LAYOUT_WIDTH_EXCEEDED',
      'The specified component exceeds the maximum width',
    );
  return { type: 1, components: out };
}

/**
 * Checks a message's `components` and returns them as stored: at most 5 action rows, each with 1–5
 * buttons or one string select, custom ids of 1–100 characters unique in the message, link buttons
 * with a url and no custom id. Throws 50035 like Discord otherwise.
 */
export function validateMessageComponents(raw: unknown): StoredActionRow[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) return fail('components', 'BASE_TYPE_ARRAY', 'Must be an array.');
  if (raw.length > 5) return fail('components', 'BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.');
  const rows = raw.map((r, k) => actionRow(r, `components.${k}`));
  const seen = new Set<string>();
  rows.forEach((row, r) =>
    row.components.forEach((c, k) => {
      if (c.custom_id === undefined) return;
      if (seen.has(c.custom_id))
        fail(
          `components.${r}.components.${k}.custom_id`,
          'COMPONENT_CUSTOM_ID_DUPLICATED',
          'Component custom id cannot be duplicated',
        );
      seen.add(c.custom_id);
    }),
  );
  return rows;
}

/** Every component of a message, flattened (rows dropped). */
export function componentsOf(rows: StoredActionRow[]): (StoredButton | StoredStringSelect)[] {
  return rows.flatMap((r) => r.components);
}
