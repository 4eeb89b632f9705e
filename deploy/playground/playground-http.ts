/** HTTP helpers of the playground's routes: JSON in and out, request errors, the page's static files. */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PAGE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'page');
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};
/** A file directly in `page/` (no sub-folders, no dot-dot): the page and its ES modules. */
const PAGE_FILE = /^\/([a-z0-9][a-z0-9-]*\.(?:html|js|css))$/;
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(data),
  });
  res.end(data);
}

export async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > limit) throw new RequestError(413, 'request too large');
    chunks.push(chunk as Buffer);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new RequestError(400, 'expected a JSON object');
  }
}

export const str = (body: Record<string, unknown>, key: string): string => {
  const v = body[key];
  if (typeof v !== 'string' || v.length === 0) throw new RequestError(400, `${key}: expected a string`);
  return v;
};

/**
 * Serves `GET /` and the files of `page/` with their content type; false when the path is not a
 * page file (or the file does not exist), so the caller can try its other routes.
 */
export async function servePage(
  res: ServerResponse,
  pathname: string,
  cache: Map<string, Buffer>,
): Promise<boolean> {
  const file = pathname === '/' ? 'index.html' : PAGE_FILE.exec(pathname)?.[1];
  if (!file) return false;
  let data = cache.get(file);
  if (!data) {
    try {
      data = await readFile(path.join(PAGE_DIR, file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    cache.set(file, data);
  }
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[path.extname(file)]!,
    'cache-control': 'no-cache',
    'content-length': data.byteLength,
  });
  res.end(data);
  return true;
}
