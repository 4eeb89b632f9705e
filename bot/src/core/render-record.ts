/**
 * What the bot remembers about each render message (kept in NATS KV by `NatsRenderRecords`), so
 * that a restarted bot can finish its messages and react to 🔁/❌ on messages it posted before.
 * Ids only, no secrets: a restarted bot edits the channel message with its bot token.
 */
import { z } from 'zod';
import { LoopOptions } from '../../../shared/src/loop-options.js';

const PromptList = z
  .array(z.object({ text: z.string(), weight: z.number(), stop: z.number().optional() }))
  .max(16);

export const RenderParams = z.object({
  promptText: z.string().max(2000),
  avoidText: z.string().max(2000).optional(),
  prompts: PromptList,
  /** A story (`a ^ b ^ c`): the prompt lists after `prompts`. */
  story: z.array(PromptList).max(16).optional(),
  /** What `/imagine options:` set besides cutn: generate.py's loop options and the learning rate. */
  options: LoopOptions.extend({ lr: z.number().positive().optional() }).optional(),
  /** The options as the render message shows them (canonical text, cutn included). */
  optionsText: z.string().max(1000).optional(),
  seed: z.number().int().min(0).max(0xffffffff),
  steps: z.number().int().min(1),
  cutn: z.number().int().min(1),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  quality: z.string().max(20),
  model: z.string().max(64),
  /** Object-store key of the init image, if one was given. */
  initImageKey: z.string().max(256).optional(),
  /** Image prompts (`/imagine image_prompt_N`, `/blend`): object-store keys and weights. */
  imagePrompts: z
    .array(z.object({ key: z.string().max(256), weight: z.number() }))
    .max(4)
    .optional(),
});
export type RenderParams = z.infer<typeof RenderParams>;

/** The ways a render can come from another one (lineage). */
export const RENDER_ORIGINS = ['reroll', 'variation', 'upscale', 'zoom', 'edit'] as const;
export type RenderOrigin = (typeof RENDER_ORIGINS)[number];

export const RenderRecord = z.object({
  v: z.literal(1),
  jobId: z.string(),
  guildId: z.string(),
  channelId: z.string(),
  messageId: z.string(),
  applicationId: z.string(),
  attachmentSizeLimit: z.number().int().positive().optional(),
  requesterId: z.string(),
  requesterName: z.string().max(100),
  params: RenderParams,
  parentJobId: z.string().optional(),
  parentMessageId: z.string().optional(),
  /** How this render came from its parent (the 🔁 reaction or a button); absent on old records: a reroll. */
  origin: z.enum(RENDER_ORIGINS).optional(),
  state: z.enum(['active', 'done', 'failed', 'cancelled', 'deleted']),
  /** Object-store key of the finished picture (set when the render is done; `/show`, `/history`). */
  imageKey: z.string().max(256).optional(),
  /** Stream sequence of the job message (queue position). */
  queueSeq: z.number().int().nonnegative().optional(),
  createdAt: z.iso.datetime(),
});
export type RenderRecord = z.infer<typeof RenderRecord>;

/** The states a record can end in. */
export type FinalRenderState = Exclude<RenderRecord['state'], 'active'>;

/**
 * The interaction reply of a render: its token edits the message for 15 minutes. Kept in the
 * bot's memory only, never written to NATS.
 */
export interface InteractionReply {
  applicationId: string;
  token: string;
  issuedAt: number;
}
