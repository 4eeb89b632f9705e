export { startPlayground } from './playground-server.js';
export type { Playground, PlaygroundOptions, PlaygroundState, PlaygroundUser } from './playground-server.js';
export { parseCommandLine, splitOptions } from './command-line.js';
export type { CommandLineError, CommandLineResult, NameLookups, ParsedCommand } from './command-line.js';
export { messageView, noResponseView, visibleTo } from './message-view.js';
export type { EmbedView, MessageView, PersonView } from './message-view.js';
