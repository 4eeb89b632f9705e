/**
 * Replay: the exact `/imagine` command and the equivalent `npx tessera imagine` line that make
 * a render again byte for byte (same prompts, seed, steps, cutouts, size, model, options and
 * init picture; the engine is deterministic per execution provider), and its lineage. Pure.
 */
import { formatJobOptionsText } from '../../../shared/src/job-options-text.js';
import { jobOptionsOf, optionsTextOf } from './render-actions.js';
import { ORIGIN_WORDS } from './render-buttons.js';
import type { RenderRecord } from './render-record.js';

/** Discord's limit for a message's content. */
export const MAX_MESSAGE_CHARS = 2000;

/** One render of the chain with the link to its message. */
export interface LineageEntry {
  record: RenderRecord;
  link: string;
}

/** A string for a POSIX shell, in single quotes. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

type PromptList = RenderRecord['params']['prompts'];

/** The prompts as the prompt syntax writes them (`text:weight[:stop]` joined by ` | `, story parts by ` ^ `). */
export function promptLine(prompts: PromptList, story: PromptList[] = []): string {
  const line = (list: PromptList) =>
    list.map((p) => `${p.text}:${p.weight}${p.stop === undefined ? '' : `:${p.stop}`}`).join(' | ');
  return [prompts, ...story].map(line).join(' ^ ');
}

/** Text inside a Discord code block (a triple backtick would end it). */
function inCode(s: string): string {
  return s.replace(/```/g, '`\u200b``');
}

/** The `/imagine` command as a person types it. */
export function imagineCommand(r: RenderRecord): string {
  const p = r.params;
  const optionsText = optionsTextOf(p);
  const parts = p.promptText === '' ? ['/imagine'] : [`/imagine prompt:${p.promptText}`];
  if (p.avoidText) parts.push(`avoid:${p.avoidText}`);
  parts.push(`seed:${p.seed}`, `steps:${p.steps}`, `size:${p.width}x${p.height}`, `quality:${p.quality}`);
  if (optionsText) parts.push(`options:${optionsText}`);
  if (p.initImageKey) parts.push('init_image:(the picture named below)');
  const images = p.imagePrompts ?? [];
  images.forEach((_, n) => parts.push(`image_prompt_${n + 1}:(picture ${n + 1})`));
  if (images.some((x) => x.weight !== 1))
    parts.push(`image_weights:${images.map((x) => x.weight).join(',')}`);
  return parts.join(' ');
}

/** The CLI line: the cutouts explicit among the options, so no preset is involved. */
export function cliCommand(r: RenderRecord): string {
  const p = r.params;
  const parts = [
    'npx tessera imagine',
    shellQuote(promptLine(p.prompts, p.story)),
    `--seed ${p.seed}`,
    `--steps ${p.steps}`,
    `--size ${p.width}x${p.height}`,
    `--model ${p.model}`,
    `--options ${shellQuote(formatJobOptionsText({ ...jobOptionsOf(p), cutn: p.cutn }))}`,
  ];
  if (p.initImageKey) parts.push('--init picture.png');
  return parts.join(' ');
}

/** The chain from this render back to its first ancestor (the records found, newest first). */
export function lineageLines(chain: LineageEntry[]): string[] {
  return chain.map(({ record, link }, i) => {
    const who = i === 0 ? 'this render' : link;
    const how = record.origin ?? (record.parentJobId ? 'reroll' : undefined);
    const from = how && record.parentJobId ? ` — ${ORIGIN_WORDS[how]} ↓` : ' — the original';
    return `${i === 0 ? '•' : '↳'} ${who} · seed ${record.params.seed}${from}`;
  });
}

/**
 * The Replay answer. `initFrom` is the link to the message whose picture was the init image
 * (download it as picture.png); the lineage is dropped first when the text is too long.
 */
export function replayText(chain: LineageEntry[], initFrom: string | undefined): string {
  const r = chain[0]!.record;
  const head = [
    '**Replay** — these make this picture again, byte for byte (same model and execution provider):',
    '```',
    inCode(imagineCommand(r)),
    '```',
    '```',
    inCode(cliCommand(r)),
    '```',
  ];
  if (r.params.initImageKey)
    head.push(
      initFrom
        ? `Init image: the picture of ${initFrom} (attach it; for the CLI save it as picture.png).`
        : 'Init image: an uploaded picture (attach the same file).',
    );
  const images = r.params.imagePrompts?.length ?? 0;
  if (images > 0)
    head.push(
      `Image prompts: ${images} uploaded picture${images === 1 ? '' : 's'} (attach the same files in the same order; the CLI line cannot carry image prompts yet).`,
    );
  const lineage = ['**Lineage**', ...lineageLines(chain)];
  const full = [...head, ...lineage].join('\n');
  if (full.length <= MAX_MESSAGE_CHARS) return full;
  const short = head.join('\n');
  return short.length <= MAX_MESSAGE_CHARS ? short : `${short.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
}
