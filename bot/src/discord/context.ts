/** Everything the command and reaction handlers need, typed by the bot's ports (wired in `bot.ts`). */
import type { Logger } from 'pino';
import type { ModelFacts } from '../core/imagine-request.js';
import type {
  FarmInfo,
  GuildSettingsStore,
  ImageStore,
  JobQueue,
  Members,
  MessagePort,
  PreferencesStore,
  QuotaStore,
  RenderRecords,
  RenderTracker,
} from '../core/ports.js';

export interface BotContext {
  jobs: JobQueue;
  images: ImageStore;
  records: RenderRecords;
  quotas: QuotaStore;
  settings: GuildSettingsStore;
  /** Members' own settings (`/preferences`: results by DM). */
  preferences: PreferencesStore;
  renders: RenderTracker;
  port: MessagePort;
  status: FarmInfo;
  members: Members;
  /** The bot's own user id, once logged in (its own reactions are ignored). */
  botUserId: () => string | undefined;
  model: ModelFacts;
  log: Logger;
  now: () => number;
  randomSeed: () => number;
}
