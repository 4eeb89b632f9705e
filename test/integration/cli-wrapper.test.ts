/**
 * The `tessera` wrapper (deploy/cli/tessera.mjs) and its child: the child stops when the wrapper
 * is SIGKILLed (the IPC channel closes), and SIGTERM / SIGINT sent to the wrapper reach it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestFarm, repoRoot, waitUntil } from '../support/farm-harness.js';
import { type NatsServerHandle, startNatsServer } from '../support/nats-server.js';

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

function childrenOf(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

interface Wrapped {
  wrapper: ChildProcess;
  child: number;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `tessera renderer` through the wrapper, once the renderer says it is ready. */
async function startRenderer(nats: NatsServerHandle): Promise<Wrapped> {
  const wrapper = spawn(process.execPath, [tessera, 'renderer'], {
    env: { ...process.env, ...nats.env('renderer'), LOG_LEVEL: 'info', RENDERER_EP: 'cpu' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  wrapper.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  wrapper.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    wrapper.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await waitUntil(
    () => out.includes('renderer ready') || wrapper.exitCode !== null,
    60_000,
    () => out,
  );
  expect(out).toContain('renderer ready');
  const [child] = childrenOf(wrapper.pid!);
  expect(child).toBeDefined();
  return { wrapper, child: child!, output: () => out, exited };
}

describe.skipIf(!hasBundle)('tessera wrapper and its child', () => {
  let nats: NatsServerHandle;
  const started: number[] = [];
  beforeAll(async () => {
    nats = await startNatsServer();
    // The admin step (`tessera setup`), so the renderer finds its consumer.
    await (await openTestFarm(nats)).nc.close();
  });
  afterAll(async () => {
    for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await nats?.stop();
  });

  it('a SIGKILLed wrapper takes its child with it', async () => {
    const run = await startRenderer(nats);
    started.push(run.child);
    expect(alive(run.child)).toBe(true);
    run.wrapper.kill('SIGKILL');
    await run.exited;
    await waitUntil(
      () => !alive(run.child),
      10_000,
      () => `child ${run.child} still running`,
    );
    expect(alive(run.child)).toBe(false);
  }, 90_000);

  it('SIGTERM and a doubled SIGINT reach the child once, which stops gracefully (exit 0)', async () => {
    const term = await startRenderer(nats);
    started.push(term.child);
    term.wrapper.kill('SIGTERM');
    expect(await term.exited).toEqual({ code: 0, signal: null });
    expect(alive(term.child)).toBe(false);
    expect(term.output()).toContain('"signal":"SIGTERM"');

    const int = await startRenderer(nats);
    started.push(int.child);
    int.wrapper.kill('SIGINT');
    int.wrapper.kill('SIGINT'); // npm run forwards Ctrl-C as well: the wrapper sees it twice
    expect(await int.exited).toEqual({ code: 0, signal: null });
    expect(alive(int.child)).toBe(false);
    expect(int.output().match(/"signal":"SIGINT"/g)).toHaveLength(1);
  }, 120_000);
});
