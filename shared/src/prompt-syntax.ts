/**
 * The prompt syntax people know from VQGAN-CLIP notebooks: `text:weight:stop`, several joined
 * by `|`, e.g. `a red circle:1 | a blue square:-0.5`. A pure parser that never throws on user
 * input: mistakes come back as a value with a stable `identifier` the bot and the CLI turn into
 * a friendly message.
 *
 * Choice: `:` is always a separator (there is no escape), so a prompt's text cannot contain `:`,
 * and a segment has at most three parts. `a:b:c:d` is an error rather than a guess; `|` likewise
 * always separates prompts. An empty weight (`text::0.5`) means the default weight 1.
 */

/** Longest accepted prompt line (all segments together), in characters. */
export const MAX_PROMPT_LENGTH = 1000;
/** Most prompts in one line. */
export const MAX_PROMPTS = 8;

export interface ParsedPrompt {
  text: string;
  /** Signed: a negative weight pushes the image away from the text. Never 0. */
  weight: number;
  /** Stop distance; absent = never stop. */
  stop?: number;
}

export type PromptSyntaxErrorId =
  | 'empty-prompt'
  | 'prompt-too-long'
  | 'too-many-prompts'
  | 'too-many-colons'
  | 'bad-weight'
  | 'bad-stop'
  | 'weights-not-positive';

export interface PromptSyntaxError {
  identifier: PromptSyntaxErrorId;
  message: string;
  /** Index of the offending `|`-separated segment, where there is one. */
  segment?: number;
}

export type PromptParseResult =
  | { ok: true; prompts: ParsedPrompt[] }
  | { ok: false; error: PromptSyntaxError };

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function parseNumber(raw: string): number | undefined {
  const s = raw.trim();
  if (!NUMBER.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function fail(identifier: PromptSyntaxErrorId, message: string, segment?: number): PromptParseResult {
  return {
    ok: false,
    error: segment === undefined ? { identifier, message } : { identifier, message, segment },
  };
}

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/** Parses a prompt line. Never throws. */
export function parsePromptLine(input: string): PromptParseResult {
  if (typeof input !== 'string' || input.trim() === '') return fail('empty-prompt', 'The prompt is empty.');
  if (input.length > MAX_PROMPT_LENGTH) {
    return fail(
      'prompt-too-long',
      `The prompt is ${input.length} characters long; at most ${MAX_PROMPT_LENGTH} are accepted.`,
    );
  }
  const segments = input.split('|');
  if (segments.length > MAX_PROMPTS) {
    return fail(
      'too-many-prompts',
      `${segments.length} prompts joined by '|'; at most ${MAX_PROMPTS} are accepted.`,
    );
  }
  const prompts: ParsedPrompt[] = [];
  for (const [i, segment] of segments.entries()) {
    const parts = segment.split(':');
    if (parts.length > 3) {
      return fail(
        'too-many-colons',
        `Prompt ${i + 1} (${quote(segment.trim())}) has ${parts.length - 1} ':'; the syntax is text:weight:stop and the text itself cannot contain ':'.`,
        i,
      );
    }
    const text = (parts[0] ?? '').trim().replace(/\s+/g, ' ');
    if (text === '')
      return fail(
        'empty-prompt',
        `Prompt ${i + 1} has no text (the syntax is text:weight:stop, joined by '|').`,
        i,
      );
    const prompt: ParsedPrompt = { text, weight: 1 };
    const rawWeight = parts[1];
    if (rawWeight !== undefined && rawWeight.trim() !== '') {
      const weight = parseNumber(rawWeight);
      if (weight === undefined)
        return fail(
          'bad-weight',
          `The weight of prompt ${i + 1} (${quote(rawWeight.trim())}) is not a number.`,
          i,
        );
      if (weight === 0)
        return fail(
          'bad-weight',
          `The weight of prompt ${i + 1} is 0, which does nothing; leave the prompt out instead.`,
          i,
        );
      prompt.weight = weight;
    }
    const rawStop = parts[2];
    if (rawStop !== undefined && rawStop.trim() !== '') {
      const stop = parseNumber(rawStop);
      if (stop === undefined)
        return fail('bad-stop', `The stop of prompt ${i + 1} (${quote(rawStop.trim())}) is not a number.`, i);
      prompt.stop = stop;
    }
    prompts.push(prompt);
  }
  const sum = prompts.reduce((acc, p) => acc + p.weight, 0);
  if (sum <= 0) {
    return fail(
      'weights-not-positive',
      `The prompt weights add up to ${sum}; they must add up to more than 0 (negative weights only push away from something).`,
    );
  }
  return { ok: true, prompts };
}

/** The inverse of {@link parsePromptLine} for display (metadata, captions). */
export function formatPromptLine(prompts: readonly ParsedPrompt[]): string {
  return prompts
    .map((p) =>
      p.stop !== undefined
        ? `${p.text}:${p.weight}:${p.stop}`
        : p.weight !== 1
          ? `${p.text}:${p.weight}`
          : p.text,
    )
    .join(' | ');
}
