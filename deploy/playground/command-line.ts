/**
 * Turns what a playground visitor types (`/imagine prompt:a red disc seed:42`) into a slash
 * command for the emulator, the way Discord's composer does: option names end with `:`, a value
 * runs until the next known option name, values are typed from the command the bot registered.
 * Pure: the lookups of users, roles and channels are passed in.
 */
import type { OptionValue, RegisteredCommand } from './emulator/index.js';
import { OptionType } from './emulator/index.js';

type RegisteredOption = RegisteredCommand['options'][number];

export interface ParsedCommand {
  command: string;
  group?: string;
  subcommand?: string;
  options: Record<string, OptionValue>;
}

/** A typing mistake the page shows under the composer (`code` is stable, `message` is for people). */
export interface CommandLineError {
  code:
    | 'not-a-command'
    | 'unknown-command'
    | 'unknown-subcommand'
    | 'missing-option'
    | 'bad-value'
    | 'unsupported-option';
  message: string;
}

export type CommandLineResult = { ok: true; value: ParsedCommand } | { ok: false; error: CommandLineError };

export interface NameLookups {
  /** `@alice`, `alice`, `Alice` or an id → user id. */
  user(name: string): string | undefined;
  /** `@Moderator`, `Moderator` or an id → role id. */
  role(name: string): string | undefined;
  /** `#general`, `general` or an id → channel id. */
  channel(name: string): string | undefined;
}

const fail = (code: CommandLineError['code'], message: string): CommandLineResult => ({
  ok: false,
  error: { code, message },
});

const isBranch = (o: RegisteredOption) =>
  o.type === OptionType.Subcommand || o.type === OptionType.SubcommandGroup;

/** Splits `rest` at ` name:` for the given option names; text before the first name is `leading`. */
export function splitOptions(rest: string, names: string[]): { leading: string; pairs: [string, string][] } {
  if (names.length === 0) return { leading: rest.trim(), pairs: [] };
  const escaped = names
    .map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .sort((a, b) => b.length - a.length);
  const re = new RegExp(`(^|\\s)(${escaped.join('|')}):`, 'gu');
  const marks: { name: string; start: number; valueStart: number }[] = [];
  for (const m of rest.matchAll(re)) {
    const start = m.index + m[1]!.length;
    marks.push({ name: m[2]!, start, valueStart: start + m[2]!.length + 1 });
  }
  const leading = rest.slice(0, marks[0]?.start ?? rest.length).trim();
  const pairs = marks.map((mk, k): [string, string] => [
    mk.name,
    rest.slice(mk.valueStart, marks[k + 1]?.start ?? rest.length).trim(),
  ]);
  return { leading, pairs };
}

function convert(def: RegisteredOption, raw: string, lookups: NameLookups): OptionValue | CommandLineError {
  const bad = (what: string): CommandLineError => ({
    code: 'bad-value',
    message: `${def.name}: ${what}, got "${raw.slice(0, 40)}"`,
  });
  if (raw === '') return bad('needs a value');
  let value: OptionValue;
  switch (def.type) {
    case OptionType.Integer: {
      if (!/^[+-]?\d+$/.test(raw)) return bad('expected a whole number');
      const n = Number(raw);
      if (!Number.isSafeInteger(n)) return bad('number too large');
      if (def.min_value !== undefined && n < def.min_value) return bad(`must be at least ${def.min_value}`);
      if (def.max_value !== undefined && n > def.max_value) return bad(`must be at most ${def.max_value}`);
      value = n;
      break;
    }
    case OptionType.Number: {
      const n = Number(raw);
      if (!Number.isFinite(n)) return bad('expected a number');
      value = n;
      break;
    }
    case OptionType.Boolean:
      if (!/^(true|false|yes|no)$/i.test(raw)) return bad('expected true or false');
      value = /^(true|yes)$/i.test(raw);
      break;
    case OptionType.User: {
      const id = lookups.user(raw);
      if (!id) return bad('no such member');
      value = { userId: id };
      break;
    }
    case OptionType.Role: {
      const id = lookups.role(raw);
      if (!id) return bad('no such role');
      value = { roleId: id };
      break;
    }
    case OptionType.Mentionable: {
      const user = lookups.user(raw);
      const role = user ? undefined : lookups.role(raw);
      if (!user && !role) return bad('no such member or role');
      value = user ? { userId: user } : { roleId: role! };
      break;
    }
    case OptionType.Channel: {
      const id = lookups.channel(raw);
      if (!id) return bad('no such channel');
      value = { channelId: id };
      break;
    }
    case OptionType.Attachment:
      return {
        code: 'unsupported-option',
        message: `${def.name}: attachments cannot be typed; pick a file with 📎`,
      };
    default:
      value = raw;
  }
  if (def.choices && def.choices.length > 0) {
    const choice = def.choices.find(
      (c) => String(c.value) === String(value) || c.name.toLowerCase() === raw.toLowerCase(),
    );
    if (!choice) return bad(`one of ${def.choices.map((c) => c.name).join(', ')}`);
    value = choice.value;
  }
  return value;
}

