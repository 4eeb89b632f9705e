/**
 * A scheduler in its own process (`tessera scheduler` through tsx), for SIGKILL tests and for
 * measuring its CPU time and memory from outside.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, testEnv, type TestServer } from './farm-harness.js';

export interface ChildScheduler {
  readonly child: ChildProcess;
  /** The lease holder name this instance uses. */
  readonly holder: string;
  output(): string;
}

/** `tessera scheduler` as the `scheduler` role (its own nkey, as `tessera start` runs it). */
export function spawnScheduler(server: TestServer, env: Record<string, string> = {}): ChildScheduler {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = spawn(
    process.execPath,
    ['--import', tsx, path.join(repoRoot, 'deploy/cli/main.ts'), 'scheduler'],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...testEnv(server, { SCHEDULER: 'on', LOG_LEVEL: 'info', ...env }, 'scheduler'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const keep = (c: Buffer): void => {
    out = (out + c.toString()).slice(-200_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, holder: `scheduler-${os.hostname()}-${child.pid}`, output: () => out };
}

/** CPU time (user + system, ms) and resident memory (bytes) of a process, from /proc. */
export async function processUsage(pid: number): Promise<{ cpuMs: number; rssBytes: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuMs: (ticks * 1000) / 100, rssBytes: rssKb * 1024 };
}
