import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../bot/src/main.js';

const saved = { ...process.env };

afterEach(() => {
  process.env = { ...saved };
  vi.restoreAllMocks();
});

/** Runs `tessera bot` with `env` over the current environment; returns the exit code and stderr. */
async function runBot(env: Record<string, string | undefined>): Promise<{ code: number; stderr: string }> {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const code = await run([]);
  return { code, stderr };
}

describe('tessera bot with a bad environment', () => {
  it('exits 2 with one line naming the bad variables, not a stack trace', async () => {
    const { code, stderr } = await runBot({ LOG_LEVEL: 'loud', JOB_MAX_DELIVER: 'many', DISCORD_TOKEN: 'x' });
    expect(code).toBe(2);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^tessera bot: invalid configuration: .*LOG_LEVEL.*; .*JOB_MAX_DELIVER/);
    expect(stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('exits 2 and says how to get a token when DISCORD_TOKEN is missing', async () => {
    const { code, stderr } = await runBot({ DISCORD_TOKEN: undefined });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^tessera bot: DISCORD_TOKEN is not set/);
  });
});
