/**
 * Classifies what went wrong with a job, once: terminal (bad input, no retry can fix it) maps to
 * a `failed` event and an ack (the message leaves the queue); retryable maps to `nak(delay)` until MaxDeliver.
 */
import { ContractError, JobFailure, describeError } from '../../../shared/src/index.js';
import { EngineInputError } from '../engine/engine.js';

export function classifyFailure(e: unknown, jobId?: string): JobFailure {
  const context = jobId === undefined ? {} : { jobId };
  if (e instanceof JobFailure) return e;
  if (e instanceof ContractError) return new JobFailure(e.message, e.code, false, context, { cause: e });
  if (e instanceof EngineInputError) {
    return new JobFailure(
      e.message,
      'bad-input',
      false,
      { ...context, identifier: e.identifier },
      { cause: e },
    );
  }
  // Anything else (engine crash, NATS hiccup, out of memory on the GPU) may work on a retry,
  // possibly on another renderer.
  return new JobFailure(`The renderer failed: ${describeError(e)}`, 'engine-error', true, context, {
    cause: e,
  });
}

/** Delay before the next delivery: base · 2^(attempt−1), capped at 5 minutes. */
export function retryDelayMs(baseMs: number, attempt: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempt - 1), 300_000);
}
