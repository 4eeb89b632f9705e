/**
 * `/history [member]`: the member's last renders in this server, newest first, five per page,
 * as a private (ephemeral) reply with Previous / Next buttons. Anyone may look at anyone's
 * history: the renders were posted publicly in the server's channels anyway. Thumbnails are the
 * finished pictures from the farm's object store, scaled down and attached to the reply (Discord's
 * attachment URLs expire; the store keeps pictures as long as the records).
 */
import {
  MessageFlags,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type InteractionReplyOptions,
} from 'discord.js';
import sharp from 'sharp';
import type { HistoryPageRequest } from '../core/history-index.js';
import type { RenderRecord } from '../core/render-record.js';
import type { BotContext } from './context.js';
import { HISTORY_PAGE_SIZE, historyView, parseHistoryButton } from './history-view.js';

const NO_PINGS = { parse: [] as [] };
const THUMBNAIL_PX = 128;

/** The object-store key of a finished render's picture (from its record, or from its stored result). */
export async function finishedImageKey(
  record: RenderRecord,
  ctx: Pick<BotContext, 'jobs'>,
): Promise<string | undefined> {
  if (record.state !== 'done') return undefined;
  if (record.imageKey) return record.imageKey;
  const result = await ctx.jobs.result(record.jobId);
  return result?.type === 'done' ? result.image.key : undefined;
}

async function thumbnail(record: RenderRecord, ctx: BotContext): Promise<Uint8Array | undefined> {
  const key = await finishedImageKey(record, ctx);
  const png = key ? await ctx.images.get(key) : undefined;
  if (!png) return undefined;
  const small = await sharp(png)
    .resize({ width: THUMBNAIL_PX, height: THUMBNAIL_PX, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .toBuffer();
  return new Uint8Array(small);
}

/** The reply for one page: embeds, buttons and the thumbnails as attachments. */
async function pageReply(
  ctx: BotContext,
  guildId: string,
  targetId: string,
  request: HistoryPageRequest,
): Promise<Pick<InteractionReplyOptions, 'content' | 'embeds' | 'components' | 'files'>> {
  const page = await ctx.records.byMember(guildId, targetId, request);
  const names = new Map<string, string>();
  const files: { attachment: Buffer; name: string }[] = [];
  for (const [n, record] of page.items.entries()) {
    const data = await thumbnail(record, ctx).catch((err: unknown) => {
      ctx.log.warn({ err, jobId: record.jobId }, 'no thumbnail for a history entry');
      return undefined;
    });
    if (!data) continue;
    const name = `thumb-${n + 1}.webp`;
    names.set(record.jobId, name);
    files.push({ attachment: Buffer.from(data), name });
  }
  const view = historyView(targetId, page, names);
  return {
    content: view.content,
    embeds: view.embeds,
    components: view.components,
    files,
  };
}

export async function handleHistory(i: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (!i.inGuild() || !i.guildId) {
    await i.reply({ content: '`/history` works in servers only.', flags: MessageFlags.Ephemeral });
    return;
  }
  const targetId = i.options.getUser('member')?.id ?? i.user.id;
  // Thumbnails take a moment: defer (privately) so the 3-second deadline cannot pass.
  await i.deferReply({ flags: MessageFlags.Ephemeral });
  const reply = await pageReply(ctx, i.guildId, targetId, { limit: HISTORY_PAGE_SIZE });
  await i.editReply({ ...reply, allowedMentions: NO_PINGS });
}

/** A Previous / Next click on a history page: the page is rebuilt from the custom id alone. */
export async function handleHistoryButton(i: ButtonInteraction, ctx: BotContext): Promise<boolean> {
  const button = parseHistoryButton(i.customId);
  if (!button) return false;
  if (!i.inGuild() || !i.guildId) return false;
  await i.deferUpdate();
  const cursor =
    button.cursor === ''
      ? {}
      : button.direction === 'newer'
        ? { after: button.cursor }
        : { before: button.cursor };
  const reply = await pageReply(ctx, i.guildId, button.targetId, { limit: HISTORY_PAGE_SIZE, ...cursor });
  // The listed files replace the previous page's thumbnails.
  await i.editReply({ ...reply, attachments: [], allowedMentions: NO_PINGS });
  return true;
}
