import { describe, expect, it } from 'vitest';
import { defaultGuildSettings } from '../../bot/src/core/guild-settings.js';
import { type ModelFacts, validateImagine } from '../../bot/src/core/imagine-request.js';
import type { RenderRecord } from '../../bot/src/core/render-record.js';
import { renderPayload } from '../../bot/src/core/render-view.js';
import { imagineParams } from '../../bot/src/discord/imagine-command.js';
import { jobInput } from '../../bot/src/render-job.js';
import { ImagineUsageError, jobFromArgs, parseImagineArgs } from '../../deploy/cli/imagine-job.js';
import { optionFacts } from '../../bot/src/core/render-view.js';
import { loadConfig, LoopOptions, RenderJob } from '../../shared/src/index.js';

const model: ModelFacts = {
  name: 'tiny-shapes',
  sizes: [[64, 64]],
  defaultSize: [64, 64],
  defaultSteps: 100,
  defaultCutn: 16,
  maxSteps: 1000,
  loops: ['classic', 'reference'],
  defaultLoop: 'classic',
};
const ctx = { model, settings: defaultGuildSettings(), channelId: '1', randomSeed: () => 42 };

function accepted(raw: Record<string, unknown>) {
  const r = validateImagine(raw, ctx);
  if (!r.ok) throw new Error(`refused: ${r.error.message}`);
  return r.value;
}

function refusal(raw: Record<string, unknown>) {
  const r = validateImagine(raw, ctx);
  if (r.ok) throw new Error('accepted');
  return r.error;
}

/** The job `/imagine` submits for these options (validate → record params → job). */
function botJob(raw: Record<string, unknown>) {
  const params = imagineParams(accepted(raw), model.name);
  const record: RenderRecord = {
    v: 1,
    jobId: 'j1',
    guildId: 'g',
    channelId: 'c',
    messageId: 'm',
    applicationId: 'a',
    requesterId: 'u',
    requesterName: 'alice',
    params,
    state: 'active',
    createdAt: new Date(0).toISOString(),
  };
  return RenderJob.parse(jobInput(record, undefined, { username: 'alice' }));
}

async function cliJob(argv: string[]) {
  const { values, positionals } = parseImagineArgs(argv);
  return RenderJob.parse(await jobFromArgs(values, positionals, loadConfig({})));
}

/** The job fields generate.py's options and the story decide. */
function optionFields(job: RenderJob) {
  const keys = [...Object.keys(LoopOptions.shape), 'cutn', 'lr', 'story', 'prompts', 'steps', 'seed'];
  return Object.fromEntries(keys.map((k) => [k, (job as Record<string, unknown>)[k]]));
}

