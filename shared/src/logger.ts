/**
 * pino loggers with secrets redacted. Each process creates one root logger in its `main.ts`
 * and passes child loggers (`log.child({ jobId })`) down.
 */
import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';
import { SECRET_VARS } from './config.js';

export type { Logger } from 'pino';

/** Paths pino replaces with `[redacted]`: config secrets, Discord and NATS credentials anywhere they show up. */
export const REDACT_PATHS: string[] = [
  ...SECRET_VARS,
  ...SECRET_VARS.map((name) => `*.${name}`),
  'token',
  '*.token',
  'password',
  '*.password',
  'interactionToken',
  '*.interactionToken',
  'discord.interactionToken',
  '*.discord.interactionToken',
  'job.discord.interactionToken',
  'headers.authorization',
  '*.headers.authorization',
  'authorization',
  '*.authorization',
];

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Process name, e.g. `renderer` or `bot`. */
  name: string;
  /** Defaults to stdout (JSON lines). Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      base: { pid: process.pid, ...options.base },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination(1),
  );
}

/** A logger that writes nothing (for tests and libraries called without one). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
