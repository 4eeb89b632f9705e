/**
 * What the bot remembers about each render message, in NATS KV so that a restarted bot can
 * finish its messages and react to 🔁/❌ on messages it posted before the restart:
 * `job.<jobId>` → RenderRecord, `msg.<messageId>` → jobId.
 */
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import { renderRecordsBucket } from '../../../shared/src/index.js';
import { casUpdate } from './cas.js';

export { renderRecordsBucket };

export const RenderParams = z.object({
  promptText: z.string().max(2000),
  avoidText: z.string().max(2000).optional(),
  prompts: z.array(z.object({ text: z.string(), weight: z.number(), stop: z.number().optional() })).max(16),
  seed: z.number().int().min(0).max(0xffffffff),
  steps: z.number().int().min(1),
  cutn: z.number().int().min(1),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  quality: z.string().max(20),
  model: z.string().max(64),
  /** Object-store key of the init image, if one was given. */
  initImageKey: z.string().max(256).optional(),
});
export type RenderParams = z.infer<typeof RenderParams>;

export const RenderRecord = z.object({
  v: z.literal(1),
  jobId: z.string(),
  guildId: z.string(),
  channelId: z.string(),
  messageId: z.string(),
  applicationId: z.string(),
  /** Present while the reply is an interaction response (15-minute token). */
  interactionToken: z.string().optional(),
  tokenIssuedAt: z.number().optional(),
  attachmentSizeLimit: z.number().int().positive().optional(),
  requesterId: z.string(),
  requesterName: z.string().max(100),
  params: RenderParams,
  parentJobId: z.string().optional(),
  parentMessageId: z.string().optional(),
  state: z.enum(['active', 'done', 'failed', 'cancelled', 'deleted']),
  /** Stream sequence of the job message (queue position). */
  queueSeq: z.number().int().nonnegative().optional(),
  createdAt: z.iso.datetime(),
});
export type RenderRecord = z.infer<typeof RenderRecord>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const encode = (r: RenderRecord) => encoder.encode(JSON.stringify(r));
function decode(bytes: Uint8Array): RenderRecord | undefined {
  try {
    const parsed = RenderRecord.safeParse(JSON.parse(decoder.decode(bytes)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export class NatsRenderRecords {
  constructor(private readonly kv: KV) {}

  async put(record: RenderRecord): Promise<void> {
    await this.kv.put(`job.${record.jobId}`, encode(RenderRecord.parse(record)));
    await this.kv.put(`msg.${record.messageId}`, encoder.encode(record.jobId));
  }

  async get(jobId: string): Promise<RenderRecord | undefined> {
    const e = await this.kv.get(`job.${jobId}`);
    return e && e.operation === 'PUT' ? decode(e.value) : undefined;
  }

  async byMessage(messageId: string): Promise<RenderRecord | undefined> {
    const e = await this.kv.get(`msg.${messageId}`);
    if (e?.operation !== 'PUT') return undefined;
    return this.get(decoder.decode(e.value));
  }

  /**
   * Moves a record from `active` to a final state; resolves true only for the caller that made
   * the transition (so finishing work happens once even if two events race).
   */
  async finish(jobId: string, state: Exclude<RenderRecord['state'], 'active'>): Promise<boolean> {
    return casUpdate(this.kv, `job.${jobId}`, decode, encode, (current) => {
      if (!current || (current.state !== 'active' && !(state === 'deleted' && current.state === 'done')))
        return { write: false, result: false };
      return { write: true, value: { ...current, state }, result: true };
    });
  }

  /** Every record still active (for a bot that just started). */
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
