/**
 * The buttons under finished renders (and the Edit modal), on the bot's ports: everything a click
 * needs comes from its custom id and NATS (render record, job result), so buttons under messages
 * from before a restart work. Anyone may start a render from a button, charged to whoever
 * clicked; only the requester or a moderator may delete. Each click acknowledges privately at
 * once, a render it starts posts its own message (as 🔁 does) and is keyed by the interaction id,
 * so a redelivered interaction starts nothing twice; a per-member cooldown stops spam clicks.
 */
import { checkModelServed } from '../../../shared/src/index.js';
import type { ClickCooldown } from '../core/click-cooldown.js';
import { encodeCustomId, parseCustomId, UNKNOWN_BUTTON_TEXT, type ButtonAction } from '../core/custom-id.js';
import { effectiveQuota } from '../core/guild-settings.js';
import {
  ACTION_ORIGIN,
  deriveParams,
  editFieldsOf,
  editParams,
  type DerivingAction,
  type Derived,
  type EditFields,
} from '../core/render-actions.js';
import type { RenderRecord } from '../core/render-record.js';
import { renderPayload } from '../core/render-view.js';
import { replayText, type LineageEntry } from '../core/replay.js';
import { messageLink, paramsFacts } from '../render-state.js';
import { startRender } from '../start-render.js';
import type { BotContext } from './context.js';
import { refusalText } from './quota-text.js';

/** A button click or Edit modal submit, as the handler needs it (built from discord.js in `buttons-discord.ts`). */
export interface ButtonClick {
  interactionId: string;
  customId: string;
  guildId: string | undefined;
  channelId: string;
  userId: string;
  userName: string;
  /** The clicker's roles (for quota rules by role). */
  roleIds: string[];
  /** The Edit modal's fields (modal submits only). */
  fields?: EditFields;
}

export interface EditModal {
  customId: string;
  title: string;
  fields: EditFields;
}

/** How a click is answered: always privately. */
export interface ClickResponder {
  /** Acknowledges at once ("thinking…", only the clicker sees it). */
  defer(): Promise<void>;
  /** The private answer (replaces the "thinking…" after `defer`). */
  answer(content: string): Promise<void>;
  /** Opens the Edit modal (instead of any other acknowledgement). */
  showModal(modal: EditModal): Promise<void>;
}

export interface ButtonHandlerDeps {
  ctx: BotContext;
  cooldown: ClickCooldown;
}

const STARTING: Record<DerivingAction | 'edit-form', string> = {
  reroll: '🔁 Reroll',
  vary: '🎲 Variation',
  upscale: '🔍 Upscale',
  zoom: '🎞️ Zoom video',
  'edit-form': '✏️ Edited render',
};

const GONE_TEXT =
  'This render is no longer known to the bot (it may have been deleted), so this button cannot be used.';

/** Handles a click on one of our buttons; false when the custom id is not ours. */
export async function handleButtonClick(
  click: ButtonClick,
  reply: ClickResponder,
  deps: ButtonHandlerDeps,
): Promise<boolean> {
  const parsed = parseCustomId(click.customId);
  if (!parsed.ok) {
    if (parsed.identifier === 'not-ours') return false;
    deps.ctx.log.info({ customId: click.customId }, 'click on a button this version cannot read');
    await reply.answer(UNKNOWN_BUTTON_TEXT);
    return true;
  }
  const { action, jobId } = parsed.value;
  // In a DM (a render sent to the member) the render record names the server.
  const guildId = click.guildId;
  const log = deps.ctx.log.child({ action, jobId, userId: click.userId, interactionId: click.interactionId });
  log.info('button clicked');
  switch (action) {
    case 'edit':
      return openEdit(jobId, guildId, reply, deps.ctx);
    case 'replay':
      await reply.defer();
      await reply.answer(await replay(jobId, guildId, deps.ctx));
      return true;
    case 'delete':
      await reply.defer();
      await reply.answer(await deleteRender(jobId, guildId, click.userId, deps.ctx));
      return true;
    default:
      await startFromButton(action, jobId, click, reply, deps);
      return true;
  }
}

/** The render a click is about: one of this server's (any server's from a DM), not deleted. */
async function recordIn(
  ctx: BotContext,
  jobId: string,
  guildId: string | undefined,
): Promise<RenderRecord | undefined> {
  const record = await ctx.records.get(jobId);
  const here = record && (guildId === undefined || record.guildId === guildId);
  return here && record.state !== 'deleted' ? record : undefined;
}

async function openEdit(
  jobId: string,
  guildId: string | undefined,
  reply: ClickResponder,
  ctx: BotContext,
): Promise<true> {
  const record = await recordIn(ctx, jobId, guildId);
  if (!record) {
    await reply.answer(GONE_TEXT);
    return true;
  }
  await reply.showModal({
    customId: encodeCustomId('edit-form', jobId),
    title: 'Edit and render again',
    fields: editFieldsOf(record.params),
  });
  return true;
}

