/**
 * What augments cost per step of the reference loop: the engine's loop ms/step on a bundle for
 * several augment sets (renders interleaved, so that a busy machine spreads over all of them), and
 * the host's draws alone (drawReferenceStep) at the bundle's CLIP side and at 224 (ViT-B/32).
 *
 *     nice node --import tsx renderer/scripts/augment-cost.ts [--renders 4] [--steps 40] [--cutn 8] \
 *       [--sets 'Af,Pe,Ji,Er;Af,Pe,Ji,Er,Et;Af,Pe,Ji,Er,Ts;Af,Pe,Ji,Er,Et,Ts'] [--models-dir D --model M]
 */
import { parseArgs } from 'node:util';
import { type Augment, parseAugments } from '../../shared/src/loop-options.js';
import { silentLogger } from '../../shared/src/logger.js';
import { modelsDir } from '../../test/quality/fixtures.js';
import { drawReferenceStep } from '../src/engine/augment-draws.js';
import { createOnnxEngine } from '../src/engine/onnx-engine.js';
import { neutralEtts } from '../src/engine/etts-draws.js';
import { Mulberry32 } from '../src/engine/rng.js';

const { values } = parseArgs({
  options: {
    renders: { type: 'string', default: '4' },
    steps: { type: 'string', default: '40' },
    cutn: { type: 'string', default: '8' },
    sets: { type: 'string', default: 'Af,Pe,Ji,Er;Af,Pe,Ji,Er,Et;Af,Pe,Ji,Er,Ts;Af,Pe,Ji,Er,Et,Ts' },
    'models-dir': { type: 'string', default: modelsDir },
    model: { type: 'string', default: 'tiny-shapes' },
  },
});
const sets = values.sets.split(';').map((s) => parseAugments(s) as Augment[]); // 'none': no augments
const cutn = Number(values.cutn);
const steps = Number(values.steps);

const engine = await createOnnxEngine({
  modelsDir: values['models-dir'],
  model: values.model,
  ep: 'cpu',
  log: silentLogger(),
});
const [width, height] = engine.manifest.image.defaultSize;
const S = engine.manifest.clip.inputSize;
const seconds = sets.map(() => 0);
for (let r = -1; r < Number(values.renders); r++) {
  for (const [i, augments] of sets.entries()) {
    let rate = 0;
    const out = await engine.render(
      {
        prompts: [{ kind: 'text', text: 'a red circle on a blue background', weight: 1 }],
        seed: 100 + r,
        width,
        height,
        steps,
        cutn,
        loop: 'reference',
        augments,
      },
      { onProgress: (p) => (rate = p.itPerSec) },
    );
    if (r >= 0) seconds[i]! += out.steps / rate; // r = −1: warm-up
  }
}
await engine.close();

const hostMs = (side: number, n: number, augments: Augment[], reps: number): number => {
  const o = {
    width: side,
    height: side,
    S: side,
    cutn: n,
    cutPow: 1,
    cutMethod: 'latest' as const,
    augments,
  };
  const rng = new Mulberry32(1);
  const ettsNeutral = neutralEtts(n, side); // once per render, as runRender makes it
  drawReferenceStep(rng, { ...o, ettsNeutral });
  const t = performance.now();
  for (let k = 0; k < reps; k++) drawReferenceStep(rng, { ...o, ettsNeutral });
  return (performance.now() - t) / reps;
};
const total = Number(values.renders) * steps;
for (const [i, augments] of sets.entries()) {
  const ms = (1000 * seconds[i]!) / total;
  const host = [hostMs(S, cutn, augments, 50), hostMs(224, 32, augments, 5)];
  console.log(
    `${(augments.join(',') || 'none').padEnd(20)} engine ${ms.toFixed(2)} ms/step (${values.model} ${width}x${height}, cutn ${cutn}); ` +
      `host draws ${host[0]!.toFixed(2)} ms at S ${S} cutn ${cutn}, ${host[1]!.toFixed(1)} ms at S 224 cutn 32`,
  );
}
