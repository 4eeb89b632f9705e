/**
 * What a `/history` page shows, as a pure function of the page: one embed per render (prompt,
 * seed, status, a link to its message, a thumbnail) and Previous / Next buttons whose custom ids
 * carry the member and the cursor, so a click works without any state in the bot (after a
 * restart too). `parseHistoryButton` reads them back.
 */
import {
  ButtonStyle,
  ComponentType,
  type APIActionRowComponent,
  type APIButtonComponent,
  type APIEmbed,
} from 'discord.js';
import type { HistoryPage } from '../core/history-index.js';
import type { RenderRecord } from '../core/render-record.js';
import { displayText } from '../core/text-safety.js';
import { messageLink } from '../render-service.js';

/** Renders per page. */
export const HISTORY_PAGE_SIZE = 5;
const PREFIX = 'hist';

/** A Previous / Next click: whose history, and which side of which job. */
export interface HistoryButton {
  targetId: string;
  direction: 'newer' | 'older';
  /** Empty: the first page. */
  cursor: string;
}

export function historyButtonId(b: HistoryButton): string {
  return `${PREFIX}:${b.targetId}:${b.direction === 'newer' ? 'n' : 'o'}:${b.cursor}`;
}

/** The button's meaning, or undefined when the custom id is not a history button. */
export function parseHistoryButton(customId: string): HistoryButton | undefined {
  const m = /^hist:(\d{1,25}):([no]):([A-Za-z0-9_-]{0,64})$/.exec(customId);
  if (!m) return undefined;
  return { targetId: m[1]!, direction: m[2] === 'n' ? 'newer' : 'older', cursor: m[3]! };
}

const STATUS: Record<RenderRecord['state'], [string, number]> = {
  active: ['⏳ rendering', 0x3498db],
  done: ['✅ done', 0x2ecc71],
  failed: ['⚠️ failed', 0xe74c3c],
  cancelled: ['🛑 cancelled', 0x7f8c8d],
  deleted: ['🗑️ deleted', 0x7f8c8d],
};

/** The one-line title of a render: its prompt, or what it was made from. */
export function renderTitle(record: RenderRecord): string {
  const p = record.params;
  if (p.promptText !== '') return displayText(p.promptText, 200);
  const n = p.imagePrompts?.length ?? 0;
  return `Made from ${n} image${n === 1 ? '' : 's'}`;
}

function renderEmbed(record: RenderRecord, thumbnail: string | undefined): APIEmbed {
  const [status, color] = STATUS[record.state];
  const when = Math.floor(Date.parse(record.createdAt) / 1000);
  const link = messageLink(record.guildId, record.channelId, record.messageId);
  const lines = [
    `${status} · seed ${record.params.seed} · <t:${when}:R>`,
    `Job \`${record.jobId}\`${record.state === 'deleted' ? '' : ` · [message](${link})`}`,
  ];
  return {
    title: renderTitle(record),
    url: record.state === 'deleted' ? undefined : link,
    description: lines.join('\n'),
    color,
    thumbnail: thumbnail ? { url: `attachment://${thumbnail}` } : undefined,
  };
}

export interface HistoryView {
  content: string;
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIButtonComponent>[];
}

/**
 * The page for `targetId` (`thumbnails`: job id → attached file name). Mentions in the content
 * never ping (the bot sends with mentions off).
 */
export function historyView(
  targetId: string,
  page: HistoryPage<RenderRecord>,
  thumbnails: ReadonlyMap<string, string>,
): HistoryView {
  const content =
    page.items.length === 0
      ? page.newer
        ? `No older renders of <@${targetId}> are kept.`
        : `<@${targetId}> has no renders in this server yet (renders are kept for a limited time).`
      : `🖼️ Renders of <@${targetId}>, newest first`;
  const button = (
    direction: HistoryButton['direction'],
    label: string,
    enabled: boolean,
    cursor: string,
  ): APIButtonComponent => ({
    type: ComponentType.Button,
    style: ButtonStyle.Secondary,
    label,
    custom_id: historyButtonId({ targetId, direction, cursor }),
    disabled: !enabled,
  });
  const components: HistoryView['components'] =
    page.newer || page.older
      ? [
          {
            type: ComponentType.ActionRow,
            components: [
              // Without a first item (the cursor dropped off the list) Previous goes to the first page.
              button('newer', '◀ Previous', page.newer, page.first ?? ''),
              button('older', 'Next ▶', page.older, page.last ?? ''),
            ],
          },
        ]
      : [];
  return {
    content,
    embeds: page.items.map((r) => renderEmbed(r, thumbnails.get(r.jobId))),
    components,
  };
}
