/** The public seam of `bot/`: start the bot and register commands. The local Discord emulator and the
 * playground are not part of the bot: they live in deploy/playground/. */
export { startBot } from './bot.js';
export type { BotHandle, BotOptions } from './bot.js';
export { deployCommands } from './cli/commands.js';
export { buildCommands } from './discord/command-definitions.js';
export { loadModelFacts, TINY_SHAPES_FACTS } from './model-facts.js';
