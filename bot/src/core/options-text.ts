/**
 * The loop options (shared/src/loop-options.ts) as one line of text for the Edit modal and
 * Replay: `zoomEvery=4 zoomScale=0.98 augments=Af,Pe`. A minimal local form until the shared
 * `job-options-text` lands (issue #16, branch ref); parse(format(o)) gives `o` back. Pure.
 */
import { LoopOptions, loopOptionProblem } from '../../../shared/src/loop-options.js';

const KEYS = Object.keys(LoopOptions.shape) as (keyof LoopOptions)[];
const TEXT_KEYS = new Set<string>(['loop', 'cutMethod', 'optimiser']);

/** `key=value` pairs in the schema's order; an empty string for no options. */
export function formatOptionsText(o: LoopOptions | undefined): string {
  if (!o) return '';
  const parts: string[] = [];
  for (const key of KEYS) {
    const v = o[key];
    if (v === undefined) continue;
    parts.push(`${key}=${Array.isArray(v) ? v.join(',') || 'none' : String(v)}`);
  }
  return parts.join(' ');
}

export type OptionsTextResult = { ok: true; value: LoopOptions | undefined } | { ok: false; message: string };

/** Reads `key=value` pairs (space or comma between pairs is fine); mistakes name the option. */
export function parseOptionsText(text: string): OptionsTextResult {
  const o: Record<string, unknown> = {};
  for (const pair of text.trim().split(/\s+/).filter(Boolean)) {
    const m = /^([A-Za-z]+)=(\S+)$/.exec(pair);
    const key = m ? KEYS.find((k) => k.toLowerCase() === m[1]!.toLowerCase()) : undefined;
    if (!m || !key)
      return { ok: false, message: `options: \`${pair}\` is not one of ${KEYS.join(', ')} as key=value.` };
    const raw = m[2]!.replace(/,$/, '');
    if (key === 'augments') o[key] = raw === 'none' ? [] : raw.split(',').filter(Boolean);
    else if (TEXT_KEYS.has(key)) o[key] = raw;
    else {
      const n = Number(raw);
      if (!Number.isFinite(n))
        return { ok: false, message: `options: ${key} must be a number (got ${raw}).` };
      o[key] = n;
    }
  }
  const problem = loopOptionProblem(o as LoopOptions);
  if (problem) return { ok: false, message: `options: ${problem.message}` };
  const parsed = LoopOptions.safeParse(o);
  if (!parsed.success)
    return { ok: false, message: `options: ${parsed.error.issues[0]?.message ?? 'invalid'}.` };
  return { ok: true, value: Object.keys(parsed.data).length > 0 ? parsed.data : undefined };
}
