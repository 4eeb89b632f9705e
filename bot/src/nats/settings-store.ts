/**
 * Guild settings in the guild-settings KV bucket (key = guild id), cached in memory and kept
 * fresh by a KV watch, so `/imagine` can check them before deferring without a round trip.
 * Changes go through compare-and-set (two moderators editing at once both land).
 */
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { GuildSettings, defaultGuildSettings } from '../core/guild-settings.js';
import { casUpdate } from './cas.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function decode(bytes: Uint8Array): GuildSettings | undefined {
  try {
    const parsed = GuildSettings.safeParse(JSON.parse(decoder.decode(bytes)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
const encode = (s: GuildSettings) => encoder.encode(JSON.stringify(s));

export class NatsGuildSettingsStore {
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
        const s = decode(e.value);
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
    const entry = await this.kv.get(guildId);
    const s =
      (entry && entry.operation === 'PUT' ? decode(entry.value) : undefined) ?? defaultGuildSettings();
    return s;
  }

  /** Applies `change` atomically and returns the new settings. */
  async update(guildId: string, change: (current: GuildSettings) => GuildSettings): Promise<GuildSettings> {
    const next = await casUpdate(this.kv, guildId, decode, encode, (current) => {
      const value = GuildSettings.parse(change(structuredClone(current ?? defaultGuildSettings())));
      return { write: true, value, result: value };
    });
    this.cache.set(guildId, next);
    return next;
  }
}
