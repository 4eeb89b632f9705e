/** Small helpers for e2e assertions on the emulator's recorded messages and for pretend users' clicks. */
import type {
  DiscordEmulator,
  ModalSubmitOptions,
  SentInteraction,
  StoredButton,
  StoredMessage,
} from '../../deploy/playground/emulator/index.js';

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

/** The buttons of a message's current state, row by row flattened. */
export function buttonsOf(m: StoredMessage): StoredButton[] {
  return m.components.flatMap((r) => r.components.filter((c): c is StoredButton => c.type === 2));
}

/**
 * Clicks a button as a user, found by its custom id or by its label (the custom ids the bot writes
 * carry state, so tests usually know the label). Throws when no such button or it is disabled.
 */
export function clickButton(
  emulator: DiscordEmulator,
  o: { user: string; messageId: string; customId?: string; label?: string },
): SentInteraction {
  let customId = o.customId;
  if (customId === undefined) {
    const m = emulator.message(o.messageId);
    if (!m) throw new Error(`no message ${o.messageId}`);
    const b = buttonsOf(m).find((x) => x.label === o.label);
    if (!b?.custom_id) {
      const labels = buttonsOf(m).map((x) => x.label);
      throw new Error(`message ${o.messageId} has no button '${o.label}' (has ${labels.join(', ')})`);
    }
    customId = b.custom_id;
  }
  return emulator.clickButton({ user: o.user, messageId: o.messageId, customId });
}

/** Submits the modal an interaction was answered with (see `DiscordEmulator.submitModal`). */
export function submitModal(emulator: DiscordEmulator, o: ModalSubmitOptions): SentInteraction {
  return emulator.submitModal(o);
}

/** Messages the bot sent to a user's DMs (a key of `emulator.users`), in order. */
export function dmsOf(emulator: DiscordEmulator, user: string): StoredMessage[] {
  return emulator.dmsOf(user);
}
