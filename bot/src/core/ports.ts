/**
 * The bot's ports: tiny interfaces where it meets the outside (the farm's queue and stores, the
 * bot's own KV state, Discord). The NATS implementations live in `bot/src/nats/`, the Discord
 * ones in `bot/src/discord/`; tests use in-memory ones (`test/support/bot-ports.ts`).
 */
import type {
  CancelOutcome,
  RenderJobInput,
  RendererPresence,
  SchedulerStatus,
  TerminalJobEvent,
} from '../../../shared/src/index.js';
import type { MessageEditPort, RenderPayload } from './frame-editor.js';
import type { GuildSettings, QuotaRule } from './guild-settings.js';
import type { HistoryPage, HistoryPageRequest } from './history-index.js';
import type { ChargeOutcome, QueuedLimit, UsageRecord } from './quota.js';
import type { FinalRenderState, InteractionReply, RenderRecord } from './render-record.js';

/** The farm's job queue: submit a job, cancel it, read its outcome. */
export interface JobQueue {
  /** Publishes the job (a retried submit of the same `jobId` is one job); `seq` is its queue position. */
  submit(job: RenderJobInput): Promise<{ seq: number }>;
  cancel(request: { jobId: string; by: string }, model: string): Promise<CancelOutcome>;
  /** The terminal event of a job that ended, if it did. */
  result(jobId: string): Promise<TerminalJobEvent | undefined>;
}

/** The farm's image store (init images in, finished pictures out). */
export interface ImageStore {
  put(key: string, bytes: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
}

/** Per-member quota counters, changed atomically. */
export interface QuotaStore {
  /** Charges `jobId` to the member if the rule, the running-jobs limit and the queued limit allow it. */
  charge(
    guildId: string,
    userId: string,
    jobId: string,
    rule: QuotaRule,
    maxConcurrent: number,
    queuedLimit?: QueuedLimit,
  ): Promise<ChargeOutcome>;
  /** Marks the job ended; with `refund` its charge is given back. Idempotent; true if refunded now. */
  settle(guildId: string, userId: string, jobId: string, refund: boolean): Promise<boolean>;
  usage(guildId: string, userId: string): Promise<UsageRecord>;
  /** Forgets the member's charges (running jobs still count as running). */
  reset(guildId: string, userId: string): Promise<void>;
}

/** The bot's memory of its render messages, by job id and by message id. */
export interface RenderRecords {
  put(record: RenderRecord): Promise<void>;
  get(jobId: string): Promise<RenderRecord | undefined>;
  byMessage(messageId: string): Promise<RenderRecord | undefined>;
  /**
   * Moves a record to a final state (with the finished picture's key when done); true only for
   * the caller that made the transition.
   */
  finish(jobId: string, state: FinalRenderState, result?: { imageKey: string }): Promise<boolean>;
  /** Every record still active (for a bot that just started). */
  active(): Promise<RenderRecord[]>;
  /** A member's renders in a guild, newest first, one page at a time (`/history`). */
  byMember(guildId: string, userId: string, page: HistoryPageRequest): Promise<HistoryPage<RenderRecord>>;
}

/** A member's own settings (kept by the bot, across servers). */
export interface MemberPreferences {
  /** Send finished renders to the member's DMs too. */
  dm: boolean;
  /** Set after a DM failed because the member's DMs are closed; cleared by the next DM that lands. */
  dmClosedNotedAt?: string;
}

/** Per-member preferences (`/preferences`). */
export interface PreferencesStore {
  get(userId: string): Promise<MemberPreferences>;
  /** Applies `change` atomically and returns the new preferences. */
  update(
    userId: string,
    change: (current: MemberPreferences) => MemberPreferences,
  ): Promise<MemberPreferences>;
}

/** Per-guild settings (limits, quotas, channels, banned words). */
export interface GuildSettingsStore {
  get(guildId: string): Promise<GuildSettings>;
  /** Applies `change` atomically and returns the new settings. */
  update(guildId: string, change: (current: GuildSettings) => GuildSettings): Promise<GuildSettings>;
}

/** What a model's queue looks like. */
export interface QueueState {
  /** Jobs waiting for a renderer. */
  waiting: number;
  /** Jobs a renderer holds right now. */
  rendering: number;
  /** Stream sequence of the newest job handed to a renderer. */
  deliveredSeq: number;
}

/** What `/farm` and the ETAs need to know about the farm. */
export interface FarmInfo {
  queue(model: string): Promise<QueueState>;
  /**
   * 1-based position of a queued job, 0 once a renderer has it; undefined when the work queue
   * cannot tell (with the fair-share scheduler, whose `queued` events carry the position).
   */
  position(model: string, seq: number): Promise<{ position: number | undefined; queue: QueueState }>;
  renderers(): Promise<RendererPresence[]>;
  /** The fair-share scheduler's latest snapshot of a model's queue; undefined without a scheduler. */
  schedulerStatus(model: string): Promise<SchedulerStatus | undefined>;
}

/** Render messages in Discord channels (bot token), plus edits of interaction replies. */
export interface MessagePort extends MessageEditPort {
  /** Posts a message; returns its id. */
  post(channelId: string, payload: RenderPayload, replyTo?: string): Promise<string>;
  /** A short text message (no embeds, no pings); returns its id. */
  say(channelId: string, content: string, replyTo?: string): Promise<string>;
  delete(channelId: string, messageId: string): Promise<void>;
  react(channelId: string, messageId: string, emoji: string): Promise<void>;
  removeReaction(channelId: string, messageId: string, emoji: string, userId: string): Promise<void>;
  /**
   * Sends a message to a user's DMs; returns its id. Rejects with a `MessageEditError` (code
   * 50007) when the user does not accept DMs from the bot.
   */
  dm(userId: string, payload: RenderPayload): Promise<string>;
}

/** Who people are in a guild. */
export interface Members {
  /** Whether the member may cancel or delete other people's renders. */
  isModerator(guildId: string, userId: string): Promise<boolean>;
  roleIds(guildId: string, userId: string): Promise<string[]>;
  /** The user's name, if known. */
  username(userId: string): string | undefined;
}

/** One followed job as its owner sees it: waiting (with the scheduler's position and wait) or started. */
export interface RenderProgressView {
  record: RenderRecord;
  started: boolean;
  /** 1 = next; undefined until known. */
  position?: number;
  etaMs?: number;
}

/** The render service as the command and reaction handlers see it. */
export interface RenderTracker {
  /** Starts following a job whose record was just written (`reply` while its token is valid). */
  track(record: RenderRecord, reply?: InteractionReply): void;
  /** Shows "cancelling…" right away; the renderer's `cancelled` event ends the job. */
  markCancelling(jobId: string, by: string): void;
  /** Resolves when the job's message has reached its final state (at once if not followed). */
  whenEnded(jobId: string): Promise<void>;
  /** Jobs this bot is following for a member. */
  activeJobsOf(userId: string): RenderRecord[];
  /** Where each of the member's followed jobs stands (for the queued limit and `/farm`). */
  progressOf(userId: string): RenderProgressView[];
  /** Recent speed of the farm in it/s, if any render reported one. */
  currentSpeed(): number | undefined;
}
