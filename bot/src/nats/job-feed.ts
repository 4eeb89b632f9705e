/**
 * Job events for the bot: lifecycle events from the durable events stream through a durable
 * consumer (a restarted bot resumes where it stopped, and an event is acked only after the bot
 * acted on it), and progress frames from core NATS.
 *
 * A safety net watches the results bucket for new outcomes too: a pull request of a killed bot
 * can hold an event until AckWait passes, and the message should not wait that long. Handling an
 * outcome twice is harmless (the render service ends each job once).
 */
import { AckPolicy, DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import { KvWatchInclude } from '@nats-io/kv';
import { nanos, type Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  JobEvent,
  TerminalJobEvent,
  allEventsSubject,
  allFramesSubject,
  botEventsConsumer,
  decodeMessage,
  eventsStream,
  isConsumerExists,
  type Farm,
} from '../../../shared/src/index.js';

export interface JobFeedHandler {
  /**
   * Lifecycle event. The event is acked when the returned promise resolves and nak'd (redelivered
   * after 5 s) when it rejects; an event that does not decode is terminated at once.
   */
  onEvent(event: JobEvent): Promise<void>;
  /** Progress event with a frame (fire and forget). */
  onProgress(event: JobEvent & { type: 'progress' }): void;
  /** The fair-share scheduler's position and estimated wait of a queued job (fire and forget). */
  onQueuedPosition?(event: JobEvent & { type: 'queued' }): void;
}

export interface JobFeed {
  stop(): Promise<void>;
}

/** The bot's durable events consumer; the name is built in shared/src/subjects.ts. */
export const botConsumerName = botEventsConsumer;

export async function startJobFeed(deps: {
  farm: Farm;
  log: Logger;
  consumerName: string;
  handler: JobFeedHandler;
}): Promise<JobFeed> {
  const { farm, log, handler } = deps;
  try {
    await farm.jsm.consumers.add(eventsStream(), {
      durable_name: deps.consumerName,
      filter_subject: allEventsSubject(),
      ack_policy: AckPolicy.Explicit,
      // The first start begins now; later starts resume after the last acked event.
      deliver_policy: DeliverPolicy.New,
      ack_wait: nanos(120_000),
      max_ack_pending: 10_000,
      inactive_threshold: nanos(7 * 86_400_000),
    });
  } catch (e) {
    if (!isConsumerExists(e)) throw e;
  }
  const consumer = await farm.js.consumers.get(eventsStream(), deps.consumerName);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 256 });
  const inflight = new Set<Promise<void>>();
  const loop = (async () => {
    for await (const m of messages) {
      const decoded = decodeMessage(JobEvent, m.data, { subject: m.subject, name: 'job event' });
      if (!decoded.ok) {
        log.warn({ subject: m.subject, err: decoded.error.message }, 'dropping unreadable job event');
        m.term();
        continue;
      }
      const p = handler
        .onEvent(decoded.value)
        .then(
          () => m.ack(),
          (err: unknown) => {
            log.error(
              { err, jobId: decoded.value.jobId, type: decoded.value.type },
              'job event handling failed; it will be redelivered',
            );
            m.nak(5000);
          },
        )
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
  })();

  const frames: Subscription = farm.nc.subscribe(allFramesSubject(), {
    callback: (err, msg) => {
      if (err) return;
      const decoded = decodeMessage(JobEvent, msg.data, { subject: msg.subject, name: 'progress event' });
      if (!decoded.ok) return;
      if (decoded.value.type === 'progress') handler.onProgress(decoded.value);
      else if (decoded.value.type === 'queued') handler.onQueuedPosition?.(decoded.value);
    },
  });

  const results = await farm.results.watch({ include: KvWatchInclude.UpdatesOnly });
  const resultsLoop = (async () => {
    for await (const e of results) {
      if (e.operation !== 'PUT') continue;
      const decoded = decodeMessage(TerminalJobEvent, e.value, { name: 'job result' });
      if (!decoded.ok) continue;
      handler
        .onEvent(decoded.value)
        .catch((err: unknown) =>
          log.warn(
            { err, jobId: decoded.value.jobId },
            'job result handling failed; the events stream will retry',
          ),
        );
    }
  })();

  return {
    async stop() {
      results.stop();
      await resultsLoop.catch(() => undefined);
      frames.unsubscribe();
      await messages.close();
      await loop.catch(() => undefined);
      await Promise.allSettled([...inflight]);
    },
  };
}
