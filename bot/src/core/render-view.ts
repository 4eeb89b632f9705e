/**
 * What a render message says at each moment, as a pure function of the render's parameters and
 * its current state. User text only ever goes into the embed (embeds never notify anyone) and is
 * escaped; the plain content line is built from numbers and fixed words.
 */
import { LOOP_OPTION_RANGES } from '../../../shared/src/loop-options.js';
import { formatEta } from './eta.js';
import type { MessageImage, RenderPayload } from './frame-editor.js';
import { ORIGIN_WORDS, renderButtons, type ButtonFacts } from './render-buttons.js';
import type { RenderOrigin, RenderParams } from './render-record.js';
import { displayText } from './text-safety.js';

export interface RenderFacts {
  promptText: string;
  avoidText?: string;
  requesterId: string;
  seed: number;
  steps: number;
  width: number;
  height: number;
  quality: string;
  model: string;
  /** Weights of the image prompts, if the render has any (`/imagine image_prompt_N`, `/blend`). */
  imageWeights?: number[];
  /** Link to the message this render comes from. */
  parentLink?: string;
  /** How it comes from it (absent: a reroll, as records from before buttons). */
  origin?: RenderOrigin;
  /** With these, a finished render gets its buttons. */
  buttons?: ButtonFacts;
  /** `/imagine options:` in canonical form. */
  optionsText?: string;
  /** A story: each part's prompt line and the steps each part runs before the next (cycling). */
  story?: { parts: string[]; every: number };
}

export type RenderState =
  | { kind: 'queued'; position: number | undefined; etaMs: number | undefined }
  | {
      kind: 'running';
      step: number;
      total: number;
      itPerSec: number | undefined;
      etaMs: number | undefined;
      frame?: Uint8Array;
    }
  | { kind: 'cancelling'; by: string; frame?: Uint8Array }
  | {
      kind: 'done';
      image: Uint8Array;
      imageName: string;
      elapsedMs: number;
      /** Steps the renderer ran (fewer than asked when it stopped on a plateau). */
      stepsRun?: number;
      /** The picture is an animated WebP (a zoom video); `note` says why it is not, when it could not be. */
      animated?: boolean;
      note?: string;
    }
  | { kind: 'failed'; reason: string; refunded: boolean; frame?: Uint8Array }
  | { kind: 'cancelled'; by: string; refunded: boolean; frame?: Uint8Array };

const COLOURS = {
  queued: 0x95a5a6,
  running: 0x3498db,
  cancelling: 0xe67e22,
  done: 0x2ecc71,
  failed: 0xe74c3c,
  cancelled: 0x7f8c8d,
} as const;

/** The facts a render's stored parameters give besides the plain fields: options and story. */
export function optionFacts(p: RenderParams): Pick<RenderFacts, 'optionsText' | 'story'> {
  return {
    optionsText: p.optionsText,
    story: p.story?.length
      ? {
          parts: p.promptText.split('^').map((s) => s.trim()),
          every: p.options?.storyEvery ?? LOOP_OPTION_RANGES.storyEvery.default,
        }
      : undefined,
  };
}

/** The story part (0-based) the loop runs at 1-based step `step` (a story cycles, like generate.py's -cpe). */
export function storyPartAt(story: { parts: string[]; every: number }, step: number): number {
  return Math.floor(Math.max(0, step - 1) / story.every) % story.parts.length;
}

function storyLine(facts: RenderFacts, state: RenderState): string | undefined {
  const story = facts.story;
  if (!story) return undefined;
  const step = state.kind === 'running' ? state.step : state.kind === 'done' ? state.stepsRun : undefined;
  if (step === undefined)
    return `**Story:** ${story.parts.length} parts, the next every ${story.every} steps`;
  const k = storyPartAt(story, step);
  const verb = state.kind === 'done' ? 'ended on' : 'now at';
  return `**Story:** ${verb} part ${k + 1}/${story.parts.length}: ${displayText(story.parts[k] ?? '', 300)}`;
}

function statusLine(state: RenderState): string {
  switch (state.kind) {
    case 'queued':
      return state.position === undefined || state.position === 0
        ? `⏳ Queued · starting soon · ETA ${formatEta(state.etaMs)}`
        : `⏳ Queued · position ${state.position} · ETA ${formatEta(state.etaMs)}`;
    case 'running': {
      const speed =
        state.itPerSec !== undefined && state.itPerSec > 0 ? ` · ${state.itPerSec.toFixed(1)} it/s` : '';
      return `🎨 Rendering · step ${state.step}/${state.total}${speed} · ETA ${formatEta(state.etaMs)}`;
    }
    case 'cancelling':
      return '🛑 Cancelling…';
    case 'done':
      return `✅ Done in ${(state.elapsedMs / 1000).toFixed(1)} s · 🔁 reroll · ❌ delete`;
    case 'failed':
      return `⚠️ Failed${state.refunded ? ' · not counted against your quota' : ''}`;
    case 'cancelled':
      return `🛑 Cancelled${state.refunded ? ' · not counted against your quota' : ''}`;
  }
}

function frameName(state: RenderState): MessageImage | undefined {
  if (state.kind === 'done') return { name: state.imageName, data: state.image };
  const frame = 'frame' in state ? state.frame : undefined;
  return frame ? { name: 'frame.webp', data: frame } : undefined;
}

/** The message for a render in a given state. */
export function renderPayload(facts: RenderFacts, state: RenderState): RenderPayload {
  const lines: string[] = [];
  if (facts.promptText !== '') lines.push(`**Prompt:** ${displayText(facts.promptText, 1000)}`);
  const weights = facts.imageWeights ?? [];
  if (weights.length > 0)
    lines.push(
      `**Image prompts:** ${weights.length}${weights.some((w) => w !== 1) ? ` (weights ${weights.join(', ')})` : ''}`,
    );
  if (facts.avoidText) lines.push(`**Avoid:** ${displayText(facts.avoidText, 500)}`);
  lines.push(`**Requested by** <@${facts.requesterId}>`);
  if (facts.parentLink) lines.push(`${ORIGIN_WORDS[facts.origin ?? 'reroll']} ${facts.parentLink}`);
  const story = storyLine(facts, state);
  if (story) lines.push(story);
  if (state.kind === 'done' && state.note) lines.push(displayText(state.note, 300));
  if (state.kind === 'failed') lines.push(`**Why:** ${displayText(state.reason, 900)}`);
  if (state.kind === 'cancelled' || state.kind === 'cancelling')
    lines.push(`**Cancelled by** <@${state.by}>`);
  const embed = {
    title: statusLine(state).slice(0, 256),
    description: lines.join('\n'),
    color: COLOURS[state.kind],
    fields: [
      { name: 'Seed', value: String(facts.seed), inline: true },
      { name: 'Steps', value: String(facts.steps), inline: true },
      { name: 'Size', value: `${facts.width}×${facts.height}`, inline: true },
      { name: 'Quality', value: facts.quality, inline: true },
      { name: 'Model', value: displayText(facts.model, 64), inline: true },
    ],
  };
  if (facts.optionsText)
    // canonical options text is only [a-z0-9_=,.-] (formatJobOptionsText), safe in a code span
    embed.fields.push({ name: 'Options', value: `\`${facts.optionsText.slice(0, 1000)}\``, inline: false });
  const image = frameName(state);
  const ended = state.kind === 'done' || state.kind === 'failed' || state.kind === 'cancelled';
  const components = ended && facts.buttons ? renderButtons(facts.buttons, state.kind) : undefined;
  return { content: statusLine(state), embed, image, components };
}
