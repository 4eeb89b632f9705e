/** Everything the command and reaction handlers need, passed in (built once in `bot.ts`). */
import type { Client } from 'discord.js';
import type { Logger } from 'pino';
import type { Farm } from '../../../shared/src/index.js';
import type { ModelFacts } from '../core/imagine-request.js';
import type { FarmStatus } from '../nats/farm-status.js';
import type { NatsQuotaStore } from '../nats/quota-store.js';
import type { NatsRenderRecords } from '../nats/render-records.js';
import type { NatsGuildSettingsStore } from '../nats/settings-store.js';
import type { RenderService } from '../render-service.js';
import type { DiscordMessagePort } from './message-port.js';

export interface BotContext {
  client: Client;
  farm: Farm;
  records: NatsRenderRecords;
  quotas: NatsQuotaStore;
  settings: NatsGuildSettingsStore;
  renders: RenderService;
  port: DiscordMessagePort;
  status: FarmStatus;
  model: ModelFacts;
  log: Logger;
  now: () => number;
  randomSeed: () => number;
}
