/** Shared by the engine tests: where the bundled model lives, and hostile inputs. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from '../../renderer/src/engine/png-text.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The bundled models (override with TESSERA_TEST_MODELS_DIR to try another bundle). */
export const modelsDir = process.env.TESSERA_TEST_MODELS_DIR ?? path.join(repoRoot, 'models');

/** A PNG signature and an IHDR that claims width×height (8-bit RGB), then a truncated IDAT. */
export function hugePngHeader(width: number, height: number): Uint8Array {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const idat = chunk('IDAT', Buffer.from([0x78, 0x9c, 0x00, 0x00])).subarray(0, 10); // cut short
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    idat,
  ]);
}
