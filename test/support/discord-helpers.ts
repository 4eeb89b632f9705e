/** Small helpers for e2e assertions on the emulator's recorded messages. */
import type { DiscordEmulator, StoredMessage } from '../../deploy/playground/emulator/index.js';

/** Distinct frame images (by bytes) a message showed over its revisions. */
export function distinctFrames(m: StoredMessage): number {
  const seen = new Set<string>();
  for (const r of m.revisions) {
    for (const a of r.attachments)
      if (a.filename.startsWith('frame')) seen.add(Buffer.from(a.data).toString('base64'));
  }
  return seen.size;
}

/** The embed field value of the message's current state. */
export function embedField(m: StoredMessage, name: string): string | undefined {
  const embed = m.embeds[0] as { fields?: { name: string; value: string }[] } | undefined;
  return embed?.fields?.find((f) => f.name === name)?.value;
}

export function isFinished(m: StoredMessage): boolean {
  return /^(✅|⚠️|🛑 Cancelled)/u.test(m.content);
}

/** Waits until the message reached a final state and returns it. */
export function waitFinished(
  emulator: DiscordEmulator,
  messageId: string,
  timeoutMs = 60_000,
): Promise<StoredMessage> {
  return emulator.waitFor(
    () => {
      const m = emulator.message(messageId);
      return m && isFinished(m) ? m : undefined;
    },
    { timeoutMs, what: `message ${messageId} to finish` },
  );
}

/** Every message the bot posted that notified anyone. */
export function pingingMessages(emulator: DiscordEmulator): StoredMessage[] {
  return emulator
    .messages({ includeDeleted: true })
    .filter((m) => m.pings.everyone || m.pings.users.length > 0 || m.pings.roles.length > 0);
}
