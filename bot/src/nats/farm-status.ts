/**
 * What `/farm` and the ETA need to know about the farm: renderers online (through the services
 * framework the renderers register with), the queue depth of a model, and a job's queue position.
 */
import { Svcm } from '@nats-io/services';
import {
  RendererPresence,
  SchedulerStatus,
  decodeMessage,
  jobsConsumer,
  jobsStream,
  rendererServiceName,
  schedulerStatusKey,
  type Farm,
} from '../../../shared/src/index.js';
import type { FarmInfo, QueueState } from '../core/ports.js';

export type { QueueState };

export class FarmStatus implements FarmInfo {
  private renderersCache: { at: number; list: RendererPresence[] } | undefined;

  constructor(
    private readonly farm: Farm,
    private readonly now: () => number = Date.now,
  ) {}

  async queue(model: string): Promise<QueueState> {
    try {
      const info = await this.farm.jsm.consumers.info(jobsStream(), jobsConsumer(model));
      return {
        waiting: info.num_pending,
        rendering: info.num_ack_pending,
        deliveredSeq: info.delivered.stream_seq,
      };
    } catch {
      // No renderer ever started for this model: nothing consumes, everything waits.
      const info = await this.farm.jsm.streams.info(jobsStream()).catch(() => undefined);
      return { waiting: info?.state.messages ?? 0, rendering: 0, deliveredSeq: 0 };
    }
  }

  /**
   * 1-based position of a queued job, 0 once a renderer has it. With the fair-share scheduler `seq`
   * is the job's place in intake, which says nothing about its turn: undefined (the scheduler's
   * `queued` events tell).
   */
  async position(model: string, seq: number): Promise<{ position: number | undefined; queue: QueueState }> {
    const queue = await this.queue(model);
    if (this.farm.settings.scheduler) return { position: undefined, queue };
    if (seq <= queue.deliveredSeq) return { position: 0, queue };
    return { position: Math.max(1, Math.min(queue.waiting, seq - queue.deliveredSeq)), queue };
  }

  /** The active scheduler's snapshot of a model's queue (written every 2 s), if there is one. */
  async schedulerStatus(model: string): Promise<SchedulerStatus | undefined> {
    if (!this.farm.settings.scheduler) return undefined;
    const entry = await this.farm.scheduler.get(schedulerStatusKey(model)).catch(() => null);
    if (entry?.operation !== 'PUT') return undefined;
    const decoded = decodeMessage(SchedulerStatus, entry.value, { name: 'scheduler status' });
    return decoded.ok ? decoded.value : undefined;
  }

  /** Renderers that answered a discovery ping (cached for a few seconds). */
  async renderers(timeoutMs = 500): Promise<RendererPresence[]> {
    if (this.renderersCache && this.now() - this.renderersCache.at < 5000) return this.renderersCache.list;
    const list: RendererPresence[] = [];
    try {
      // @nats-io/services bundles older nats-core typings; the connection is the same object.
      const client = new Svcm(this.farm.nc as unknown as ConstructorParameters<typeof Svcm>[0]).client({
        strategy: 'stall',
        stall: 200,
        maxWait: timeoutMs,
      });
      const stats = await client.stats(rendererServiceName());
      for await (const s of stats) {
        for (const ep of s.endpoints ?? []) {
          const data = (ep as { data?: unknown }).data;
          if (data === undefined || data === null) continue;
          const parsed = RendererPresence.safeParse(data);
          if (parsed.success) list.push(parsed.data);
        }
      }
    } catch {
      // No renderer answered.
    }
    const unique = [...new Map(list.map((r) => [r.id, r])).values()];
    // An empty answer is not cached: a renderer that is just starting shows up on the next ask.
    this.renderersCache = unique.length > 0 ? { at: this.now(), list: unique } : undefined;
    return unique;
  }
}
