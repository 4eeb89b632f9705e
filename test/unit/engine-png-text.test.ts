import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { addPngText, crc32, itxtChunk, readPngText, textChunk } from '../../renderer/src/engine/png-text.js';

async function tinyPng(): Promise<Uint8Array> {
  return sharp(Buffer.alloc(4 * 4 * 3, 128), { raw: { width: 4, height: 4, channels: 3 } })
    .png()
    .toBuffer();
}

describe('PNG text chunks', () => {
  it('computes the standard CRC-32', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.from('IEND'))).toBe(0xae426082);
  });

  it('lays out a tEXt chunk as length, type, keyword NUL text, CRC', () => {
    const c = textChunk('Software', 'tessera');
    const data = Buffer.from('Software\0tessera', 'latin1');
    expect(Buffer.from(c.subarray(0, 4)).readUInt32BE()).toBe(data.length);
    expect(Buffer.from(c.subarray(4, 8)).toString('latin1')).toBe('tEXt');
    expect(Buffer.from(c.subarray(8, 8 + data.length))).toEqual(data);
    expect(Buffer.from(c.subarray(-4)).readUInt32BE()).toBe(
      crc32(Buffer.concat([Buffer.from('tEXt'), data])),
    );
  });

  it('writes UTF-8 text as uncompressed iTXt', () => {
    const c = Buffer.from(itxtChunk('prompt', 'rouge ✓'));
    expect(c.subarray(4, 8).toString('latin1')).toBe('iTXt');
    expect(c.subarray(8, 8 + 11)).toEqual(Buffer.from('prompt\0\0\0\0\0', 'latin1'));
  });

  it('rejects invalid keywords and non-Latin-1 tEXt', () => {
    expect(() => textChunk('', 'x')).toThrow(RangeError);
    expect(() => textChunk('a'.repeat(80), 'x')).toThrow(RangeError);
    expect(() => textChunk('k', 'ä✓')).toThrow(RangeError);
  });

  it('inserts chunks after IHDR, keeps the image decodable and reads them back', async () => {
    const png = await tinyPng();
    const out = addPngText(png, {
      Software: 'tessera',
      prompt: 'a red circle | ünïcode ✓',
      parameters: '{"seed":1}',
    });
    expect(Buffer.from(out.subarray(37, 41)).toString('latin1')).toBe('tEXt'); // 8 signature + 25 IHDR + 4 length
    expect(readPngText(out)).toEqual({
      Software: 'tessera',
      prompt: 'a red circle | ünïcode ✓',
      parameters: '{"seed":1}',
    });
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([4, 4]);
    const pixels = await sharp(out).raw().toBuffer();
    expect(pixels.every((b) => b === 128)).toBe(true);
  });

  it('refuses what is not a PNG', () => {
    expect(() => addPngText(Buffer.from('GIF89a not a png at all, long enough to pass'), { a: 'b' })).toThrow(
      /not a PNG/,
    );
  });
});
