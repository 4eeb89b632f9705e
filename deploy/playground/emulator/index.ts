export { createDiscordEmulator } from './emulator.js';
export type {
  DiscordEmulator,
  DiscordEmulatorOptions,
  EmulatorGuildInfo,
  PretendUserSpec,
} from './emulator.js';
export type {
  ClickOptions,
  ModalSubmitOptions,
  SelectOptions,
  SentInteraction,
  SlashCommandOptions,
} from './emulator-interactions.js';
export { EmulatorInputError } from './component-interactions.js';
export { ButtonStyle, ComponentType } from './components.js';
export type { StoredActionRow, StoredButton, StoredStringSelect } from './components.js';
export type {
  ModalValue,
  StoredModal,
  StoredModalEntry,
  StoredModalInput,
  StoredModalSelect,
  StoredTextInput,
} from './modals.js';
export type { AttachmentInput, OptionValue } from './interactions.js';
export { Permission, OptionType } from './model.js';
export type {
  DmChannel,
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
