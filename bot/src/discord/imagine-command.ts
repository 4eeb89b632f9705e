/**
 * `/imagine`: validate the options (pure) and charge the quota before anything is shown, so every
 * refusal is a private reply; then `startRender` defers (the callback response names the reply
 * message), stores the init image, writes the render record and submits the job with
 * `Nats-Msg-Id` = interaction id.
 */
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import { checkModelServed, inputImageKey } from '../../../shared/src/index.js';
import { effectiveQuota } from '../core/guild-settings.js';
import { MAX_INIT_IMAGE_BYTES, validateImagine, type ImagineRequest } from '../core/imagine-request.js';
import type { RenderParams } from '../core/render-record.js';
import { startRender, type OpenedMessage, type RenderOrder } from '../start-render.js';
import type { BotContext } from './context.js';
import { memberRoleIds } from './permissions.js';
import { refusalText } from './quota-text.js';

const NO_PINGS = { parse: [] as [] };

/** An attached picture (init image or image prompt) could not be downloaded or is too large (a user-facing reason). */
export class InitImageError extends Error {
  override readonly name = 'InitImageError';
  constructor(
    message: string,
    /** Which attachment, as the person sees it (`init image`, `image prompt 2`). */
    readonly what: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `/imagine`'s image prompt options, in order. */
export const IMAGE_PROMPT_OPTIONS = ['image_prompt_1', 'image_prompt_2', 'image_prompt_3', 'image_prompt_4'];

/** An attachment option as the validator takes it (`option` names where it came from). */
export function attachmentOption(i: ChatInputCommandInteraction, option: string) {
  const a = i.options.getAttachment(option);
  return a ? { url: a.url, filename: a.name, contentType: a.contentType, size: a.size, option } : undefined;
}

function rawOptions(i: ChatInputCommandInteraction): unknown {
  const pick = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
  return {
    prompt: pick(i.options.getString('prompt')),
    seed: pick(i.options.getInteger('seed')),
    steps: pick(i.options.getInteger('steps')),
    size: pick(i.options.getString('size')),
    quality: pick(i.options.getString('quality')),
    avoid: pick(i.options.getString('avoid')),
    options: pick(i.options.getString('options')),
    initImage: attachmentOption(i, 'init_image'),
    imagePrompts: IMAGE_PROMPT_OPTIONS.map((o) => attachmentOption(i, o)).filter((a) => a !== undefined),
    imageWeights: pick(i.options.getString('image_weights')),
  };
}

/** Downloads an attachment from Discord's CDN, within the size limit. */
export async function downloadImage(url: string, what: string, signal: AbortSignal): Promise<Uint8Array> {
  const res = await fetch(url, { signal }).catch((cause: unknown) => {
    throw new InitImageError('the attachment could not be downloaded', what, { cause });
  });
  if (!res.ok) throw new InitImageError(`the attachment could not be downloaded (HTTP ${res.status})`, what);
  const data = new Uint8Array(await res.arrayBuffer());
  if (data.byteLength > MAX_INIT_IMAGE_BYTES) throw new InitImageError('the attachment is too large', what);
  return data;
}

function reply(i: ChatInputCommandInteraction, content: string): Promise<unknown> {
  return i.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
}

export function handleImagine(i: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  return runImagine(i, ctx, { raw: rawOptions(i), command: 'imagine' });
}

/**
 * Validates `raw` (the `/imagine` options; `/blend` maps its own onto them), checks that the model
 * is served, charges and starts the render: every refusal is a private reply.
 */
export async function runImagine(
  i: ChatInputCommandInteraction,
  ctx: BotContext,
  { raw, command, weightsOption }: { raw: unknown; command: string; weightsOption?: string },
): Promise<void> {
  if (!i.inGuild() || !i.guildId) {
    await reply(i, `\`/${command}\` works in servers only.`);
    return;
  }
  const guildId = i.guildId;
  const log = ctx.log.child({ jobId: i.id, guildId, userId: i.user.id, command });
  const settings = await ctx.settings.get(guildId);
  const checked = validateImagine(raw, {
    model: ctx.model,
    settings,
    channelId: i.channelId,
    randomSeed: ctx.randomSeed,
    weightsOption,
  });
  if (!checked.ok) {
    log.info({ refusal: checked.error.identifier, option: checked.error.option }, 'imagine refused');
    await reply(i, `🙅 ${checked.error.message}`);
    return;
  }
  // Nothing waits forever: a model no renderer announces is refused before anything is charged.
  const served = checkModelServed(
    ctx.model.name,
    (await ctx.status.renderers()).map((r) => r.model),
  );
  if (!served.ok) {
    log.info({ refusal: served.error.identifier }, 'imagine refused: model not served');
    await reply(i, `🙅 ${served.error.message}`);
    return;
  }
  const rule = effectiveQuota(settings, i.user.id, memberRoleIds(i.member));
  const outcome = await startRender(
    ctx,
    imagineOrder(i, ctx, checked.value, { rule, maxConcurrent: settings.maxConcurrentPerUser }),
  );
  if (outcome.ok) return;
  if (outcome.stage === 'quota') {
    log.info({ refusal: outcome.refusal.identifier }, 'imagine refused by quota');
    await reply(i, refusalText(outcome.refusal));
    return;
  }
  log.error({ err: outcome.error, stage: outcome.stage }, 'imagine could not be submitted');
  if (outcome.stage === 'message') return;
  const reason =
    outcome.error instanceof InitImageError
      ? `The ${outcome.error.what} could not be used: ${outcome.error.message}.`
      : 'The render farm could not be reached. Nothing was charged; please try again in a minute.';
  await i.editReply({ content: `⚠️ ${reason}`, embeds: [], allowedMentions: NO_PINGS }).catch(() => undefined);
}

/** The render's stored parameters (and so its job fields: `jobInput`) for a validated `/imagine`. */
export function imagineParams(
  request: ImagineRequest,
  model: string,
  initImageKey?: string,
  imagePrompts: NonNullable<RenderParams['imagePrompts']> = [],
): RenderParams {
  const { cutn: _cutn, ...options } = request.options; // cutn: the request's, preset or option
  return {
    promptText: request.promptText,
    avoidText: request.avoidText,
    prompts: request.prompts,
    story: request.story,
    options: Object.keys(options).length ? options : undefined,
    optionsText: request.optionsText,
    seed: request.seed,
    steps: request.steps,
    cutn: request.cutn,
    width: request.width,
    height: request.height,
    quality: request.quality,
    model,
    initImageKey,
    imagePrompts: imagePrompts.length > 0 ? imagePrompts : undefined,
  };
}

/** The render to start for a validated `/imagine`. */
function imagineOrder(
  i: ChatInputCommandInteraction,
  ctx: BotContext,
  request: ImagineRequest,
  quota: RenderOrder['quota'],
): RenderOrder {
  const image = request.initImage;
  const params = imagineParams(
    request,
    ctx.model.name,
    image ? inputImageKey(i.id, image.filename) : undefined,
    request.imagePrompts.map((p, n) => ({
      key: inputImageKey(i.id, `prompt-${n + 1}-${p.filename}`),
      weight: p.weight,
    })),
  );
  return {
    jobId: i.id,
    guildId: i.guildId ?? '',
    channelId: i.channelId,
    applicationId: i.applicationId,
    requester: { id: i.user.id, name: i.user.username, interactionId: i.id },
    roleIds: memberRoleIds(i.member),
    params,
    quota,
    attachmentSizeLimit: i.attachmentSizeLimit,
    initImage: image
      ? {
          contentType: image.contentType,
          load: () => downloadImage(image.url, 'init image', AbortSignal.timeout(15_000)),
        }
      : undefined,
    imagePrompts: request.imagePrompts.map((p, n) => ({
      contentType: p.contentType,
      load: () => downloadImage(p.url, `image prompt ${n + 1}`, AbortSignal.timeout(15_000)),
    })),
    openMessage: () => deferPublicly(i),
  };
}

/** Defers the reply ("thinking…") and takes the message id from the callback response (no extra GET). */
async function deferPublicly(i: ChatInputCommandInteraction): Promise<OpenedMessage> {
  const response = await i.deferReply({ withResponse: true });
  const messageId = response.resource?.message?.id ?? response.interaction.responseMessageId;
  if (!messageId) throw new Error('the interaction callback response named no message');
  return {
    messageId,
    // The token stays in this process: it edits the reply for 15 minutes, then the channel message is edited.
    reply: { applicationId: i.applicationId, token: i.token, issuedAt: i.createdTimestamp },
  };
}
