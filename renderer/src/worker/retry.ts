/** Retrying the small NATS writes that must not be lost when the server blips (store image, settle). */
import type { Logger } from 'pino';

export interface RetryOptions {
  signal?: AbortSignal;
  log: Logger;
  what: string;
  /** Give up after this long (ms); the caller then hands the job back. Default 60 s. */
  budgetMs?: number;
}

export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const deadline = Date.now() + (options.budgetMs ?? 60_000);
  let delayMs = 250;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      options.signal?.throwIfAborted();
      if (Date.now() + delayMs > deadline) throw e;
      options.log.warn({ err: e, retryInMs: delayMs }, `${options.what} failed; retrying`);
      await new Promise<void>((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 4000);
    }
  }
}
