import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, waitUntil } from '../support/farm-harness.js';
import { freePort } from '../support/nats-server.js';

const tessera = path.join(repoRoot, 'deploy', 'cli', 'tessera.mjs');
const hasBundle = existsSync(path.join(repoRoot, 'models', 'tiny-shapes', 'manifest.json'));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

describe.skipIf(!hasBundle)('tessera start / imagine / farm (real renderer on the bundled model)', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs the stack, renders through NATS into ./out, lists the renderer, and Ctrl-C leaves nothing running', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-cli-'));
    const port = await freePort();
    const env = {
      ...process.env,
      NATS_URL: `nats://127.0.0.1:${port}`,
      LOG_LEVEL: 'info',
      RENDERER_ID: 'cli-test',
      RENDERER_MODELS_DIR: path.join(repoRoot, 'models'),
    };
    // Its own process group, like a terminal: Ctrl-C is SIGINT to the whole group.
    const start = spawn(process.execPath, [tessera, 'start', '--no-bot'], {
      cwd: dir,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    start.stdout.on('data', (c: Buffer) => (out += c.toString()));
    start.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => start.once('exit', (code) => resolve(code)));
    try {
      await waitUntil(
        () => out.includes('tessera is running') || start.exitCode !== null,
        90_000,
        () => out,
      );
      expect(out).toContain('tessera is running');
      const rendererPid = Number(/renderer\s+pid (\d+)/.exec(out)?.[1]);
      expect(alive(rendererPid)).toBe(true);
      // The fair-share scheduler runs with its own credential (SCHEDULER unset: on for the stack).
      const schedulerPid = Number(/scheduler\s+pid (\d+)/.exec(out)?.[1]);
      expect(alive(schedulerPid), out).toBe(true);

      const imagine = spawnSync(
        process.execPath,
        [tessera, 'imagine', 'a red circle on a blue background', '--seed', '3', '--steps', '20'],
        {
          cwd: dir,
          env,
          encoding: 'utf8',
          timeout: 90_000,
        },
      );
      expect(imagine.status, imagine.stderr).toBe(0);
      const file = imagine.stdout.trim();
      expect(file).toMatch(/^out\/cli-[\w-]+\.png$/);
      expect(existsSync(path.join(dir, file))).toBe(true);
      const frames = await readdir(path.join(dir, file.replace(/\.png$/, '')));
      expect(frames.length).toBeGreaterThan(0);
      // `tessera imagine` found the scheduler's lease and went through intake: the scheduler released it.
      const jobId = path.basename(file, '.png');
      const schedulerLog = await readFile(path.join(dir, '.tessera', 'logs', 'scheduler.log'), 'utf8');
      expect(schedulerLog).toContain(`"jobId":"${jobId}"`);
      expect(schedulerLog).toContain('"job released"');

      const farm = spawnSync(process.execPath, [tessera, 'farm', '--json'], {
        cwd: dir,
        env,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(farm.status, farm.stderr).toBe(0);
      const report = JSON.parse(farm.stdout) as {
        renderers: { id: string; state: string; jobsDone: number }[];
      };
      expect(report.renderers).toMatchObject([{ id: 'cli-test', state: 'idle', jobsDone: 1 }]);

      process.kill(-start.pid!, 'SIGINT');
      expect(await exited).toBe(0);
      expect(out).toContain('nats stopped');
      expect(alive(rendererPid)).toBe(false);
      expect(alive(schedulerPid)).toBe(false);
      expect(out).toContain('scheduler stopped');
      expect(await portOpen(port)).toBe(false);
    } finally {
      // On a failed assertion, still stop the stack the way a person would (its children live in
      // their own process groups and are stopped by it).
      if (start.exitCode === null) {
        process.kill(-start.pid!, 'SIGINT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
        if (start.exitCode === null) process.kill(-start.pid!, 'SIGKILL');
      }
    }
  }, 180_000);
});
