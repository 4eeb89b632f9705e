/**
 * Custom ids of the buttons (and the Edit modal) under render messages. They carry everything a
 * click needs, so buttons keep working after a bot restart with no state in memory: the action
 * and the job id (the render record, the job and its picture are in NATS). The format is
 * versioned, `tessera:v1:<action>:<jobId>`; a later format gets its own version and this parser
 * keeps reading v1, so buttons under old messages stay usable. Discord allows 100 characters.
 * Pure.
 */
import { JobId } from '../../../shared/src/index.js';

export const CUSTOM_ID_PREFIX = 'tessera';
export const CUSTOM_ID_MAX_CHARS = 100;

/** What the buttons under a render do; `edit-form` is the Edit modal's submit. */
export const BUTTON_ACTIONS = [
  'reroll',
  'vary',
  'upscale',
  'zoom',
  'edit',
  'edit-form',
  'replay',
  'delete',
] as const;
export type ButtonAction = (typeof BUTTON_ACTIONS)[number];

export interface ButtonTarget {
  action: ButtonAction;
  jobId: string;
}

/**
 * - `not-ours`: not a tessera id (another component's; let its handler have it)
 * - `unknown-button`: a tessera id this version cannot read (another version, an action it does
 *   not know, a damaged id): the person gets a polite "from an older version" reply.
 */
export type CustomIdProblem = 'not-ours' | 'unknown-button';

export type ParsedCustomId = { ok: true; value: ButtonTarget } | { ok: false; identifier: CustomIdProblem };

/** The custom id of a button or modal for a render (throws on a job id that cannot be one). */
export function encodeCustomId(action: ButtonAction, jobId: string): string {
  const id = `${CUSTOM_ID_PREFIX}:v1:${action}:${JobId.parse(jobId)}`;
  if (id.length > CUSTOM_ID_MAX_CHARS) throw new RangeError(`custom id over ${CUSTOM_ID_MAX_CHARS}: ${id}`);
  return id;
}

/** Reads a custom id from any version this bot understands. */
export function parseCustomId(raw: string): ParsedCustomId {
  const parts = raw.split(':');
  if (parts[0] !== CUSTOM_ID_PREFIX) return { ok: false, identifier: 'not-ours' };
  if (parts[1] === 'v1' && parts.length === 4) {
    const action = BUTTON_ACTIONS.find((a) => a === parts[2]);
    const jobId = JobId.safeParse(parts[3]);
    if (action && jobId.success) return { ok: true, value: { action, jobId: jobId.data } };
  }
  return { ok: false, identifier: 'unknown-button' };
}

/** What a person is told about a button this version cannot read. */
export const UNKNOWN_BUTTON_TEXT =
  'This button is from an older version of the bot and no longer works. Use `/imagine` to start a new render.';
