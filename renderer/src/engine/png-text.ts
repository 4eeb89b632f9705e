/**
 * Text metadata in PNG files (https://www.w3.org/TR/png-3/#11textinfo). sharp keeps EXIF/XMP
 * but writes no tEXt/iTXt, so the chunks are spliced in here, right after IHDR.
 */
const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309), as PNG chunks use it. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function checkKeyword(keyword: string): void {
  if (!/^[\x20-\x7e]{1,79}$/.test(keyword) || keyword !== keyword.trim() || keyword.includes('  ')) {
    throw new RangeError(`invalid PNG text keyword ${JSON.stringify(keyword)}`);
  }
}

/** An uncompressed iTXt chunk: UTF-8 text, no language tag. */
export function itxtChunk(keyword: string, text: string): Uint8Array {
  checkKeyword(keyword);
  const head = Buffer.from(`${keyword}\0\0\0\0\0`, 'latin1'); // keyword, NUL, flag 0, method 0, '' NUL, '' NUL
  return chunk('iTXt', Buffer.concat([head, Buffer.from(text, 'utf8')]));
}

/** A tEXt chunk (Latin-1 text). */
export function textChunk(keyword: string, text: string): Uint8Array {
  checkKeyword(keyword);
  if (/[^\x00-\xff]/.test(text) || text.includes('\0'))
    throw new RangeError('tEXt holds Latin-1 text without NUL; use iTXt');
  return chunk('tEXt', Buffer.from(`${keyword}\0${text}`, 'latin1'));
}

/**
 * Returns a copy of `png` with one chunk per entry inserted after IHDR: tEXt where the text is
 * ASCII, iTXt (UTF-8) otherwise.
 */
export function addPngText(png: Uint8Array, entries: Record<string, string>): Uint8Array {
  if (png.length < 33 || !SIGNATURE.every((b, i) => png[i] === b)) throw new RangeError('not a PNG');
  const ihdrLength = new DataView(png.buffer, png.byteOffset, png.length).getUint32(8);
  if (Buffer.from(png.subarray(12, 16)).toString('latin1') !== 'IHDR' || ihdrLength !== 13)
    throw new RangeError('PNG does not start with IHDR');
  const afterIhdr = 8 + 12 + ihdrLength;
  const chunks = Object.entries(entries).map(([k, v]) =>
    /^[\x20-\x7e\n]*$/.test(v) ? textChunk(k, v) : itxtChunk(k, v),
  );
  return Buffer.concat([png.subarray(0, afterIhdr), ...chunks, png.subarray(afterIhdr)]);
}

/** Reads tEXt and uncompressed iTXt chunks back (for tests and `tessera` tools). */
export function readPngText(png: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const view = new DataView(png.buffer, png.byteOffset, png.length);
  let at = 8;
  while (at + 12 <= png.length) {
    const length = view.getUint32(at);
    const type = Buffer.from(png.subarray(at + 4, at + 8)).toString('latin1');
    const data = Buffer.from(png.subarray(at + 8, Math.min(png.length, at + 8 + length)));
    if (type === 'tEXt') {
      const nul = data.indexOf(0);
      if (nul > 0) out[data.subarray(0, nul).toString('latin1')] = data.subarray(nul + 1).toString('latin1');
    } else if (type === 'iTXt') {
      const nul = data.indexOf(0);
      if (nul > 0 && data[nul + 1] === 0) {
        const lang = data.indexOf(0, nul + 3);
        const translated = lang >= 0 ? data.indexOf(0, lang + 1) : -1;
        if (translated >= 0)
          out[data.subarray(0, nul).toString('latin1')] = data.subarray(translated + 1).toString('utf8');
      }
    } else if (type === 'IEND') {
      break;
    }
    at += 12 + length;
  }
  return out;
}
