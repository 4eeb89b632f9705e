/**
 * Render records in NATS KV (`job.<jobId>` → RenderRecord, `msg.<messageId>` → jobId), so that
 * a restarted bot can finish its messages and react to 🔁/❌ on messages it posted before the
 * restart, and `member.<guildId>.<userId>` → the member's last renders, newest first (bounded,
 * for `/history`). Records hold ids, never tokens. The bucket's TTL (RESULTS_MAX_AGE_S) applies
 * to every key: a history entry whose record expired is skipped.
 */
import type { KV } from '@nats-io/kv';
import {
  addToHistory,
  MemberHistory,
  pageOf,
  type HistoryPage,
  type HistoryPageRequest,
} from '../core/history-index.js';
import type { RenderRecords } from '../core/ports.js';
import { RenderRecord, type FinalRenderState } from '../core/render-record.js';
import { casUpdate, kvCodec, kvRead } from './cas.js';

const codec = kvCodec(RenderRecord, 'render record');
const historyCodec = kvCodec(MemberHistory, 'member history');
const decoder = new TextDecoder();

/** KV key of a member's history (guild and user ids are snowflakes: valid key tokens). */
export function memberHistoryKey(guildId: string, userId: string): string {
  return `member.${guildId}.${userId}`;
}

export class NatsRenderRecords implements RenderRecords {
  constructor(private readonly kv: KV) {}

  async put(record: RenderRecord): Promise<void> {
    await this.kv.put(`job.${record.jobId}`, codec.encode(record));
    await this.kv.put(`msg.${record.messageId}`, new TextEncoder().encode(record.jobId));
    await casUpdate(
      this.kv,
      memberHistoryKey(record.guildId, record.requesterId),
      historyCodec,
      (current) => {
        if (current?.jobs.some((j) => j.jobId === record.jobId)) return { write: false, result: undefined };
        return {
          write: true,
          value: addToHistory(current, record.jobId, record.createdAt),
          result: undefined,
        };
      },
    );
  }

  get(jobId: string): Promise<RenderRecord | undefined> {
    return kvRead(this.kv, `job.${jobId}`, codec);
  }

  async byMessage(messageId: string): Promise<RenderRecord | undefined> {
    const e = await this.kv.get(`msg.${messageId}`);
    if (e?.operation !== 'PUT') return undefined;
    return this.get(decoder.decode(e.value));
  }

  /**
   * Moves a record from `active` to a final state (or a finished one to `deleted`); resolves
   * true only for the caller that made the transition, so two racing events finish it once.
   */
  finish(jobId: string, state: FinalRenderState, result?: { imageKey: string }): Promise<boolean> {
    return casUpdate(this.kv, `job.${jobId}`, codec, (current) => {
      if (!current || (current.state !== 'active' && !(state === 'deleted' && current.state === 'done')))
        return { write: false, result: false };
      return {
        write: true,
        value: { ...current, state, imageKey: result?.imageKey ?? current.imageKey },
        result: true,
      };
    });
  }

  async active(): Promise<RenderRecord[]> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys('job.>')) keys.push(k);
    const out: RenderRecord[] = [];
    for (const k of keys) {
      const r = await this.get(k.slice(4));
      if (r?.state === 'active') out.push(r);
    }
    return out;
  }

  async byMember(
    guildId: string,
    userId: string,
    request: HistoryPageRequest,
  ): Promise<HistoryPage<RenderRecord>> {
    const history = await kvRead(this.kv, memberHistoryKey(guildId, userId), historyCodec);
    const page = pageOf(history?.jobs.map((j) => j.jobId) ?? [], request);
    const records = await Promise.all(page.items.map((id) => this.get(id)));
    return { ...page, items: records.filter((r): r is RenderRecord => r !== undefined) };
  }
}
