/**
 * The engine against models/tessera_models/reference_loop.py (the same BUNDLE.md loop in Python,
 * on onnxruntime's Python CPU provider): same prompt and seed ⇒ the same pixels. Needs the
 * PyTorch environment at ../shared/tools/pytorch-env (a development machine); skipped, with the
 * reason, where `pytorch-env ready` fails (absent or never set up).
 */
import { spawnSync } from 'node:child_process';
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
