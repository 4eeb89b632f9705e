/**
 * Results by DM (`/preferences dm:true`): once a render has landed in its channel, a copy goes
 * to the requester's DMs. The channel message is always there first, so a DM that fails loses
 * nothing. When Discord answers 50007 (the member's DMs are closed to the bot) the member gets
 * one reply under the render saying so; it is not repeated until a DM has landed again.
 */
import type { Logger } from 'pino';
import { MessageEditError, type RenderPayload } from './core/frame-editor.js';
import type { MessagePort, PreferencesStore } from './core/ports.js';
import type { RenderRecord } from './core/render-record.js';

/** Discord's "Cannot send messages to this user". */
export const DMS_CLOSED = 50007;

export interface DmDeliveryDeps {
  port: Pick<MessagePort, 'dm' | 'say'>;
  preferences: PreferencesStore;
  log: Logger;
  now: () => number;
}

export type DmOutcome = 'off' | 'sent' | 'closed' | 'failed';

/** The note under a render whose DM copy could not be delivered (no ping: mentions are off). */
export function dmClosedNote(userId: string): string {
  return `<@${userId}> 📭 I could not send this render to your DMs (they are closed to me), so it is only here. Allow DMs from server members, or turn this off with \`/preferences dm:false\`.`;
}

/**
 * Sends the finished render (`payload`, the channel's final state) to the requester's DMs if they
 * asked for it. Never throws: the render is in the channel whatever happens here.
 */
export function deliverByDm(
  deps: DmDeliveryDeps,
  record: RenderRecord,
  payload: RenderPayload,
  link: string,
): Promise<DmOutcome> {
  return tryDm(deps, record, payload, link).catch((err: unknown) => {
    deps.log.warn({ err, jobId: record.jobId }, 'results by DM failed');
    return 'failed' as const;
  });
}

async function tryDm(
  deps: DmDeliveryDeps,
  record: RenderRecord,
  payload: RenderPayload,
  link: string,
): Promise<DmOutcome> {
  const prefs = await deps.preferences.get(record.requesterId);
  if (!prefs.dm) return 'off';
  const log = deps.log.child({ jobId: record.jobId, userId: record.requesterId });
  try {
    await deps.port.dm(record.requesterId, {
      ...payload,
      content: `${payload.content}\n${link}`,
      final: undefined,
    });
    if (prefs.dmClosedNotedAt)
      await deps.preferences.update(record.requesterId, (p) => ({ ...p, dmClosedNotedAt: undefined }));
    return 'sent';
  } catch (err) {
    if (!(err instanceof MessageEditError) || err.code !== DMS_CLOSED) {
      log.warn({ err }, 'could not send the render by DM');
      return 'failed';
    }
    log.info('DMs closed: the render stays in the channel only');
    if (!prefs.dmClosedNotedAt) {
      await deps.port.say(record.channelId, dmClosedNote(record.requesterId), record.messageId);
      const at = new Date(deps.now()).toISOString();
      await deps.preferences.update(record.requesterId, (p) => ({ ...p, dmClosedNotedAt: at }));
    }
    return 'closed';
  }
}
