/**
 * Guild settings in the guild-settings KV bucket (key = guild id), cached in memory and kept
 * fresh by a KV watch, so `/imagine` can check them before deferring without a round trip.
 * Changes go through compare-and-set (two moderators editing at once both land).
 */
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { GuildSettings, defaultGuildSettings } from '../core/guild-settings.js';
import type { GuildSettingsStore } from '../core/ports.js';
import { casUpdate, kvCodec, kvRead } from './cas.js';

const codec = kvCodec(GuildSettings, 'guild settings');

export class NatsGuildSettingsStore implements GuildSettingsStore {
  private readonly cache = new Map<string, GuildSettings>();
  private stopWatch: (() => void) | undefined;

  constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  /** Starts watching every guild's settings (call once at start). */
  async start(): Promise<void> {
    const watch = await this.kv.watch({ key: '>' });
    this.stopWatch = () => watch.stop();
    void (async () => {
      for await (const e of watch) {
        if (e.operation !== 'PUT') {
          this.cache.delete(e.key);
          continue;
        }
        const s = codec.decode(e.value);
        if (s) this.cache.set(e.key, s);
        else this.log.warn({ guildId: e.key }, 'ignoring unreadable guild settings');
      }
    })();
  }

  stop(): void {
    this.stopWatch?.();
  }

  async get(guildId: string): Promise<GuildSettings> {
    const cached = this.cache.get(guildId);
    if (cached) return cached;
    return (await kvRead(this.kv, guildId, codec)) ?? defaultGuildSettings();
  }

  /** Applies `change` atomically and returns the new settings. */
  async update(guildId: string, change: (current: GuildSettings) => GuildSettings): Promise<GuildSettings> {
    const next = await casUpdate(this.kv, guildId, codec, (current) => {
      const value = GuildSettings.parse(change(structuredClone(current ?? defaultGuildSettings())));
      return { write: true, value, result: value };
    });
    this.cache.set(guildId, next);
    return next;
  }
}
