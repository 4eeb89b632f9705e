/**
 * The renderer's periodic look at the work queue: at start and every `RENDERER_SWEEP_INTERVAL_MS`
 * it expires jobs queued past `JOB_MAX_QUEUE_S` (any model) and removes acked jobs a server crash
 * left behind (its own model). Every renderer sweeps; the sweeps are idempotent, so several at
 * once only cost a few requests. A sweep that fails (NATS restarting) is tried again next time.
 */
import type { Logger } from 'pino';
import type { Farm } from '../../../shared/src/index.js';
import { expireQueuedJobs } from './expiry.js';
import { ResidueSweeper } from './residue-sweeper.js';

export interface QueueSweeperSettings {
  model: string;
  rendererId: string;
  intervalMs: number;
  maxQueueMs: number;
}

export interface QueueSweeper {
  /** Runs one sweep now (also what the timer does); resolves when it is over. */
  sweep(): Promise<void>;
  stop(): Promise<void>;
}

export function startQueueSweeper(deps: {
  farm: Farm;
  log: Logger;
  settings: QueueSweeperSettings;
}): QueueSweeper {
  const { farm, settings } = deps;
  const log = deps.log.child({ component: 'queue-sweeper' });
  const residue = new ResidueSweeper(farm, settings.model, settings.rendererId, log);
  let running: Promise<void> | undefined;
  let stopped = false;
  const sweep = (): Promise<void> => {
    running ??= (async () => {
      try {
        await expireQueuedJobs(
          farm,
          { rendererId: settings.rendererId, maxQueueMs: settings.maxQueueMs },
          log,
        );
        await residue.sweep();
      } catch (e) {
        log.debug({ err: e }, 'queue sweep failed; next time');
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped) void sweep();
  }, settings.intervalMs);
  timer.unref();
  void sweep();
  return {
    sweep,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
