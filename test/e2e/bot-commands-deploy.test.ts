import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiscordEmulator, type DiscordEmulator } from '../../deploy/playground/emulator/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function tessera(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'deploy', 'cli', 'tessera.mjs'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npx tessera commands deploy', () => {
  let emulator: DiscordEmulator;
  beforeAll(async () => {
    emulator = await createDiscordEmulator();
  });
  afterAll(async () => {
    await emulator?.close();
  });

  it('registers the slash commands in a guild, moderator commands behind ManageGuild', async () => {
    const r = await tessera(['commands', 'deploy', '--guild', emulator.guild.id], {
      DISCORD_TOKEN: emulator.botToken,
      DISCORD_API_BASE: emulator.apiBase,
      DISCORD_APP_ID: '',
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /registered \/imagine, \/quota, \/settings, \/farm, \/blend, \/history, \/show, \/preferences in guild/,
    );
    const commands = [...emulator.world.commands.values()];
    expect(commands.map((c) => c.name).sort()).toEqual([
      'blend',
      'farm',
      'history',
      'imagine',
      'preferences',
      'quota',
      'settings',
      'show',
    ]);
    expect(commands.every((c) => c.guildId === emulator.guild.id)).toBe(true);
    const manageGuild = String(1n << 5n);
    expect(commands.find((c) => c.name === 'quota')!.defaultMemberPermissions).toBe(manageGuild);
    expect(commands.find((c) => c.name === 'settings')!.defaultMemberPermissions).toBe(manageGuild);
    expect(commands.find((c) => c.name === 'imagine')!.defaultMemberPermissions).toBeNull();
    const imagine = commands.find((c) => c.name === 'imagine')!;
    expect(imagine.options.map((o) => o.name)).toEqual([
      'prompt',
      'seed',
      'steps',
      'size',
      'quality',
      'init_image',
      'avoid',
      'options',
      'image_prompt_1',
      'image_prompt_2',
      'image_prompt_3',
      'image_prompt_4',
      'image_weights',
    ]);
    expect(imagine.options.find((o) => o.name === 'prompt')!.required).toBeFalsy();
    const blend = commands.find((c) => c.name === 'blend')!;
    expect(blend.options.filter((o) => o.required).map((o) => o.name)).toEqual(['image1', 'image2']);
    expect(imagine.options.find((o) => o.name === 'size')!.choices).toEqual([
      { name: '64x64', value: '64x64' },
    ]);
  });

  it('explains what is missing without a token', async () => {
    const r = await tessera(['commands', 'deploy'], { DISCORD_TOKEN: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/DISCORD_TOKEN is not set/);
  });
});
