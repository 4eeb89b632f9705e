/**
 * Optional tools some tests need: each check says whether the tool is usable here and, when it is
 * not, why — the test is then skipped with that reason in its title.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export type ToolAvailability = { ok: true } | { ok: false; reason: string };

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

/** `../shared/tools/pytorch-env`, the PyTorch chroot of a development machine. */
export const PYTORCH_ENV = path.resolve(repoRoot, '..', 'shared', 'tools', 'pytorch-env');

/** Usable only when the script exists and `pytorch-env ready` exits 0 (it honours PYTORCH_ENV_ROOT). */
export function pytorchEnvReady(script = PYTORCH_ENV): ToolAvailability {
  if (!existsSync(script)) return { ok: false, reason: `no ${script}` };
  const ready = spawnSync(script, ['ready'], { encoding: 'utf8', timeout: 30_000 });
  if (ready.error) return { ok: false, reason: `${script} ready: ${ready.error.message}` };
  if (ready.status !== 0)
    return { ok: false, reason: `${script} ready exited ${ready.status}: run '${script} setup' first` };
  return { ok: true };
}

/** The title suffix for a test that may be skipped: empty when the tool is there. */
export function skipNote(tool: ToolAvailability): string {
  return tool.ok ? '' : ` (skipped: ${tool.reason})`;
}
