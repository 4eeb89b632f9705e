/**
 * The fair-share part of `/farm`, pure: a member's own renders with their real position and wait,
 * and for moderators this server's share of the queue against the rest of the farm and the weights.
 * Other servers are only ever counts: their names and ids stay out of every server's `/farm`.
 */
import type { SchedulerStatus } from '../../../shared/src/index.js';
import { formatEta } from './eta.js';
import type { GuildSettings } from './guild-settings.js';
import type { RenderProgressView } from './ports.js';
import { displayText } from './text-safety.js';

/** A snapshot older than this is shown with its age (the active scheduler writes one every 2 s). */
export const STALE_STATUS_MS = 10_000;

export interface QueueCounts {
  /** Waiting in the scheduler's queue. */
  queued: number;
  /** Released to the renderers and not finished (handed over, or rendering). */
  running: number;
}

export interface ServerShare {
  thisServer: QueueCounts;
  /** Every other server with work, summed. */
  others: QueueCounts & { servers: number };
  /** The operator's weight of this server (1 unless set). */
  weight: number;
}

/** This server's counts against the others', from the scheduler's snapshot. */
export function serverShare(status: SchedulerStatus, guildId: string): ServerShare {
  const own = status.servers.find((s) => s.server === guildId);
  const others = status.servers.filter((s) => s.server !== guildId && (s.queued > 0 || s.running > 0));
  return {
    thisServer: { queued: own?.queued ?? 0, running: own?.running ?? 0 },
    others: {
      servers: others.length,
      queued: others.reduce((a, s) => a + s.queued, 0),
      running: others.reduce((a, s) => a + s.running, 0),
    },
    weight: status.serverWeights?.[guildId] ?? own?.weight ?? 1,
  };
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** One line per render of the member's in this server: "#3 in line, ~12 s" or "rendering". */
export function ownRenderLines(
  progress: readonly RenderProgressView[],
  guildId: string,
  link: (r: RenderProgressView['record']) => string,
): string[] {
  const mine = progress
    .filter((p) => p.record.guildId === guildId)
    .sort((a, b) => Number(b.started) - Number(a.started) || (a.position ?? 1e9) - (b.position ?? 1e9));
  return mine.map((p) => {
    const name = `[${displayText(p.record.params.promptText, 40)}](${link(p.record)})`;
    if (p.started) return `• ${name}: rendering`;
    if (p.position === undefined) return `• ${name}: waiting (position coming)`;
    return `• ${name}: #${p.position} in line, starts in ${formatEta(p.etaMs)}`;
  });
}

/** The farm-wide queue line everyone sees, from the scheduler's snapshot. */
export function schedulerQueueLine(status: SchedulerStatus, now: number): string {
  const queued = status.servers.reduce((a, s) => a + s.queued, 0);
  const out = status.servers.reduce((a, s) => a + s.running, 0);
  const speed =
    status.msPerStep === undefined ? '' : ` · ${(1000 / status.msPerStep).toFixed(1)} steps/s per renderer`;
  return `**Fair queue:** ${queued} waiting · ${out} with the renderers · ${plural(status.renderers, 'renderer')}${speed}${staleness(status, now)}`;
}

/** The moderators' lines: this server against the others (counts only) and the weights in force. */
export function moderatorLines(status: SchedulerStatus, settings: GuildSettings, guildId: string): string[] {
  const share = serverShare(status, guildId);
  const { thisServer: t, others: o } = share;
  const othersText =
    o.servers === 0
      ? 'no other server has renders queued or running'
      : `${plural(o.servers, 'other server')}: ${o.queued} waiting · ${o.running} with the renderers`;
  const roles = Object.entries(settings.roleWeights).sort((a, b) => b[1] - a[1]);
  return [
    `**This server:** ${t.queued} waiting · ${t.running} with the renderers; ${othersText}`,
    `**Weights:** this server ×${share.weight} of the farm (set by the farm's operator; the default is ×1) · roles: ${
      roles.length === 0 ? 'none (every member ×1)' : roles.map(([id, w]) => `<@&${id}> ×${w}`).join(', ')
    }`,
  ];
}

function staleness(status: SchedulerStatus, now: number): string {
  const age = now - Date.parse(status.at);
  return age > STALE_STATUS_MS ? ` (as of ${Math.round(age / 1000)} s ago: no scheduler is reporting)` : '';
}
