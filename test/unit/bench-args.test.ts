import { torchComparisonGap } from '../../renderer/src/bench/engine-bench.js';
import { describe, expect, it } from 'vitest';
import { BenchUsageError, parseBenchArgs } from '../../deploy/cli/bench.js';

describe('tessera bench arguments', () => {
  it('runs the full default benchmark without options', () => {
    expect(parseBenchArgs([])).toBeUndefined();
  });

  it('takes the GPU check settings', () => {
    expect(
      parseBenchArgs(
        [
          '--model',
          'real',
          '--models-dir',
          '/m',
          '--ep',
          'webgpu',
          '--size',
          '256x256',
          '--cutn',
          '32',
          '--steps',
          '100',
          '--frame-every',
          '100',
          '--renders',
          '1',
          '--no-torch',
          '--json',
        ],
        {},
      ),
    ).toEqual({
      model: 'real',
      modelsDir: '/m',
      ep: 'webgpu',
      size: [256, 256],
      cutn: 32,
      steps: 100,
      frameEvery: 100,
      renders: 1,
      torch: false,
      json: true,
    });
  });

  it('takes the loops to time: classic, reference or both', () => {
    expect(parseBenchArgs(['--loop', 'reference'], {})).toEqual({ loops: ['reference'] });
    expect(parseBenchArgs(['--loop', 'both'], {})).toEqual({ loops: ['classic', 'reference'] });
    expect(() => parseBenchArgs(['--loop', 'fast'], {})).toThrow(/--loop must be classic, reference or both/);
  });

  it('keeps width and height apart', () => {
    expect(parseBenchArgs(['--size', '384X224'])).toEqual({ size: [384, 224] });
  });

  it.each([
    [['--ep', 'tpu'], /--ep must be auto, cpu, webgpu or cuda/],
    [['--size', '256'], /--size must look like/],
    [['--steps', '0'], /--steps must be a whole number from 1/],
    [['--cutn', '2.5'], /--cutn must be a whole number/],
    [['--threads', '999'], /--threads must be a whole number from 1 to 256/],
    [['extra'], /unexpected argument 'extra'/],
  ])('rejects %j with a clear message', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(BenchUsageError);
    expect(() => parseBenchArgs(argv)).toThrow(message);
  });

  it('rejects unknown options', () => {
    expect(() => parseBenchArgs(['--fast'])).toThrow(/Unknown option '--fast'/);
  });

  it('takes WebGPU provider options from the flag, else from RENDERER_WEBGPU_OPTIONS', () => {
    expect(parseBenchArgs(['--ep', 'webgpu', '--webgpu-options', 'preferredLayout=NCHW'], {})).toEqual({
      ep: 'webgpu',
      webgpuOptions: { preferredLayout: 'NCHW' },
    });
    expect(
      parseBenchArgs(['--ep', 'webgpu'], { RENDERER_WEBGPU_OPTIONS: 'validationMode=disabled' }),
    ).toEqual({ ep: 'webgpu', webgpuOptions: { validationMode: 'disabled' } });
    expect(() => parseBenchArgs(['--webgpu-options', 'turbo=1'], {})).toThrow(
      /--webgpu-options: unknown WebGPU option 'turbo'/,
    );
  });

  it('answers --help', () => {
    expect(parseBenchArgs(['--help'])).toBe('help');
  });
});

describe('the PyTorch comparison of tessera bench', () => {
  const tiny = { width: 64, height: 64, cutn: 16, defaults: { size: [64, 64] as const, cutn: 16 } };
  it('exists for tiny-shapes at its defaults on the CPU only', () => {
    expect(torchComparisonGap('tiny-shapes', 'cpu', tiny)).toBeUndefined();
  });
  it('is refused, with the reason, for another model, provider or setting', () => {
    expect(torchComparisonGap('vqgan-imagenet-f16-16384', 'cpu', tiny)).toMatch(
      /no PyTorch reference for vqgan-imagenet-f16-16384/,
    );
    expect(torchComparisonGap('tiny-shapes', 'webgpu', tiny)).toMatch(/runs on the CPU/);
    expect(torchComparisonGap('tiny-shapes', 'cpu', { ...tiny, cutn: 32 })).toMatch(/64x64, cutn 16 only/);
    expect(torchComparisonGap('tiny-shapes', 'cpu', { ...tiny, width: 128 })).toMatch(/only/);
  });
});
