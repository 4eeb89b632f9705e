/** `tessera render` with generate.py's options: a story render works, bad values fail clearly. */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPngText } from '../../renderer/src/engine/png-text.js';
import { modelsDir, repoRoot } from '../quality/fixtures.js';

let dir: string;

function tessera(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'deploy', 'cli', 'tessera.mjs'), ...args], {
      cwd: dir,
      env: { ...process.env, RENDERER_EP: 'cpu' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tessera-cli-opts-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = [
  'render',
  'a red circle on a blue background',
  '--out',
  'o.png',
  '--models-dir',
  modelsDir,
  '--quiet',
];

describe('tessera render options', () => {
  it('renders a story with the reference loop and its options', { timeout: 60_000 }, async () => {
    const r = await tessera([
      'render',
      'a red circle on a blue background ^ a yellow square on a black background',
      '--story-every',
      '3',
      '--steps',
      '6',
      '--seed',
      '2',
      '--loop',
      'reference',
      '--augments',
      'Af,Pe,Ji,Er',
      '--optimiser',
      'AdamW',
      '--out',
      'story.png',
      '--models-dir',
      modelsDir,
      '--quiet',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const text = readPngText(await readFile(path.join(dir, 'story.png')));
    expect(text.prompt).toContain(' ^ a yellow square');
    expect(JSON.parse(text.parameters!)).toMatchObject({
      loop: 'reference',
      optimiser: 'AdamW',
      storyEvery: 3,
    });
  });

  it.each([
    [
      ['--loop', 'reference', '--augments', 'Af,Wobble'],
      /--augments: augments: unknown 'Wobble'; choose from Af, Pe/,
    ],
    [['--cutn', '0'], /cutn must be a whole number from 1 to 256 \(got 0\)/],
    [['--cutn', '1000'], /cutn must be a whole number from 1 to 256 \(got 1000\)/],
    [['--lr', '0'], /lr must be a number above 0 and at most 10/],
    [['--lr=-0.5'], /lr must be a number above 0 and at most 10/],
    [['--optimiser', 'SGD'], /--optimiser: optimiser must be one of Adam, AdamW/],
    [['--cut-pow', '99'], /--cut-pow: cutPow must be a number from 0.1 to 10/],
    [['--story-every', '0'], /--story-every: storyEvery must be a number from 1 to 5000/],
    [['--init-noise', 'perlin'], /--init-noise: initNoise must be one of pixels, gradient \(got 'perlin'\)/],
  ])('fails clearly for %j', { timeout: 60_000 }, async (extra, message) => {
    const r = await tessera([...base, ...extra]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('starts from init noise, the same bytes twice', { timeout: 60_000 }, async () => {
    const args = (out: string) => [
      'render',
      'a red circle on a blue background',
      ...['--init-noise', 'gradient', '--steps', '4', '--seed', '5', '--out', out],
      ...['--models-dir', modelsDir, '--quiet'],
    ];
    for (const out of ['noise-a.png', 'noise-b.png']) {
      const r = await tessera(args(out));
      expect(r.code, r.stderr).toBe(0);
    }
    const a = await readFile(path.join(dir, 'noise-a.png'));
    expect(a.equals(await readFile(path.join(dir, 'noise-b.png')))).toBe(true);
    expect(JSON.parse(readPngText(a).parameters!)).toMatchObject({ initNoise: 'gradient' });
  });

  it('fails clearly for a story of 100 segments', { timeout: 60_000 }, async () => {
    const prompt = Array.from({ length: 100 }, () => 'a red circle').join(' ^ ');
    const r = await tessera(['render', prompt, '--out', 'o.png', '--models-dir', modelsDir, '--quiet']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/The story has 100 prompts; at most 16 are accepted \(story\)/);
  });
});