/**
 * Parses one composer line against the registered commands. Text before the first option name
 * goes to the first required option (so `/imagine a red disc` works as `prompt:a red disc`).
 */
export function parseCommandLine(
  text: string,
  commands: readonly RegisteredCommand[],
  lookups: NameLookups,
  /** Options given outside the text (files picked for attachment options). */
  extra: Record<string, OptionValue> = {},
): CommandLineResult {
  const line = text.trim();
  if (!line.startsWith('/'))
    return fail('not-a-command', 'Start with / and a command, e.g. /imagine prompt:a red disc');
  const head = /^\/([\w-]+)(?:\s+|$)/u.exec(line);
  if (!head) return fail('not-a-command', 'Start with / and a command, e.g. /imagine prompt:a red disc');
  const name = head[1]!.toLowerCase();
  const command = commands.find((c) => c.name === name);
  if (!command) {
    const known = commands.map((c) => `/${c.name}`).join(', ');
    return fail(
      'unknown-command',
      `/${name} is not a command of this bot${known ? ` (try ${known})` : ' (the bot has not registered its commands yet)'}`,
    );
  }
  let rest = line.slice(head[0].length);
  let defs = command.options;
  const path: { group?: string; subcommand?: string } = {};
  // Walk subcommand groups and subcommands by their leading words.
  while (defs.some(isBranch)) {
    const word = /^([\w-]+)(?:\s+|$)/u.exec(rest);
    const branch = word ? defs.find((o) => isBranch(o) && o.name === word[1]!.toLowerCase()) : undefined;
    if (!branch) {
      const names = defs
        .filter(isBranch)
        .map((o) => o.name)
        .join(' | ');
      return fail(
        'unknown-subcommand',
        `/${[command.name, path.group].filter(Boolean).join(' ')} needs one of: ${names}`,
      );
    }
    if (branch.type === OptionType.SubcommandGroup) path.group = branch.name;
    else path.subcommand = branch.name;
    defs = branch.options ?? [];
    rest = rest.slice(word![0].length);
  }
  const { leading, pairs } = splitOptions(
    rest,
    defs.map((d) => d.name),
  );
  const options: Record<string, OptionValue> = {};
  const raw = new Map<string, string>(pairs);
  if (leading !== '') {
    const first = defs.find((d) => d.required && !raw.has(d.name)) ?? defs.find((d) => !raw.has(d.name));
    if (!first)
      return fail('bad-value', `unexpected text "${leading.slice(0, 40)}" (options are written name:value)`);
    raw.set(first.name, leading);
  }
  for (const [key, value] of raw) {
    const def = defs.find((d) => d.name === key)!;
    const converted = convert(def, value, lookups);
    if (typeof converted === 'object' && converted !== null && 'code' in converted && 'message' in converted)
      return { ok: false, error: converted };
    options[key] = converted;
  }
  for (const [key, value] of Object.entries(extra)) {
    const def = defs.find((d) => d.name === key);
    if (!def)
      return fail(
        'bad-value',
        `/${[command.name, path.group, path.subcommand].filter(Boolean).join(' ')} has no option ${key}`,
      );
    options[key] = value;
  }
  const missing = defs.filter((d) => d.required && !(d.name in options)).map((d) => `${d.name}:`);
  if (missing.length > 0) return fail('missing-option', `missing ${missing.join(' ')}`);
  return { ok: true, value: { command: command.name, ...path, options } };
}
