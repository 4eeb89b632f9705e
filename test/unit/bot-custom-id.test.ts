import { describe, expect, it } from 'vitest';
import { ClickCooldown } from '../../bot/src/core/click-cooldown.js';
import {
  BUTTON_ACTIONS,
  CUSTOM_ID_MAX_CHARS,
  encodeCustomId,
  parseCustomId,
} from '../../bot/src/core/custom-id.js';

describe('button custom ids', () => {
  it('reads back every action with the job id it carries', () => {
    for (const action of BUTTON_ACTIONS) {
      const id = encodeCustomId(action, '1234567890123456789');
      expect(id).toBe(`tessera:v1:${action}:1234567890123456789`);
      expect(parseCustomId(id)).toEqual({ ok: true, value: { action, jobId: '1234567890123456789' } });
    }
  });

  it('fits Discord’s 100 characters for the longest job id', () => {
    const longest = 'x'.repeat(64);
    for (const action of BUTTON_ACTIONS)
      expect(encodeCustomId(action, longest).length).toBeLessThanOrEqual(CUSTOM_ID_MAX_CHARS);
  });

  it('refuses to build an id for something that is not a job id', () => {
    expect(() => encodeCustomId('reroll', 'a.b')).toThrow();
    expect(() => encodeCustomId('reroll', 'y'.repeat(65))).toThrow();
  });

  it('calls ids of another version, action or shape unknown rather than failing', () => {
    for (const raw of [
      'tessera:v2:reroll:123',
      'tessera:v1:explode:123',
      'tessera:v1:reroll:bad.id',
      'tessera:v1:reroll',
      'tessera:v1:reroll:1:2',
      'tessera',
    ])
      expect(parseCustomId(raw)).toEqual({ ok: false, identifier: 'unknown-button' });
  });

  it('leaves other components’ ids to their handlers', () => {
    expect(parseCustomId('history:next:2')).toEqual({ ok: false, identifier: 'not-ours' });
    expect(parseCustomId('')).toEqual({ ok: false, identifier: 'not-ours' });
  });
});

describe('the per-member click cooldown', () => {
  it('lets one click through per member per window and says how long is left', () => {
    let t = 1000;
    const c = new ClickCooldown(3000, () => t);
    expect(c.take('g:a')).toBe(true);
    expect(c.take('g:b')).toBe(true);
    t += 1000;
    expect(c.take('g:a')).toBe(2000);
    t += 2000;
    expect(c.take('g:a')).toBe(true);
  });
});
