/**
 * Render records in NATS KV (`job.<jobId>` → RenderRecord, `msg.<messageId>` → jobId), so that
 * a restarted bot can finish its messages and react to 🔁/❌ on messages it posted before the
 * restart. Records hold ids, never tokens.
 */
import type { KV } from '@nats-io/kv';
import type { RenderRecords } from '../core/ports.js';
import { RenderRecord, type FinalRenderState } from '../core/render-record.js';
import { casUpdate, kvCodec, kvRead } from './cas.js';

const codec = kvCodec(RenderRecord, 'render record');
const decoder = new TextDecoder();

export class NatsRenderRecords implements RenderRecords {
  constructor(private readonly kv: KV) {}

  async put(record: RenderRecord): Promise<void> {
    await this.kv.put(`job.${record.jobId}`, codec.encode(record));
    await this.kv.put(`msg.${record.messageId}`, new TextEncoder().encode(record.jobId));
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
  finish(jobId: string, state: FinalRenderState): Promise<boolean> {
    return casUpdate(this.kv, `job.${jobId}`, codec, (current) => {
      if (!current || (current.state !== 'active' && !(state === 'deleted' && current.state === 'done')))
        return { write: false, result: false };
      return { write: true, value: { ...current, state }, result: true };
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
}
