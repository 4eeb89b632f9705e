/** `tessera render` as a user runs it: a real process, files written, clear errors. */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPngText } from '../../renderer/src/engine/png-text.js';
import { modelsDir, repoRoot } from '../quality/fixtures.js';

let dir: string;

function tessera(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'deploy', 'cli', 'tessera.mjs'), ...args], {
      cwd: dir,
      env: { ...process.env, RENDERER_EP: 'cpu' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tessera-cli-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tessera render', () => {
  it('writes the PNG and an animated WebP timelapse', async () => {
    const r = await tessera([
      'render',
      'a red circle on a blue background',
      '--seed',
      '1',
      '--steps',
      '12',
      '--frame-every',
      '3',
      '--models-dir',
      modelsDir,
      '--out',
      'x.png',
      '--timelapse',
      't.webp',
    ]);
    expect(r.stderr).toMatch(/wrote x\.png and t\.webp/);
    expect(r.code).toBe(0);
    const png = await readFile(path.join(dir, 'x.png'));
    expect(readPngText(png)).toMatchObject({
      Software: 'tessera',
      prompt: 'a red circle on a blue background',
    });
    const meta = await sharp(path.join(dir, 't.webp'), { animated: true }).metadata();
    expect(meta.format).toBe('webp');
    expect(meta.pageHeight).toBe(64);
  });

  it.each([
    ['an unknown word', ['a hexagon', '--out', 'y.png'], 1, /does not know the word 'hexagon'.*It knows: /s],
    ['a 12 000-character prompt', ['red'.repeat(4000), '--out', 'y.png'], 1, /at most 1000 are accepted/],
    ['a negative weight alone', ['a red circle:-1', '--out', 'y.png'], 1, /add up to -1/],
    [
      'a missing init image',
      ['a red circle', '--init-image', 'missing.png', '--out', 'y.png'],
      1,
      /cannot read the init image/,
    ],
    ['no --out', ['a red circle'], 2, /--out FILE\.png is required/],
    ['a bad --size', ['a red circle', '--out', 'y.png', '--size', 'big'], 2, /--size must look like 64x64/],
  ])('fails clearly for %s', async (_name, args, code, message) => {
    const r = await tessera(['render', ...args, '--models-dir', modelsDir]);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
