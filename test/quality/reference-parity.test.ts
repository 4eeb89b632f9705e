/**
 * The engine against models/tessera_models/reference_loop.py (the same BUNDLE.md loop in Python,
 * on onnxruntime's Python CPU provider): same prompt and seed ⇒ the same pixels. And the step
 * graphs of generate.py's loop against the eager PyTorch reference (models/tests/
 * test_reference_step.py: the tiny bundle's step-reference.onnx and a real-shape synthetic export,
 * loss and dloss/dz within 1e-4; TESSERA_REF_REAL=small|full|off picks the real-shape configs).
 * Needs the PyTorch environment at ../shared/tools/pytorch-env (a development machine); skipped,
 * with the reason, where `pytorch-env ready` fails (absent or never set up).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxEngine, type OnnxEngine } from '../../renderer/src/engine/onnx-engine.js';
import { silentLogger } from '../../shared/src/logger.js';
import { PYTORCH_ENV as pytorchEnv, pytorchEnvReady, skipNote } from '../support/optional-tools.js';
import { modelsDir, repoRoot } from './fixtures.js';

const bundled = path.resolve(modelsDir) === path.join(repoRoot, 'models');
const tool = bundled
  ? pytorchEnvReady()
  : { ok: false as const, reason: 'TESSERA_TEST_MODELS_DIR is not the bundled models/' };
const available = tool.ok;
let engine: OnnxEngine;

beforeAll(async () => {
  if (available)
    engine = await createOnnxEngine({ modelsDir, model: 'tiny-shapes', ep: 'cpu', log: silentLogger() });
});

afterAll(async () => {
  await engine?.close();
});

describe('step-reference graphs vs generate.py in PyTorch (models/tests/test_reference_step.py)', () => {
  it.skipIf(!available)(
    `match in loss and dloss/dz on the tiny bundle and a real-shape synthetic export${skipNote(tool)}`,
    { timeout: 1_500_000 },
    async () => {
      // spawn, not spawnSync: minutes of a blocked worker make vitest's own RPC time out
      const py = await new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
        const child = spawn(pytorchEnv, ['python', '-m', 'unittest', 'tests.test_reference_step', '-v'], {
          cwd: path.join(repoRoot, 'models'),
          env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
          stdio: ['ignore', 'ignore', 'pipe'],
          timeout: 1_450_000,
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stderr }));
      });
      const tail = py.stderr.slice(-3000);
      expect(py.status, tail).toBe(0);
      expect(tail).toMatch(/^OK/m);
      // every class ran: the tiny bundle's and (unless TESSERA_REF_REAL=off) the real-shape export's
      expect(py.stderr).toMatch(/test_each_augmentation_and_both_methods \(.*\.ReferenceStep/);
      if (process.env.TESSERA_REF_REAL !== 'off')
        expect(py.stderr).toMatch(/test_each_augmentation_and_both_methods \(.*\.RealShapeReferenceStep/);
    },
  );
});

describe('engine vs reference_loop.py', () => {
  it.skipIf(!available)(
    `renders the same pixels for the same prompt and seed${skipNote(tool)}`,
    { timeout: 180_000 },
    async () => {
      const prompt = 'a yellow square on a purple background';
      const rel = path.join('.work', `parity-${process.pid}.png`); // the chroot sees models/ only
      const out = path.join(repoRoot, 'models', rel);
      mkdirSync(path.dirname(out), { recursive: true }); // models/.work is git-ignored: absent in a fresh clone
      try {
        const py = spawnSync(
          pytorchEnv,
          ['python', '-m', 'tessera_models.reference_loop', 'render', prompt, '--seed', '3', '--out', rel],
          { cwd: path.join(repoRoot, 'models'), encoding: 'utf8', timeout: 170_000 },
        );
        expect(py.status, py.stderr).toBe(0);
        const ours = await engine.render(
          {
            prompts: [{ kind: 'text', text: prompt, weight: 1 }],
            seed: 3,
            width: 64,
            height: 64,
            steps: engine.manifest.defaults.steps,
          },
          {},
        );
        const a = await sharp(out).removeAlpha().raw().toBuffer();
        const b = await sharp(ours.png).removeAlpha().raw().toBuffer();
        let maxDiff = 0;
        for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
        expect(b.length).toBe(a.length);
        expect(maxDiff).toBeLessThanOrEqual(2); // onnxruntime 1.21 (Python) vs 1.30 (Node): bit-identical so far
      } finally {
        rmSync(out, { force: true });
      }
    },
  );
});
