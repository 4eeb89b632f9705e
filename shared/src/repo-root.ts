/**
 * The repository (or image) root: the nearest folder above a module that holds `package.json`.
 * The same answer from the TypeScript sources (`renderer/src/main.ts`) and from the compiled
 * build (`dist/renderer/src/main.js`), so bundled models and data resolve in both.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRootFrom(moduleUrl: string): string {
  const start = path.dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return start;
  }
}
