/** The farm job (`RenderJob`) for a render record: the one place that maps bot state to the contract. */
import type { RenderJobInput } from '../../shared/src/index.js';
import type { RenderRecord } from './core/render-record.js';

/**
 * The job to submit for a render record (a new render, or a reroll with its new seed). It carries
 * ids and the prompt, never a Discord token: the farm has no use for one.
 */
export function jobInput(
  record: RenderRecord,
  initImage: RenderJobInput['initImage'],
  requester: { interactionId?: string; username: string; weight?: number },
): RenderJobInput {
  const p = record.params;
  const toJob = (list: typeof p.prompts) =>
    list.map((x) => ({ text: x.text, weight: x.weight, stop: x.stop }));
  return {
    ...p.options,
    v: 1,
    jobId: record.jobId,
    promptText: p.promptText,
    prompts: toJob(p.prompts),
    story: p.story?.map(toJob),
    // The renderer fetches each image prompt from the object store by its key.
    imagePrompts: (p.imagePrompts ?? []).map((x) => ({ image: { key: x.key }, weight: x.weight })),
    seed: p.seed,
    width: p.width,
    height: p.height,
    steps: p.steps,
    cutn: p.cutn,
    initImage,
    ...p.options,
    model: p.model,
    requester: {
      userId: record.requesterId,
      guildId: record.guildId,
      channelId: record.channelId,
      interactionId: requester.interactionId,
      username: requester.username.slice(0, 100),
      // The fair-share scheduler's member weight (role weights); 1 is the default, left out.
      weight: requester.weight === undefined || requester.weight === 1 ? undefined : requester.weight,
    },
    parentJobId: record.parentJobId,
    createdAt: record.createdAt,
  };
}
