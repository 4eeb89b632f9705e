/**
 * Error classes shared by every process, and the small `Result` type that expected user
 * mistakes travel in (they are values with a stable identifier, not exceptions).
 */
import type { FailureCode } from './contracts.js';

/** A bad environment: names each variable and what it expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: { name: string; expected: string; got?: string }[]) {
    super(
      `invalid configuration:\n${problems
        .map(
          (p) =>
            `  ${p.name}: expected ${p.expected}${p.got === undefined ? '' : `, got ${JSON.stringify(p.got)}`}`,
        )
        .join('\n')}`,
    );
  }
}

/** Wire data that does not match its contract. `code` says how (malformed JSON, version …). */
export class ContractError extends Error {
  override readonly name = 'ContractError';
  constructor(
    message: string,
    readonly code: Extract<
      FailureCode,
      'malformed-json' | 'unsupported-version' | 'invalid-job' | 'job-too-large'
    >,
    readonly context: { subject?: string; schema?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Setting up or talking to NATS failed (stream, consumer, bucket …). */
export class NatsSetupError extends Error {
  override readonly name: string = 'NatsSetupError';
  constructor(
    message: string,
    readonly context: {
      stream?: string;
      consumer?: string;
      bucket?: string;
      subject?: string;
      file?: string;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The farm's streams, buckets or a model's consumer are not there: an admin runs `tessera setup`
 * (processes other than setup only bind; they may not create anything).
 */
export class FarmNotSetUpError extends NatsSetupError {
  override readonly name = 'FarmNotSetUpError';
}

/**
 * A job failed in a way that maps to a `failed` event. `retryable` decides between `nak(delay)`
 * (transient: try again, maybe elsewhere) and settling it as failed, then acking the message (no
 * retry can fix it; the renderer acks rather than `term()`s: see render-worker.ts `#drop`).
 */
export class JobFailure extends Error {
  override readonly name = 'JobFailure';
  constructor(
    /** A sentence for the person who asked. */
    readonly reason: string,
    readonly code: FailureCode,
    readonly retryable: boolean,
    readonly context: { jobId?: string; identifier?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/** A value or the expected error that replaced it (e.g. `decodeMessage`'s `ContractError`). */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

/** True for the errors `AbortSignal`s produce (`AbortError`, or a `TimeoutError` from `AbortSignal.timeout`). */
export function isAbortError(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError');
}

/** A one-line description of any thrown value, for logs and failure reasons. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
