/**
 * In-memory implementations of the bot's ports (`bot/src/core/ports.ts`) for unit tests, and a
 * `BotContext` built from them around a real `RenderService`. Values go through the same codecs
 * as on NATS, so a test can look at the bytes that would have been stored or published.
 */
import {
  RenderJob,
  createLogger,
  encodeMessage,
  type CancelOutcome,
  type RenderJobInput,
  type RendererPresence,
  type SchedulerStatus,
  type TerminalJobEvent,
} from '../../shared/src/index.js';
import type { EditTarget, RenderPayload } from '../../bot/src/core/frame-editor.js';
import {
  defaultGuildSettings,
  type GuildSettings,
  type QuotaRule,
} from '../../bot/src/core/guild-settings.js';
import type { ModelFacts } from '../../bot/src/core/imagine-request.js';
import {
  addToHistory,
  pageOf,
  type HistoryPage,
  type HistoryPageRequest,
  type MemberHistory,
} from '../../bot/src/core/history-index.js';
import { MessageEditError } from '../../bot/src/core/frame-editor.js';
import type {
  FarmInfo,
  GuildSettingsStore,
  ImageStore,
  JobQueue,
  MemberPreferences,
  Members,
  MessagePort,
  PreferencesStore,
  QueueState,
  QuotaStore,
  RenderRecords,
} from '../../bot/src/core/ports.js';
import {
  charge,
  emptyUsage,
  settle,
  type ChargeOutcome,
  type QueuedLimit,
  type UsageRecord,
} from '../../bot/src/core/quota.js';
import { RenderRecord, type FinalRenderState } from '../../bot/src/core/render-record.js';
import type { BotContext } from '../../bot/src/discord/context.js';
import { RenderService } from '../../bot/src/render-service.js';

export class MemoryJobQueue implements JobQueue {
  /** Every job's bytes as they would be published, by job id (a resubmit is one job). */
  readonly published = new Map<string, Uint8Array>();
  readonly cancels: { jobId: string; by: string; model: string }[] = [];
  readonly results = new Map<string, TerminalJobEvent>();
  /** What `cancel` answers (a queued job by default). */
  cancelOutcome: CancelOutcome = { status: 'cancelling' };
  failSubmit: Error | undefined;
  private seq = 0;

  async submit(job: RenderJobInput): Promise<{ seq: number }> {
    if (this.failSubmit) throw this.failSubmit;
    const bytes = encodeMessage(RenderJob, job);
    if (!this.published.has(job.jobId)) this.published.set(job.jobId, bytes);
    this.seq += 1;
    return { seq: this.seq };
  }

  job(jobId: string): RenderJob | undefined {
    const bytes = this.published.get(jobId);
    return bytes ? RenderJob.parse(JSON.parse(new TextDecoder().decode(bytes))) : undefined;
  }

  async cancel(request: { jobId: string; by: string }, model: string): Promise<CancelOutcome> {
    this.cancels.push({ ...request, model });
    return this.cancelOutcome;
  }

  async result(jobId: string): Promise<TerminalJobEvent | undefined> {
    return this.results.get(jobId);
  }
}

export class MemoryImageStore implements ImageStore {
  readonly images = new Map<string, Uint8Array>();
  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.images.set(key, bytes);
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.images.get(key);
  }
}

/** The pure quota functions over a map; `writes` counts changes (a refund repeated is no write). */
export class MemoryQuotaStore implements QuotaStore {
  readonly usages = new Map<string, UsageRecord>();
  writes = 0;
  refunds: string[] = [];
  constructor(private readonly now: () => number = Date.now) {}

  async charge(
    g: string,
    u: string,
    jobId: string,
    rule: QuotaRule,
    max: number,
    queuedLimit?: QueuedLimit,
  ): Promise<ChargeOutcome> {
    const outcome = charge(
      this.usages.get(`${g}.${u}`) ?? emptyUsage(this.now()),
      jobId,
      rule,
      max,
      this.now(),
      queuedLimit,
    );
    if (outcome.ok && !outcome.alreadyCharged) {
      this.usages.set(`${g}.${u}`, outcome.usage);
      this.writes += 1;
    }
    return outcome;
  }

  async settle(g: string, u: string, jobId: string, refund: boolean): Promise<boolean> {
    const current = this.usages.get(`${g}.${u}`);
    if (!current) return false;
    const s = settle(current, jobId, refund, this.now());
    if (!s.changed) return false;
    this.usages.set(`${g}.${u}`, s.usage);
    this.writes += 1;
    if (s.refunded) this.refunds.push(jobId);
    return s.refunded;
  }

