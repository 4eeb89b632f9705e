/**
 * What a render message says at each moment, as a pure function of the render's parameters and
 * its current state. User text only ever goes into the embed (embeds never notify anyone) and is
 * escaped; the plain content line is built from numbers and fixed words.
 */
import { formatEta } from './eta.js';
import type { MessageImage, RenderPayload } from './frame-editor.js';
import { ORIGIN_WORDS, renderButtons, type ButtonFacts } from './render-buttons.js';
import type { RenderOrigin } from './render-record.js';
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
  | { kind: 'done'; image: Uint8Array; imageName: string; elapsedMs: number }
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
  const image = frameName(state);
  const ended = state.kind === 'done' || state.kind === 'failed' || state.kind === 'cancelled';
  const components = ended && facts.buttons ? renderButtons(facts.buttons, state.kind) : undefined;
  return { content: statusLine(state), embed, image, components };
}
