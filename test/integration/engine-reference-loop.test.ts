/**
 * The reference loop (step interface 2, generate.py's) in the real engine on the bundled
 * tiny-shapes model: same seed and options ⇒ the same PNG bytes; options change the result;
 * bad options are refused before any step runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RenderRequest } from '../../renderer/src/engine/engine.js';
import { createOnnxEngine, type OnnxEngine } from '../../renderer/src/engine/onnx-engine.js';
import { readPngText } from '../../renderer/src/engine/png-text.js';
import { silentLogger } from '../../shared/src/logger.js';
import { modelsDir } from '../quality/fixtures.js';

let engine: OnnxEngine;

function request(over: Partial<RenderRequest> = {}): RenderRequest {
  return {
    prompts: [{ kind: 'text', text: 'a red square on a blue background', weight: 1 }],
    seed: 11,
    width: 64,
    height: 64,
    steps: 6,
    loop: 'reference',
    ...over,
  };
}

beforeAll(async () => {
  engine = await createOnnxEngine({ modelsDir, model: 'tiny-shapes', ep: 'cpu', log: silentLogger() });
});

afterAll(async () => {
  await engine?.close();
});

describe('reference loop', () => {
  it('same seed and options give the same bytes; another seed does not', { timeout: 120_000 }, async () => {
    const opts = {
      augments: ['Af', 'Pe', 'Ji', 'Er', 'Sh', 'Gn'] as RenderRequest['augments'],
      optimiser: 'RAdam' as const,
    };
    const a = await engine.render(request(opts), {});
    const b = await engine.render(request(opts), {});
    const c = await engine.render(request({ ...opts, seed: 12 }), {});
    expect(Buffer.from(a.png).equals(Buffer.from(b.png))).toBe(true);
    expect(Buffer.from(a.png).equals(Buffer.from(c.png))).toBe(false);
    const params = JSON.parse(readPngText(a.png).parameters!) as Record<string, unknown>;
    expect(params).toMatchObject({ loop: 'reference', optimiser: 'RAdam', augments: opts.augments });
  });

  it('the cut method, the augments and the init weight change the image', { timeout: 120_000 }, async () => {
    const base = await engine.render(request(), {});
    for (const over of [{ cutMethod: 'original' as const }, { augments: [] }, { initWeight: 50 }]) {
      const other = await engine.render(request(over), {});
      expect(Buffer.from(other.png).equals(Buffer.from(base.png)), JSON.stringify(over)).toBe(false);
    }
  });

  it('the classic loop still renders the bytes it did (no reference draws)', {
    timeout: 120_000,
  }, async () => {
    const a = await engine.render(request({ loop: 'classic' }), {});
    const b = await engine.render(request({ loop: undefined }), {});
    expect(Buffer.from(a.png).equals(Buffer.from(b.png))).toBe(true);
  });

  it('refuses a bad option with its identifier', async () => {
    await expect(engine.render(request({ augments: ['Af', 'Nope'] as never }), {})).rejects.toMatchObject({
      name: 'EngineInputError',
      identifier: 'bad-augments',
    });
    await expect(engine.render(request({ cutn: 1000 }), {})).rejects.toMatchObject({
      identifier: 'bad-cutn',
    });
  });
});
