/**
 * `/show job_id`: posts a finished render of this server again, in the current channel, with the
 * final picture from the farm's object store, its prompt, seed and requester (and its buttons).
 * An unknown id and a render of another server get the same answer, so ids of other servers'
 * renders cannot be probed. A deleted render stays deleted; the channel and banned-word rules of
 * the server apply as for `/imagine`.
 */
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import { JobId } from '../../../shared/src/index.js';
import { findBannedWords } from '../core/guild-settings.js';
import type { ModelFacts } from '../core/imagine-request.js';
import type { RenderRecord } from '../core/render-record.js';
import { renderPayload, type RenderFacts } from '../core/render-view.js';
import { fitImage } from '../image-fit.js';
import { messageLink, renderFacts } from '../render-state.js';
import type { BotContext } from './context.js';
import { finishedImageKey } from './history-command.js';
import { toRestBody } from './message-port.js';

const NO_PINGS = { parse: [] as [] };

export type ShowRefusalId =
  | 'unknown-job'
  | 'deleted'
  | 'not-finished'
  | 'channel-not-allowed'
  | 'banned-words'
  | 'image-gone';

/** Why a render cannot be shown (a sentence for the person), or undefined when it can. */
export function showRefusal(
  record: RenderRecord | undefined,
  guildId: string,
  jobId: string,
): { identifier: ShowRefusalId; message: string } | undefined {
  // The same words for "no such job" and "another server's job": nothing leaks across servers.
  if (!record || record.guildId !== guildId)
    return {
      identifier: 'unknown-job',
      message: `There is no render \`${jobId.slice(0, 64)}\` in this server.`,
    };
  if (record.state === 'deleted')
    return { identifier: 'deleted', message: 'That render was deleted by its requester or a moderator.' };
  if (record.state !== 'done') {
    const link = messageLink(record.guildId, record.channelId, record.messageId);
    const what =
      record.state === 'active' ? 'is still rendering' : `ended without a picture (${record.state})`;
    return { identifier: 'not-finished', message: `That render ${what}: ${link}` };
  }
  return undefined;
}

/** What the re-posted message says about the render (as its own message does), with its buttons. */
export function showFacts(record: RenderRecord, model: ModelFacts): RenderFacts {
  return renderFacts(record, model);
}

function refuse(i: ChatInputCommandInteraction, message: string): Promise<unknown> {
  return i.reply({ content: `🙅 ${message}`, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
}

export async function handleShow(i: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (!i.inGuild() || !i.guildId) {
    await i.reply({ content: '`/show` works in servers only.', flags: MessageFlags.Ephemeral });
    return;
  }
  const jobId = i.options.getString('job_id', true).trim();
  const record = JobId.safeParse(jobId).success ? await ctx.records.get(jobId) : undefined;
  const refusal = showRefusal(record, i.guildId, jobId);
  if (refusal || !record) return void (await refuse(i, refusal?.message ?? 'Unknown render.'));
  const settings = await ctx.settings.get(i.guildId);
  if (settings.allowedChannels.length > 0 && !settings.allowedChannels.includes(i.channelId)) {
    const where = settings.allowedChannels.map((id) => `<#${id}>`).join(', ');
    return void (await refuse(i, `Renders are not shown in this channel. Try ${where}.`));
  }
  const banned = findBannedWords(
    `${record.params.promptText} ${record.params.avoidText ?? ''}`,
    settings.bannedWords,
  );
  if (banned.length > 0)
    return void (await refuse(i, 'This server no longer allows words of that render’s prompt.'));

  const key = await finishedImageKey(record, ctx);
  const png = key ? await ctx.images.get(key) : undefined;
  if (!png) return void (await refuse(i, 'The picture of that render is no longer stored.'));
  await i.deferReply();
  const fitted = await fitImage(png, i.attachmentSizeLimit, `tessera-${record.params.seed}`);
  const payload = renderPayload(showFacts(record, ctx.model), {
    kind: 'done',
    image: fitted.data,
    imageName: fitted.name,
    elapsedMs: 0,
  });
  const original = messageLink(record.guildId, record.channelId, record.messageId);
  const { body, files } = toRestBody({
    ...payload,
    content: `📌 Shown again by <@${i.user.id}> · original: ${original}`,
    embed: { ...payload.embed, title: `✅ Done · job ${record.jobId}` },
  });
  await i.editReply({
    content: body.content as string,
    embeds: body.embeds as never,
    components: (body.components ?? []) as never,
    files: files.map((f) => ({ attachment: f.data as Buffer, name: f.name })),
    allowedMentions: NO_PINGS,
  });
  ctx.log.info({ jobId: record.jobId, userId: i.user.id }, 'render shown again');
}