/** A render from a button (Reroll, Variations, Upscale, Zoom video) or the Edit modal. */
async function startFromButton(
  action: Exclude<ButtonAction, 'edit' | 'replay' | 'delete'>,
  jobId: string,
  click: ButtonClick,
  reply: ClickResponder,
  { ctx, cooldown }: ButtonHandlerDeps,
): Promise<void> {
  const wait = cooldown.take(click.userId);
  if (wait !== true) {
    await reply.answer(`⏳ One render every few seconds, please: try again in ${Math.ceil(wait / 1000)} s.`);
    return;
  }
  await reply.defer();
  const parent = await recordIn(ctx, jobId, click.guildId);
  if (!parent) return reply.answer(GONE_TEXT);
  const guildId = parent.guildId;
  // One render per click: the click's interaction id is the new job's id.
  const already = await ctx.records.get(click.interactionId);
  if (already) return reply.answer(`Already started: ${linkOf(already)}`);

  const settings = await ctx.settings.get(guildId);
  const roleIds = click.guildId ? click.roleIds : await ctx.members.roleIds(guildId, click.userId);
  const derived = await paramsFor(action, parent, click, ctx, settings);
  if (!derived.ok) return reply.answer(`🙅 ${derived.message}`);
  const params = derived.value;
  const served = checkModelServed(
    params.model,
    (await ctx.status.renderers()).map((r) => r.model),
  );
  if (!served.ok) return reply.answer(`🙅 ${served.error.message}`);

  const origin = ACTION_ORIGIN[action];
  const parentLink = linkOf(parent);
  const outcome = await startRender(ctx, {
    jobId: click.interactionId,
    guildId,
    channelId: parent.channelId,
    applicationId: parent.applicationId,
    requester: { id: click.userId, name: click.userName, interactionId: click.interactionId },
    params,
    quota: {
      rule: effectiveQuota(settings, click.userId, roleIds),
      maxConcurrent: settings.maxConcurrentPerUser,
    },
    parent: { jobId: parent.jobId, messageId: parent.messageId, origin },
    attachmentSizeLimit: parent.attachmentSizeLimit,
    openMessage: async () => ({
      messageId: await ctx.port.post(
        parent.channelId,
        renderPayload(
          { ...paramsFacts(params, click.userId), parentLink, origin },
          { kind: 'queued', position: undefined, etaMs: undefined },
        ),
        parent.messageId,
      ),
    }),
  });
  const log = ctx.log.child({ jobId: click.interactionId, parentJobId: parent.jobId, action });
  if (outcome.ok) {
    log.info({ seed: params.seed }, 'render started from a button');
    const link = messageLink(guildId, parent.channelId, outcome.messageId);
    return reply.answer(`${STARTING[action]} started: ${link}`);
  }
  if (outcome.stage === 'quota') {
    log.info({ refusal: outcome.refusal.identifier }, 'button render refused by quota');
    return reply.answer(refusalText(outcome.refusal));
  }
  log.error({ err: outcome.error, stage: outcome.stage }, 'button render could not be started');
  if (outcome.stage === 'submit')
    await ctx.port.delete(parent.channelId, outcome.messageId).catch(() => undefined);
  return reply.answer(
    '⚠️ The render farm could not be reached. Nothing was charged; please try again in a minute.',
  );
}

async function paramsFor(
  action: Exclude<ButtonAction, 'edit' | 'replay' | 'delete'>,
  parent: RenderRecord,
  click: ButtonClick,
  ctx: BotContext,
  settings: Awaited<ReturnType<BotContext['settings']['get']>>,
): Promise<Derived> {
  if (action === 'edit-form') {
    if (!click.fields)
      return { ok: false, identifier: 'edit-invalid', message: 'The form came without its fields.' };
    return editParams(parent.params, click.fields, {
      model: ctx.model,
      settings,
      channelId: parent.channelId,
      randomSeed: ctx.randomSeed,
    });
  }
  const needsPicture = action !== 'reroll';
  // The farm's result decides, not the record: the finished message (with its buttons) is
  // posted before the record says 'done', so a quick click may find it still 'active'.
  const result = needsPicture ? await ctx.jobs.result(parent.jobId) : undefined;
  return deriveParams(action, parent.params, {
    model: ctx.model,
    settings,
    seed: ctx.randomSeed(),
    pictureKey: result?.type === 'done' ? result.image.key : undefined,
  });
}

function linkOf(r: RenderRecord): string {
  return messageLink(r.guildId, r.channelId, r.messageId);
}

/** How many ancestors Replay shows. */
export const LINEAGE_DEPTH = 5;

async function replay(jobId: string, guildId: string | undefined, ctx: BotContext): Promise<string> {
  const record = await ctx.records.get(jobId);
  if (!record || (guildId !== undefined && record.guildId !== guildId)) return GONE_TEXT;
  const chain: LineageEntry[] = [{ record, link: linkOf(record) }];
  let next = record.parentJobId;
  while (next && chain.length <= LINEAGE_DEPTH) {
    const parent = await ctx.records.get(next);
    if (!parent) break;
    chain.push({ record: parent, link: linkOf(parent) });
    next = parent.parentJobId;
  }
  // A picture of another render as init image (Variations, Upscale, Zoom video): name its message.
  const from = /^renders\/([^/]+)\//.exec(record.params.initImageKey ?? '')?.[1];
  const source = from ? await ctx.records.get(from) : undefined;
  return replayText(chain, source ? linkOf(source) : undefined);
}

async function deleteRender(
  jobId: string,
  guildId: string | undefined,
  userId: string,
  ctx: BotContext,
): Promise<string> {
  const record = await recordIn(ctx, jobId, guildId);
  if (!record) return 'This render is already gone.';
  const allowed = userId === record.requesterId || (await ctx.members.isModerator(record.guildId, userId));
  if (!allowed) return '🙅 Only the person who asked for this render, or a moderator, can delete it.';
  if (record.state === 'active') return 'This render is still running: ❌ cancels it.';
  await ctx.port.delete(record.channelId, record.messageId);
  await ctx.records.finish(record.jobId, 'deleted');
  ctx.log.info({ jobId, userId }, 'render deleted from its button');
  return '🗑️ Deleted.';
}