  async usage(g: string, u: string): Promise<UsageRecord> {
    return this.usages.get(`${g}.${u}`) ?? emptyUsage(this.now());
  }

  async reset(g: string, u: string): Promise<void> {
    const current = this.usages.get(`${g}.${u}`);
    if (current) this.usages.set(`${g}.${u}`, { ...emptyUsage(this.now()), active: current.active });
  }
}

/** Records stored as the bytes the NATS store would keep. */
export class MemoryRenderRecords implements RenderRecords {
  readonly stored = new Map<string, Uint8Array>();
  private readonly byMsg = new Map<string, string>();
  private readonly histories = new Map<string, MemberHistory>();

  async put(record: RenderRecord): Promise<void> {
    this.stored.set(record.jobId, encodeMessage(RenderRecord, record));
    this.byMsg.set(record.messageId, record.jobId);
    const key = `${record.guildId}.${record.requesterId}`;
    const current = this.histories.get(key);
    if (!current?.jobs.some((j) => j.jobId === record.jobId))
      this.histories.set(key, addToHistory(current, record.jobId, record.createdAt));
  }
  async byMember(
    guildId: string,
    userId: string,
    request: HistoryPageRequest,
  ): Promise<HistoryPage<RenderRecord>> {
    const ids = this.histories.get(`${guildId}.${userId}`)?.jobs.map((j) => j.jobId) ?? [];
    const page = pageOf(ids, request);
    const records = await Promise.all(page.items.map((id) => this.get(id)));
    return { ...page, items: records.filter((r): r is RenderRecord => r !== undefined) };
  }
  async get(jobId: string): Promise<RenderRecord | undefined> {
    const bytes = this.stored.get(jobId);
    return bytes ? RenderRecord.parse(JSON.parse(new TextDecoder().decode(bytes))) : undefined;
  }
  async byMessage(messageId: string): Promise<RenderRecord | undefined> {
    const jobId = this.byMsg.get(messageId);
    return jobId ? this.get(jobId) : undefined;
  }
  async finish(jobId: string, state: FinalRenderState, result?: { imageKey: string }): Promise<boolean> {
    const current = await this.get(jobId);
    if (!current || (current.state !== 'active' && !(state === 'deleted' && current.state === 'done')))
      return false;
    await this.put({ ...current, state, imageKey: result?.imageKey ?? current.imageKey });
    return true;
  }
  async active(): Promise<RenderRecord[]> {
    const all = await Promise.all([...this.stored.keys()].map((id) => this.get(id)));
    return all.filter((r): r is RenderRecord => r?.state === 'active');
  }
}

export class MemoryPreferencesStore implements PreferencesStore {
  readonly stored = new Map<string, MemberPreferences>();
  async get(userId: string): Promise<MemberPreferences> {
    return { ...(this.stored.get(userId) ?? { dm: false }) };
  }
  async update(
    userId: string,
    change: (c: MemberPreferences) => MemberPreferences,
  ): Promise<MemberPreferences> {
    const next = change(await this.get(userId));
    this.stored.set(userId, next);
    return next;
  }
}

export class MemorySettingsStore implements GuildSettingsStore {
  readonly settings = new Map<string, GuildSettings>();
  async get(guildId: string): Promise<GuildSettings> {
    return this.settings.get(guildId) ?? defaultGuildSettings();
  }
  async update(guildId: string, change: (current: GuildSettings) => GuildSettings): Promise<GuildSettings> {
    const next = change(structuredClone(await this.get(guildId)));
    this.settings.set(guildId, next);
    return next;
  }
}

export class MemoryFarmInfo implements FarmInfo {
  queueState: QueueState = { waiting: 0, rendering: 0, deliveredSeq: 0 };
  /** One idle tiny-shapes renderer by default, so `/imagine` is not refused as unserved. */
  renderersOnline: RendererPresence[] = [
    {
      v: 1,
      id: 'memory-renderer',
      model: 'tiny-shapes',
      executionProvider: 'cpu',
      state: 'idle',
      recentItPerSec: 0,
      jobsDone: 0,
      startedAt: new Date(0).toISOString(),
    },
  ];
  async queue(): Promise<QueueState> {
    return this.queueState;
  }
  /** The fair-share scheduler's snapshot, when a test has one. */
  scheduler: SchedulerStatus | undefined;
  async position(_model: string, seq: number): Promise<{ position: number; queue: QueueState }> {
    return { position: Math.max(0, seq - this.queueState.deliveredSeq), queue: this.queueState };
  }
  async renderers(): Promise<RendererPresence[]> {
    return this.renderersOnline;
  }
  async schedulerStatus(): Promise<SchedulerStatus | undefined> {
    return this.scheduler;
  }
}

