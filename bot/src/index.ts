/** The public seam of `bot/`: start the bot, register commands, and the local Discord emulator. */
export { startBot } from './bot.js';
export type { BotHandle, BotOptions } from './bot.js';
export { deployCommands } from './cli/commands.js';
export { buildCommands } from './discord/command-definitions.js';
export { loadModelFacts, TINY_SHAPES_FACTS } from './model-facts.js';
export * from './emulator/index.js';
