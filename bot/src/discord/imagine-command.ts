/**
 * `/imagine`: validate (pure, before anything is sent, so refusals are private), defer at once,
 * charge the quota (compare-and-set), store the init image and the render record, submit the job
 * with `Nats-Msg-Id` = interaction id, and hand the message to the render service.
 */
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import {
  checkModelServed,
  inputImageKey,
  submitJob,
  type RenderJobInput,
} from '../../../shared/src/index.js';
import { jobInput } from '../render-job.js';
import { effectiveQuota } from '../core/guild-settings.js';
import { MAX_INIT_IMAGE_BYTES, validateImagine, type ImagineRequest } from '../core/imagine-request.js';
import type { RenderRecord } from '../nats/render-records.js';
import type { BotContext } from './context.js';
import { memberRoleIds } from './permissions.js';
import { refusalText } from './quota-text.js';

const NO_PINGS = { parse: [] as [] };

function rawOptions(i: ChatInputCommandInteraction): unknown {
  const a = i.options.getAttachment('init_image');
  const pick = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
  return {
    prompt: i.options.getString('prompt', true),
    seed: pick(i.options.getInteger('seed')),
    steps: pick(i.options.getInteger('steps')),
    size: pick(i.options.getString('size')),
    quality: pick(i.options.getString('quality')),
    avoid: pick(i.options.getString('avoid')),
    ...(a ? { initImage: { url: a.url, filename: a.name, contentType: a.contentType, size: a.size } } : {}),
  };
}

async function downloadImage(url: string, signal: AbortSignal): Promise<Uint8Array> {
  const res = await fetch(url, { signal });
  if (!res.ok) throw new Error(`the attachment could not be downloaded (HTTP ${res.status})`);
  const data = new Uint8Array(await res.arrayBuffer());
  if (data.byteLength > MAX_INIT_IMAGE_BYTES) throw new Error('the attachment is too large');
  return data;
}

export async function handleImagine(i: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (!i.inGuild() || !i.guildId) {
    await i.reply({
      content: '`/imagine` works in servers only.',
      flags: MessageFlags.Ephemeral,
      allowedMentions: NO_PINGS,
    });
    return;
  }
  const guildId = i.guildId;
  const log = ctx.log.child({ jobId: i.id, guildId, userId: i.user.id });
  const settings = await ctx.settings.get(guildId);
  const checked = validateImagine(rawOptions(i), {
    model: ctx.model,
    settings,
    channelId: i.channelId,
    randomSeed: ctx.randomSeed,
  });
  if (!checked.ok) {
    log.info({ refusal: checked.error.identifier }, 'imagine refused');
    await i.reply({
      content: `🙅 ${checked.error.message}`,
      flags: MessageFlags.Ephemeral,
      allowedMentions: NO_PINGS,
    });
    return;
  }
  const request = checked.value;
  const served = checkModelServed(
    ctx.model.name,
    (await ctx.status.renderers()).map((r) => r.model),
  );
  if (!served.ok) {
    log.info({ refusal: served.error.identifier }, 'imagine refused: model not served');
    await i.reply({
      content: `🙅 ${served.error.message}`,
      flags: MessageFlags.Ephemeral,
      allowedMentions: NO_PINGS,
    });
    return;
  }

  const response = await i.deferReply({ withResponse: true });
  const messageId = response.resource?.message?.id ?? (await i.fetchReply()).id;

  const rule = effectiveQuota(settings, i.user.id, memberRoleIds(i.member));
  const charged = await ctx.quotas.charge(guildId, i.user.id, i.id, rule, settings.maxConcurrentPerUser);
  if (!charged.ok) {
    log.info({ refusal: charged.refusal.identifier }, 'imagine refused by quota');
    await i.deleteReply().catch(() => undefined);
    await i.followUp({
      content: refusalText(charged.refusal),
      flags: MessageFlags.Ephemeral,
      allowedMentions: NO_PINGS,
    });
    return;
  }

  try {
    await submit(i, ctx, request, { guildId, messageId });
  } catch (err) {
    log.error({ err }, 'imagine could not be submitted');
    await ctx.quotas.settle(guildId, i.user.id, i.id, true);
    await ctx.records.finish(i.id, 'failed').catch(() => false);
    const reason =
      err instanceof Error && /attachment/.test(err.message)
        ? `The init image could not be used: ${err.message}.`
        : 'The render farm could not be reached. Nothing was charged; please try again in a minute.';
    await i
      .editReply({ content: `⚠️ ${reason}`, embeds: [], allowedMentions: NO_PINGS })
      .catch(() => undefined);
  }
}

async function submit(
  i: ChatInputCommandInteraction,
  ctx: BotContext,
  request: ImagineRequest,
  where: { guildId: string; messageId: string },
): Promise<void> {
  const jobId = i.id;
  let initImageKey: string | undefined;
  let initImage: RenderJobInput['initImage'];
  if (request.initImage) {
    const bytes = await downloadImage(request.initImage.url, AbortSignal.timeout(15_000));
    initImageKey = inputImageKey(jobId, request.initImage.filename);
    await ctx.farm.images.putBlob({ name: initImageKey }, bytes);
    initImage = { key: initImageKey, contentType: request.initImage.contentType, bytes: bytes.byteLength };
  }
  const record: RenderRecord = {
    v: 1,
    jobId,
    guildId: where.guildId,
    channelId: i.channelId,
    messageId: where.messageId,
    applicationId: i.applicationId,
    interactionToken: i.token,
    tokenIssuedAt: i.createdTimestamp,
    attachmentSizeLimit: i.attachmentSizeLimit,
    requesterId: i.user.id,
    requesterName: i.user.username.slice(0, 100),
    params: {
      promptText: request.promptText,
      ...(request.avoidText ? { avoidText: request.avoidText } : {}),
      prompts: request.prompts,
      seed: request.seed,
      steps: request.steps,
      cutn: request.cutn,
      width: request.width,
      height: request.height,
      quality: request.quality,
      model: ctx.model.name,
      ...(initImageKey ? { initImageKey } : {}),
    },
    state: 'active',
    createdAt: new Date(ctx.now()).toISOString(),
  };
  // The record comes first: a job that ends at once must find its message.
  await ctx.records.put(record);
  const submitted = await submitJob(
    ctx.farm,
    jobInput(record, initImage, { interactionId: i.id, username: i.user.username }),
  );
  ctx.renders.track({ ...record, queueSeq: submitted.seq });
  await ctx.port
    .react(record.channelId, record.messageId, '❌')
    .catch((err: unknown) => ctx.log.warn({ err, jobId }, 'could not add ❌'));
}