describe('/imagine options', () => {
  it('carries the options text into the job fields, cutn over the preset', () => {
    const job = botJob({
      prompt: 'a red circle',
      seed: 5,
      options: 'loop=reference cutn=24 augments=Af,Ji optimiser=adamw lr=0.2 init_noise=gradient',
    });
    expect(job).toMatchObject({
      loop: 'reference',
      cutn: 24,
      augments: ['Af', 'Ji'],
      optimiser: 'AdamW',
      lr: 0.2,
      initNoise: 'gradient',
    });
  });

  it('shows the canonical options and the story part in the message', () => {
    const req = accepted({
      prompt: 'a red circle ^ a blue square',
      steps: 40,
      options: 'story_every=10 loop=reference',
    });
    expect(req.story).toEqual([[{ text: 'a blue square', weight: 1 }]]);
    const facts = {
      promptText: req.promptText,
      requesterId: 'u',
      seed: 1,
      steps: 40,
      width: 64,
      height: 64,
      quality: 'standard',
      model: 'tiny-shapes',
      ...optionFacts(imagineParams(req, 'tiny-shapes')),
    };
    const done = renderPayload(facts, {
      kind: 'done',
      image: new Uint8Array(1),
      imageName: 'x.png',
      elapsedMs: 1,
      stepsRun: 40,
    });
    const embed = done.embed as { description: string; fields: { name: string; value: string }[] };
    // steps 31–40 run part (3 // 1) % 2 = 2nd part: the story cycles every 10 steps
    expect(embed.description).toContain('**Story:** ended on part 2/2: a blue square');
    expect(embed.fields.find((f) => f.name === 'Options')?.value).toBe('`loop=reference story_every=10`');
    const running = renderPayload(facts, { kind: 'running', step: 5, total: 40, itPerSec: 1, etaMs: 1 });
    expect((running.embed as { description: string }).description).toContain('now at part 1/2: a red circle');
  });

  it.each([
    ['augments=Af,Xy loop=reference', /unknown augment 'Xy'/],
    ['cutn=0', /cutn must be a whole number from 1 to 256/],
    ['cutn=1000', /cutn must be a whole number from 1 to 256/],
    ['lr=0', /lr must be a number above 0/],
    ['lr=-1', /lr must be a number above 0/],
    ['zoom_every=1', /1000 frames .* at most 500/],
    ['bogus=1', /Unknown option 'bogus'/],
    ['augments=Af', /belong to generate.py's loop; add loop=reference/],
  ])('refuses options %s with a reason', (options, message) => {
    const e = refusal({ prompt: 'a red circle', steps: 1000, options });
    expect(e).toMatchObject({ identifier: 'options-invalid', option: 'options' });
    expect(e.message).toMatch(message);
  });

  it('refuses a story of 100 parts and a loop the model lacks', () => {
    const story = Array.from({ length: 100 }, () => 'red').join(' ^ ');
    expect(refusal({ prompt: story }).message).toMatch(/story of 100 prompts .* at most 16/);
    const classicOnly = { ...ctx, model: { ...model, loops: ['classic' as const] } };
    const r = validateImagine({ prompt: 'a red circle', options: 'loop=reference' }, classicOnly);
    expect(r).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/has no reference loop/) },
    });
  });
});

describe('the CLI and /imagine reach the same job fields', () => {
  const text =
    'loop=reference cut_method=original cut_pow=2 cutn=12 augments=Pe,Er cut_noise=0.2 optimiser=RAdam lr=0.05 init_weight=1 init_noise=pixels story_every=7 zoom_every=10 zoom_scale=1.05 zoom_shift_x=2 zoom_shift_y=-1 auto_stop_window=20 auto_stop_delta=0.01';
  const prompt = 'a red circle ^ a blue square:2';

  it('from the same options text', async () => {
    const fromBot = botJob({ prompt, seed: 9, steps: 50, options: text });
    const fromCli = await cliJob([prompt, '--seed', '9', '--steps', '50', '--options', text]);
    expect(optionFields(fromCli)).toEqual(optionFields(fromBot));
    expect(fromBot.zoomEvery).toBe(10);
  });

  it('from the tessera render flags', async () => {
    const fromBot = botJob({ prompt, seed: 9, steps: 50, options: text });
    const fromCli = await cliJob([
      prompt,
      ...['--seed', '9', '--steps', '50', '--loop', 'reference', '--cut-method', 'original'],
      ...['--cut-pow', '2', '--cutn', '12', '--augments', 'Pe Er', '--cut-noise', '0.2'],
      ...['--optimiser', 'RAdam', '--lr', '0.05', '--init-weight', '1', '--init-noise', 'pixels'],
      ...['--story-every', '7', '--zoom-every', '10', '--zoom-scale', '1.05', '--zoom-shift-x', '2'],
      ...['--zoom-shift-y=-1', '--auto-stop-window', '20', '--auto-stop-delta', '0.01'],
    ]);
    expect(optionFields(fromCli)).toEqual(optionFields(fromBot));
  });

  it.each([
    [['--options', 'cutn=0'], /cutn must be a whole number from 1 to 256/],
    [['--cutn', '1000'], /from 1 to 256/],
    [['--lr', '0'], /above 0/],
    [['--augments', 'Af,Zz'], /unknown augment 'Zz'/],
    [['--cutn', '8', '--options', 'cutn=9'], /given twice/],
    [['--steps', '10000', '--zoom-every', '1'], /10000 frames/],
  ])('refuses %j with the same reasons', async (args, message) => {
    await expect(cliJob(['a red circle', ...args])).rejects.toThrow(message);
    await expect(cliJob(['a red circle', ...args])).rejects.toBeInstanceOf(ImagineUsageError);
  });
});
