/**
 * `/preferences [dm]`: a member's own settings (private replies). `dm:true` also sends each
 * finished render of theirs to their DMs (the channel keeps it too: nothing is lost when DMs
 * are closed); without options it shows the current settings.
 */
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import type { MemberPreferences } from '../core/ports.js';
import type { BotContext } from './context.js';

/** What `/preferences` says about the settings. */
export function preferencesText(p: MemberPreferences, changed: boolean): string {
  const head = changed ? '✅ Saved.' : 'Your preferences:';
  const dm = p.dm
    ? '📬 **Results by DM: on.** Your finished renders also come to your DMs; they stay in the channel too. If your DMs are closed to this bot, you get one note under a render.'
    : '📭 **Results by DM: off.** Turn it on with `/preferences dm:true`.';
  return `${head}\n${dm}`;
}

export async function handlePreferences(i: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const dm = i.options.getBoolean('dm');
  const prefs =
    dm === null
      ? await ctx.preferences.get(i.user.id)
      : // Turning DMs on again forgets an old "DMs closed" note, so a still-closed inbox is said once more.
        await ctx.preferences.update(i.user.id, (p) => ({ ...p, dm, dmClosedNotedAt: undefined }));
  if (dm !== null) ctx.log.info({ userId: i.user.id, dm }, 'preferences changed');
  await i.reply({
    content: preferencesText(prefs, dm !== null),
    flags: MessageFlags.Ephemeral,
    allowedMentions: { parse: [] },
  });
}