export interface PostedMessage {
  id: string;
  channelId: string;
  payload?: RenderPayload;
  content?: string;
  replyTo?: string;
}

/** A Discord channel in memory: what was posted, edited, deleted and reacted. */
export class MemoryMessagePort implements MessagePort {
  readonly posts: PostedMessage[] = [];
  readonly edits: { target: EditTarget; payload: RenderPayload }[] = [];
  readonly deleted: string[] = [];
  readonly reactions: { messageId: string; emoji: string }[] = [];
  readonly removedReactions: { messageId: string; emoji: string; userId: string }[] = [];
  failPost: Error | undefined;
  /** DMs sent (user id → payloads); users in `closedDms` refuse with 50007. */
  readonly dms: { id: string; userId: string; payload: RenderPayload }[] = [];
  readonly closedDms = new Set<string>();
  private nextId = 900_000_000_000_000_000n;

  private id(): string {
    this.nextId += 1n;
    return String(this.nextId);
  }
  async edit(target: EditTarget, payload: RenderPayload): Promise<void> {
    this.edits.push({ target, payload });
  }
  async post(channelId: string, payload: RenderPayload, replyTo?: string): Promise<string> {
    if (this.failPost) throw this.failPost;
    const id = this.id();
    this.posts.push({ id, channelId, payload, replyTo });
    return id;
  }
  async say(channelId: string, content: string, replyTo?: string): Promise<string> {
    const id = this.id();
    this.posts.push({ id, channelId, content, replyTo });
    return id;
  }
  async dm(userId: string, payload: RenderPayload): Promise<string> {
    if (this.closedDms.has(userId))
      throw new MessageEditError('Cannot send messages to this user', 50007, 403);
    const id = this.id();
    this.dms.push({ id, userId, payload });
    return id;
  }
  async delete(_channelId: string, messageId: string): Promise<void> {
    this.deleted.push(messageId);
  }
  async react(_channelId: string, messageId: string, emoji: string): Promise<void> {
    this.reactions.push({ messageId, emoji });
  }
  async removeReaction(_c: string, messageId: string, emoji: string, userId: string): Promise<void> {
    this.removedReactions.push({ messageId, emoji, userId });
  }
  /** The edits of one message, in order. */
  editsOf(messageId: string): RenderPayload[] {
    return this.edits.filter((e) => e.target.messageId === messageId).map((e) => e.payload);
  }
}

export class MemoryMembers implements Members {
  readonly moderators = new Set<string>();
  readonly roles = new Map<string, string[]>();
  async isModerator(_guildId: string, userId: string): Promise<boolean> {
    return this.moderators.has(userId);
  }
  async roleIds(_guildId: string, userId: string): Promise<string[]> {
    return this.roles.get(userId) ?? [];
  }
  username(userId: string): string | undefined {
    return `user-${userId}`;
  }
}

export const TEST_MODEL: ModelFacts = {
  name: 'tiny-shapes',
  sizes: [[64, 64]],
  defaultSize: [64, 64],
  defaultSteps: 50,
  defaultCutn: 8,
  maxSteps: 500,
};

export interface MemoryBot extends BotContext {
  jobs: MemoryJobQueue;
  images: MemoryImageStore;
  records: MemoryRenderRecords;
  quotas: MemoryQuotaStore;
  settings: MemorySettingsStore;
  preferences: MemoryPreferencesStore;
  port: MemoryMessagePort;
  status: MemoryFarmInfo;
  members: MemoryMembers;
  renders: RenderService;
}

/** A bot context on in-memory ports, with a real render service (edits without pacing). */
export function memoryBot(
  options: { now?: () => number; seeds?: number[]; model?: ModelFacts } = {},
): MemoryBot {
  const now = options.now ?? Date.now;
  const seeds = [...(options.seeds ?? [])];
  const log = createLogger({ level: 'silent', name: 'bot-test' });
  const ports = {
    jobs: new MemoryJobQueue(),
    images: new MemoryImageStore(),
    records: new MemoryRenderRecords(),
    quotas: new MemoryQuotaStore(now),
    settings: new MemorySettingsStore(),
    preferences: new MemoryPreferencesStore(),
    port: new MemoryMessagePort(),
    status: new MemoryFarmInfo(),
    members: new MemoryMembers(),
  };
  const model = options.model ?? TEST_MODEL;
  const renders = new RenderService({ ...ports, log, editMinIntervalMs: 0, now, model });
  return {
    ...ports,
    renders,
    botUserId: () => 'bot-user',
    model,
    log,
    now,
    randomSeed: () => seeds.shift() ?? 4242,
  };
}
