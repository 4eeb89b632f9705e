import { describe, expect, it } from 'vitest';
import { RenderJob } from '../../shared/src/index.js';
import { buildRenderRequest } from '../../renderer/src/worker/job-request.js';
import { testJob } from '../support/farm-harness.js';

const noImages = { getBlob: async () => null };

describe('a farm job as a render request', () => {
  it('carries the reference-loop options and the story prompts to the engine', async () => {
    const job = RenderJob.parse(
      testJob('job-loop-options', {
        loop: 'reference',
        cutMethod: 'original',
        cutPow: 1.5,
        augments: ['Af', 'Ji'],
        optimiser: 'AdamW',
        story: [[{ text: 'a blue square' }]],
        storyEvery: 20,
      }),
    );
    const request = await buildRenderRequest(job, noImages, 5);
    expect(request).toMatchObject({
      loop: 'reference',
      cutMethod: 'original',
      cutPow: 1.5,
      augments: ['Af', 'Ji'],
      optimiser: 'AdamW',
      storyEvery: 20,
      story: [[{ kind: 'text', text: 'a blue square', weight: 1 }]],
      frameEvery: 5,
    });
  });

  it('leaves options out when the job has none, so the bundle defaults apply', async () => {
    const request = await buildRenderRequest(RenderJob.parse(testJob('job-plain')), noImages, 5);
    expect(request.loop).toBeUndefined();
    expect(request.augments).toBeUndefined();
    expect(request.story).toBeUndefined();
  });

  it('fails the job with a reason when its init image is gone from the store', async () => {
    const job = RenderJob.parse(testJob('job-no-init', { initImage: { key: 'inputs/job-no-init/a.png' } }));
    await expect(buildRenderRequest(job, noImages, 5)).rejects.toThrow(/no longer stored/);
  });
});
