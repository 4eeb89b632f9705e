import { describe, expect, it } from 'vitest';
import { Mulberry32 } from '../../renderer/src/engine/rng.js';
import {
  formatJobOptionsText,
  type JobOptions,
  jobOptionsProblem,
  parseJobOptionsText,
} from '../../shared/src/job-options-text.js';
import {
  AUGMENTS,
  CUT_METHODS,
  INIT_NOISES,
  LoopOptions,
  LOOPS,
  OPTIMISERS,
  WARP_AUGMENTS,
} from '../../shared/src/loop-options.js';

function ok(text: string): JobOptions {
  const r = parseJobOptionsText(text);
  if (!r.ok) throw new Error(`refused: ${r.error.message}`);
  return r.options;
}

function refused(text: string) {
  const r = parseJobOptionsText(text);
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(r.options)}`);
  return r.error;
}

/** Random valid options from a seeded generator (every field present about half the time). */
function randomOptions(rng: Mulberry32): JobOptions {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
  const maybe = (): boolean => rng.next() < 0.5;
  const int = (lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo + 1));
  // numbers with few and many digits, both formatted by String() and parsed back exactly
  const num = (lo: number, hi: number) => {
    const x = lo + rng.next() * (hi - lo);
    return maybe() ? x : Math.round(x * 100) / 100;
  };
  const o: JobOptions = {};
  if (maybe()) o.loop = pick(LOOPS);
  if (maybe()) o.cutMethod = pick(CUT_METHODS);
  if (maybe()) o.cutn = int(1, 256);
  if (maybe()) o.cutPow = num(0.1, 10);
  if (maybe()) {
    const nonWarps = AUGMENTS.filter((a) => !WARP_AUGMENTS.includes(a));
    const warps = WARP_AUGMENTS.filter(maybe).slice(0, 3);
    o.augments = [...warps, ...nonWarps.filter(maybe)].sort(() => rng.next() - 0.5);
  }
  if (maybe()) o.cutNoise = num(0, 1);
  if (maybe()) o.optimiser = pick(OPTIMISERS);
  if (maybe()) o.lr = Math.max(1e-6, num(0, 10));
  if (maybe()) o.initWeight = num(0, 100);
  if (maybe()) o.initNoise = pick(INIT_NOISES);
  if (maybe()) o.storyEvery = int(1, 5000);
  if (maybe()) o.zoomEvery = int(1, 5000);
  if (maybe()) o.zoomScale = num(0.5, 2);
  if (maybe()) o.zoomShiftX = int(-64, 64);
  if (maybe()) o.zoomShiftY = int(-64, 64);
  if (maybe()) o.autoStopWindow = int(5, 1000);
  if (maybe()) o.autoStopDelta = num(0, 1);
  return o;
}

describe('job options text', () => {
  it('reads the generate.py-like line into job fields', () => {
    expect(
      ok(
        'cutn=32 cut_method=latest augments=Af,Pe,Ji cut_pow=1 noise=0.1 optimiser=adamw lr=0.1 init_weight=0.5 init_noise=pixels story_every=50 zoom_every=4 zoom_scale=1.02 zoom_shift_x=1 auto_stop=20 auto_stop_delta=0.01',
      ),
    ).toEqual({
      cutn: 32,
      cutMethod: 'latest',
      augments: ['Af', 'Pe', 'Ji'],
      cutPow: 1,
      cutNoise: 0.1,
      optimiser: 'AdamW',
      lr: 0.1,
      initWeight: 0.5,
      initNoise: 'pixels',
      storyEvery: 50,
      zoomEvery: 4,
      zoomScale: 1.02,
      zoomShiftX: 1,
      autoStopWindow: 20,
      autoStopDelta: 0.01,
    });
  });

  it('takes generate.py’s short names, --flags and hyphens, in any case', () => {
    expect(
      ok(
        'cuts=8 cutm=original cutp=2 aug=none opt=RAdam iw=1 in=gradient cpe=10 zse=5 zsc=0.99 zsx=-2 zsy=3',
      ),
    ).toEqual({
      cutn: 8,
      cutMethod: 'original',
      cutPow: 2,
      augments: [],
      optimiser: 'RAdam',
      initWeight: 1,
      initNoise: 'gradient',
      storyEvery: 10,
      zoomEvery: 5,
      zoomScale: 0.99,
      zoomShiftX: -2,
      zoomShiftY: 3,
    });
    expect(ok('--cut-method=ORIGINAL Loop=Reference augments=af,pe')).toEqual({
      cutMethod: 'original',
      loop: 'reference',
      augments: ['Af', 'Pe'],
    });
    expect(ok('   ')).toEqual({});
  });

  it('is the identity both ways: parse(format(o)) = o and format(parse(t)) = t', () => {
    const rng = new Mulberry32(15);
    for (let i = 0; i < 500; i++) {
      const o = randomOptions(rng);
      expect(LoopOptions.safeParse(o).success).toBe(true);
      const text = formatJobOptionsText(o);
      expect(ok(text), text).toEqual(o);
      expect(formatJobOptionsText(ok(text))).toBe(text);
    }
    const canonical =
      'loop=reference cut_method=latest cutn=32 cut_pow=1 augments=Af,Pe,Ji,Er cut_noise=0.1 optimiser=Adam lr=0.1 init_weight=0 init_noise=pixels story_every=50 zoom_every=4 zoom_scale=1.02 zoom_shift_x=1 zoom_shift_y=-1 auto_stop_window=20 auto_stop_delta=0.001';
    expect(formatJobOptionsText(ok(canonical))).toBe(canonical);
    expect(formatJobOptionsText({ augments: [] })).toBe('augments=none');
    expect(formatJobOptionsText({})).toBe('');
  });

  it.each([
    ['augments=Af,Xy', 'bad-option-value', 'augments', /unknown augment 'Xy'.*Af, Pe/],
    ['cutn=0', 'bad-option-value', 'cutn', /cutn must be a whole number from 1 to 256 \(got '0'\)/],
    ['cutn=1000', 'bad-option-value', 'cutn', /from 1 to 256/],
    ['cutn=3.5', 'bad-option-value', 'cutn', /whole number/],
    ['lr=0', 'bad-option-value', 'lr', /lr must be a number above 0 and at most 10/],
    ['lr=-0.1', 'bad-option-value', 'lr', /above 0/],
    ['lr=abc', 'bad-option-value', 'lr', /got 'abc'/],
    ['lr=Infinity', 'bad-option-value', 'lr', /above 0/],
    ['optimiser=SGD', 'bad-option-value', 'optimiser', /one of Adam, AdamW/],
    ['cut_pow=20', 'bad-option-value', 'cut_pow', /from 0.1 to 10/],
    ['init_noise=perlin', 'bad-option-value', 'init_noise', /one of pixels, gradient/],
    ['augments=Af,Af', 'bad-option-value', 'augments', /at most once/],
    ['augments=Af,Pe,Ro,Re', 'bad-option-value', 'augments', /at most 3 of/],
    ['zoom_every=0', 'bad-option-value', 'zoom_every', /from 1 to 5000/],
    ['steps=10', 'unknown-option', undefined, /Unknown option 'steps'; the options are loop, cut_method/],
    ['cutn=8 cuts=9', 'duplicate-option', 'cutn', /given twice/],
    ['cutn = 8', 'options-syntax', undefined, /not name=value/],
    ['cutn', 'options-syntax', undefined, /not name=value/],
    [`cutn=${'1'.repeat(600)}`, 'options-too-long', undefined, /at most 500/],
  ])('refuses %s with a clear error', (text, identifier, option, message) => {
    const e = refused(text);
    expect(e.identifier).toBe(identifier);
    expect(e.option).toBe(option);
    expect(e.message).toMatch(message);
  });

  it('refuses what only the whole job shows: 10 000 zoom frames, 100 story segments', () => {
    expect(jobOptionsProblem({ zoomEvery: 1 }, { steps: 10_000, storySegments: 1 })?.message).toMatch(
      /10000 frames .* at most 500/,
    );
    expect(jobOptionsProblem({ zoomEvery: 20 }, { steps: 10_000, storySegments: 1 })).toBeUndefined();
    expect(jobOptionsProblem({}, { steps: 100, storySegments: 100 })).toMatchObject({
      identifier: 'bad-option-value',
      option: 'story',
      message: expect.stringMatching(/100 prompts .* at most 16/),
    });
    expect(jobOptionsProblem({}, { steps: 100, storySegments: 16 })).toBeUndefined();
  });
});
