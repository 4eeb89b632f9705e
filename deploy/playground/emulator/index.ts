export { createDiscordEmulator } from './emulator.js';
export type {
  DiscordEmulator,
  DiscordEmulatorOptions,
  EmulatorGuildInfo,
  PretendUserSpec,
  SentInteraction,
  SlashCommandOptions,
} from './emulator.js';
export type { AttachmentInput, OptionValue } from './interactions.js';
export { Permission, OptionType } from './model.js';
export type {
  EmulatedUser,
  StoredAttachment,
  StoredInteraction,
  StoredMessage,
  MessageRevision,
  RegisteredCommand,
} from './model.js';
export type { Inject429Options, RouteLimit } from './rate-limits.js';
export type { RequestRecord } from './rest-server.js';
export { MessageFlag } from './world.js';
export { createSnowflakeGenerator, snowflakeTime } from './snowflake.js';
