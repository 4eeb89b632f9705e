import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/src/config.js';
import { formatWebGpuOptions, parseWebGpuOptions } from '../../shared/src/webgpu-options.js';

describe('WebGPU provider options (RENDERER_WEBGPU_OPTIONS)', () => {
  it('parses name=value pairs, spaces allowed, and formats them back', () => {
    const o = parseWebGpuOptions(' validationMode=disabled , preferredLayout = NCHW,');
    expect(o).toEqual({ validationMode: 'disabled', preferredLayout: 'NCHW' });
    expect(formatWebGpuOptions(o)).toBe('validationMode=disabled,preferredLayout=NCHW');
    expect(parseWebGpuOptions('')).toEqual({});
  });

  it.each([
    ['preferredLayout', /is not name=value/],
    ['fastMath=on', /unknown WebGPU option 'fastMath' \(known: preferredLayout, validationMode/],
    ['preferredLayout=NCWH', /preferredLayout must be one of NCHW, NHWC \(got 'NCWH'\)/],
    ['validationMode=basic,validationMode=full', /validationMode is given twice/],
    ['validationMode=dis abled', /is not name=value/],
  ])('refuses %j with a clear message', (raw, message) => {
    expect(() => parseWebGpuOptions(raw)).toThrow(message);
  });

  it('is part of the validated configuration', () => {
    expect(loadConfig({}).RENDERER_WEBGPU_OPTIONS).toEqual({});
    expect(
      loadConfig({ RENDERER_WEBGPU_OPTIONS: 'validationMode=wgpuOnly' }).RENDERER_WEBGPU_OPTIONS,
    ).toEqual({ validationMode: 'wgpuOnly' });
    expect(() => loadConfig({ RENDERER_WEBGPU_OPTIONS: 'preferredLayout=NWHC' })).toThrow(
      /RENDERER_WEBGPU_OPTIONS: .*preferredLayout must be one of NCHW, NHWC/,
    );
  });
});
