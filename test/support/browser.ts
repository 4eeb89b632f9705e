/**
 * Debian's Chromium driven by playwright-core, for the playground's browser test. When
 * /usr/bin/chromium is missing it is installed with apt-get (only as root); otherwise the test
 * is skipped with the reason. Every launch gets a fresh profile directory, removed on close.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export type BrowserAvailability = { ok: true; executablePath: string } | { ok: false; reason: string };

/** Makes sure Chromium is there, installing Debian's package when we may. */
export function ensureChromium(): BrowserAvailability {
  if (existsSync(CHROMIUM_PATH)) return { ok: true, executablePath: CHROMIUM_PATH };
  if (process.platform !== 'linux')
    return { ok: false, reason: `no ${CHROMIUM_PATH} (browser tests expect Debian's chromium package)` };
  if (process.getuid?.() !== 0)
    return {
      ok: false,
      reason: `no ${CHROMIUM_PATH} and not root: run \`sudo apt-get install -y chromium\` to enable the browser test`,
    };
  if (spawnSync('apt-get', ['--version']).error)
    return { ok: false, reason: `no ${CHROMIUM_PATH} and no apt-get to install it` };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-q', 'chromium', 'fonts-noto-color-emoji'], {
      env,
      encoding: 'utf8',
      timeout: 600_000,
    });
  process.stderr.write(
    '[browser] installing chromium (+ an emoji font for screenshots) from Debian packages (first run only)…\n',
  );
  let result = install();
  if (result.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { env, encoding: 'utf8', timeout: 300_000 });
    result = install();
  }
  if (result.status !== 0 || !existsSync(CHROMIUM_PATH)) {
    return {
      ok: false,
      reason: `apt-get install chromium failed: ${(result.stderr || result.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`,
    };
  }
  return { ok: true, executablePath: CHROMIUM_PATH };
}

export interface LaunchedBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a fresh profile (`--user-data-dir` in a temp dir, which playwright passes for us). */
export async function launchChromium(
  executablePath: string,
  viewport = { width: 1280, height: 800 },
): Promise<LaunchedBrowser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'tessera-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
