/**
 * Member preferences (`/preferences`) in the bot's quotas bucket under `pref.<userId>`: that
 * bucket keeps keys until they are deleted (the render records' bucket expires them), and the
 * bot already owns it. Per user, not per server: DMs are the user's, whichever server asked.
 */
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import type { MemberPreferences, PreferencesStore } from '../core/ports.js';
import { casUpdate, kvCodec, kvRead } from './cas.js';

export const StoredPreferences = z.object({
  v: z.literal(1),
  dm: z.boolean(),
  dmClosedNotedAt: z.iso.datetime().optional(),
});

const codec = kvCodec(StoredPreferences, 'member preferences');

export function preferencesKey(userId: string): string {
  return `pref.${userId}`;
}

export const DEFAULT_PREFERENCES: MemberPreferences = { dm: false };

export class NatsPreferencesStore implements PreferencesStore {
  constructor(private readonly kv: KV) {}

  async get(userId: string): Promise<MemberPreferences> {
    const stored = await kvRead(this.kv, preferencesKey(userId), codec);
    return stored ? { dm: stored.dm, dmClosedNotedAt: stored.dmClosedNotedAt } : { ...DEFAULT_PREFERENCES };
  }

  update(
    userId: string,
    change: (current: MemberPreferences) => MemberPreferences,
  ): Promise<MemberPreferences> {
    return casUpdate(this.kv, preferencesKey(userId), codec, (current) => {
      const next = change(
        current ? { dm: current.dm, dmClosedNotedAt: current.dmClosedNotedAt } : { ...DEFAULT_PREFERENCES },
      );
      return { write: true, value: { v: 1 as const, ...next }, result: next };
    });
  }
}
