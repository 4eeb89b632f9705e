import { describe, expect, it } from 'vitest';
import { renderPayload, type RenderFacts } from '../../bot/src/core/render-view.js';

const facts: RenderFacts = {
  promptText: '@everyone **a red** circle <@123456789012345678>',
  requesterId: '42',
  seed: 9,
  steps: 100,
  width: 64,
  height: 64,
  quality: 'standard',
  model: 'tiny-shapes',
};
const description = (p: ReturnType<typeof renderPayload>) =>
  String((p.embed as { description: string }).description);

describe('renderPayload', () => {
  it('keeps user text out of the content line and escapes it in the embed', () => {
    const p = renderPayload(facts, { kind: 'queued', position: 3, etaMs: 12_000 });
    expect(p.content).toBe('⏳ Queued · position 3 · ETA ~12 s');
    expect(description(p)).not.toMatch(/@everyone|<@1/);
    expect(description(p)).toContain('\\*\\*a red\\*\\*');
    expect(description(p)).toContain('<@42>');
    expect(p.image).toBeUndefined();
  });

  it('shows step/total with the newest frame while rendering', () => {
    const frame = new Uint8Array([1, 2, 3]);
    const p = renderPayload(facts, {
      kind: 'running',
      step: 40,
      total: 100,
      itPerSec: 12.34,
      etaMs: 5000,
      frame,
    });
    expect(p.content).toBe('🎨 Rendering · step 40/100 · 12.3 it/s · ETA ~5 s');
    expect(p.image).toEqual({ name: 'frame.webp', data: frame });
  });

  it('shows the final image with its seed, and failures with their reason', () => {
    const done = renderPayload(facts, {
      kind: 'done',
      image: new Uint8Array([9]),
      imageName: 'tessera-9.png',
      elapsedMs: 8200,
    });
    expect(done.content).toMatch(/^✅ Done in 8\.2 s/u);
    expect(done.image?.name).toBe('tessera-9.png');
    expect(
      (done.embed as { fields: { name: string; value: string }[] }).fields.find((f) => f.name === 'Seed')
        ?.value,
    ).toBe('9');
    const failed = renderPayload(facts, {
      kind: 'failed',
      reason: 'Unknown words: elephant',
      refunded: true,
    });
    expect(failed.content).toBe('⚠️ Failed · not counted against your quota');
    expect(description(failed)).toContain('Unknown words: elephant');
  });

  it('fits Discord embed limits for the longest accepted prompt', () => {
    const p = renderPayload(
      { ...facts, promptText: '*'.repeat(1000), avoidText: '_'.repeat(500) },
      { kind: 'failed', reason: 'x'.repeat(2000), refunded: false },
    );
    expect([...description(p)].length).toBeLessThanOrEqual(4096);
  });
});
