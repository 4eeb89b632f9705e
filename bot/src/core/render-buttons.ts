/**
 * The buttons under a finished render and the words for lineage. Pure: the layout follows from
 * the job id, how the render ended and whether the model has a larger size to upscale to.
 */
import { encodeCustomId } from './custom-id.js';
import type { MessageButton } from './frame-editor.js';
import type { ModelFacts } from './imagine-request.js';
import type { RenderOrigin } from './render-record.js';

/** What the buttons of a render need to know. */
export interface ButtonFacts {
  jobId: string;
  /** Whether the model renders a larger size than this render (the Upscale button shows). */
  canUpscale: boolean;
}

/**
 * A done render: Reroll, Variations, Upscale (if any), Zoom video; then Edit, Replay, Delete.
 * A failed or cancelled one has no picture to build on: Reroll and Edit only (Delete stays ❌).
 */
export function renderButtons(facts: ButtonFacts, ended: 'done' | 'failed' | 'cancelled'): MessageButton[][] {
  const id = facts.jobId;
  const reroll: MessageButton = {
    customId: encodeCustomId('reroll', id),
    label: 'Reroll',
    emoji: '🔁',
    style: 'primary',
  };
  const edit: MessageButton = {
    customId: encodeCustomId('edit', id),
    label: 'Edit',
    emoji: '✏️',
    style: 'secondary',
  };
  if (ended !== 'done') return [[reroll, edit]];
  const first: MessageButton[] = [
    reroll,
    { customId: encodeCustomId('vary', id), label: 'Variations', emoji: '🎲', style: 'secondary' },
  ];
  if (facts.canUpscale)
    first.push({
      customId: encodeCustomId('upscale', id),
      label: 'Upscale',
      emoji: '🔍',
      style: 'secondary',
    });
  first.push({ customId: encodeCustomId('zoom', id), label: 'Zoom video', emoji: '🎞️', style: 'secondary' });
  return [
    first,
    [
      edit,
      { customId: encodeCustomId('replay', id), label: 'Replay', emoji: '📋', style: 'secondary' },
      { customId: encodeCustomId('delete', id), label: 'Delete', emoji: '🗑️', style: 'danger' },
    ],
  ];
}

/** The model's next larger size after `width`×`height` (no smaller side, more pixels), if any. */
export function nextLargerSize(
  model: ModelFacts,
  width: number,
  height: number,
): [number, number] | undefined {
  const larger = model.sizes
    .filter(([w, h]) => w >= width && h >= height && w * h > width * height)
    .sort((a, b) => a[0] * a[1] - b[0] * b[1]);
  return larger[0];
}

/** How a child render names its parent in its embed and in Replay's chain. */
export const ORIGIN_WORDS: Record<RenderOrigin, string> = {
  reroll: '🔁 Reroll of',
  variation: '🎲 Variation of',
  upscale: '🔍 Upscale of',
  zoom: '🎞️ Zoom video of',
  edit: '✏️ Edit of',
};
