/** Small helpers for the emulator's node:http server: bodies in, JSON out. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MessageBody, UploadedFile } from './world.js';

export async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.byteLength;
    if (size > limit) throw new Error('request body too large');
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/**
 * Parses a JSON body, or a multipart one the way discord.js sends files: a `payload_json` field
 * plus `files[N]` parts. Uses the WHATWG `Request.formData()` parser built into Node.
 */
export async function parseMessageRequest(
  contentType: string | undefined,
  raw: Buffer,
): Promise<{ body: Record<string, unknown>; files: UploadedFile[] }> {
  if (raw.byteLength === 0) return { body: {}, files: [] };
  if (contentType?.startsWith('multipart/form-data')) {
    const form = await new Request('http://emulator.invalid/', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: raw,
    }).formData();
    const payload = form.get('payload_json');
    const body = typeof payload === 'string' ? (JSON.parse(payload) as Record<string, unknown>) : {};
    const files: UploadedFile[] = [];
    for (const [name, value] of form.entries()) {
      if (typeof value === 'string') continue;
      const m = /^files\[(\d+)\]$/.exec(name) ?? /^file(\d*)$/.exec(name);
      files.push({
        index: m?.[1] || String(files.length),
        filename: value.name || 'file',
        contentType: value.type || 'application/octet-stream',
        data: new Uint8Array(await value.arrayBuffer()),
      });
    }
    return { body, files };
  }
  return { body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>, files: [] };
}

export function asMessageBody(body: Record<string, unknown>): MessageBody {
  // Shapes are checked by the world's validation; this only narrows the type.
  return body as MessageBody;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  if (status === 204) {
    res.writeHead(204, headers).end();
    return;
  }
  const text = JSON.stringify(value);
  res
    .writeHead(status, {
      ...headers,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    })
    .end(text);
}
