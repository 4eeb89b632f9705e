/**
 * The per-member index of renders behind `/history`: one list per (guild, member), newest first,
 * bounded to the last `MAX_HISTORY` renders. Pages are addressed by a cursor that is a job id of
 * the list (the one before or after the page), so a page can be asked for again after a restart
 * and stays put when new renders arrive. Pure: the stores keep the list, this pages it.
 */
import { z } from 'zod';

/** Renders remembered per member (older ones drop off the end). */
export const MAX_HISTORY = 100;

export const MemberHistory = z.object({
  v: z.literal(1),
  /** Newest first. */
  jobs: z.array(z.object({ jobId: z.string().max(64), at: z.iso.datetime() })).max(MAX_HISTORY),
});
export type MemberHistory = z.infer<typeof MemberHistory>;

/** Which page: the first (newest), the one older than `before`, or the one newer than `after`. */
export interface HistoryPageRequest {
  limit: number;
  before?: string;
  after?: string;
}

/** A page of job ids with whether there are newer / older ones beyond it. */
export interface HistoryPage<T = string> {
  items: T[];
  newer: boolean;
  older: boolean;
  /** The page's first and last job ids (the cursors of the pages around it). */
  first?: string;
  last?: string;
}

/** The history with `jobId` added at the front (once), bounded to `MAX_HISTORY`. */
export function addToHistory(current: MemberHistory | undefined, jobId: string, at: string): MemberHistory {
  const rest = (current?.jobs ?? []).filter((j) => j.jobId !== jobId);
  return { v: 1, jobs: [{ jobId, at }, ...rest].slice(0, MAX_HISTORY) };
}

/**
 * The job ids of one page. A cursor that is no longer in the list (it dropped off the end) gives
 * an empty page with `newer` set, so the person can page back.
 */
export function pageOf(jobIds: readonly string[], request: HistoryPageRequest): HistoryPage {
  const limit = Math.max(1, request.limit);
  let start = 0;
  if (request.before !== undefined) {
    const at = jobIds.indexOf(request.before);
    start = at < 0 ? jobIds.length : at + 1;
  } else if (request.after !== undefined) {
    const at = jobIds.indexOf(request.after);
    start = at < 0 ? 0 : Math.max(0, at - limit);
  }
  const items = jobIds.slice(start, start + limit);
  return {
    items,
    newer: start > 0,
    older: start + limit < jobIds.length,
    first: items[0],
    last: items.at(-1),
  };
}
