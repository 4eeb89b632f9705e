"""--fp16 export: valid ONNX with a float32 interface whose results stay close to float32.

Small configs of the real structure (the conversion does not depend on sizes). onnxruntime's CPU
provider runs float16 graphs by casting around the kernels it lacks, so this checks the graph's
validity and float16 weight rounding, not GPU float16 arithmetic. That arithmetic is why the
norms' reductions and squares must stay float32 and the step's loss is scaled (REAL_MODELS.md:
on WebGPU a float16 ReduceMean over a group norm's 65 536 values overflowed to inf); the
structure of both is checked here.

Run from the repository's parent folder:
    cd .. && shared/tools/pytorch-env python -m unittest discover -s main/models/tests -p 'test_real_fp16.py' -v
"""
import os
import shutil
import sys
import tempfile
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from tessera_models import export_real as er  # noqa: E402
from tessera_models import synthetic_checkpoints as sc  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.environ.get("TESSERA_SHARED_DIR", os.path.join(REPO, "..", "shared"))
VOCAB = os.path.join(SHARED, "data", "clip", "bpe_simple_vocab_16e6.txt.gz")


@unittest.skipUnless(os.path.isfile(VOCAB), f"CLIP vocabulary not found at {VOCAB}")
class Fp16ExportTest(unittest.TestCase):
    def test_fp16_bundle(self):
        import onnx
        import onnxruntime as ort

        work = os.path.join(REPO, "models", ".work")
        os.makedirs(work, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix="fp16-", dir=work)
        try:
            vq, clip = sc.random_vqgan(sc.SMALL_VQGAN, 5), sc.random_clip(sc.SMALL_CLIP, 6)
            man = er.export_bundle(vq, clip, tmp, VOCAB, "fp16", fp16=True)
            self.assertEqual(man["precision"], "float16")
            self.assertEqual(man["fp16LossScale"], er.FP16_LOSS_SCALE)
            self._assert_statistics_in_float32(onnx.load(os.path.join(tmp, "step.onnx")))
            for g in man["graphs"].values():
                m = onnx.load(os.path.join(tmp, g["file"]))
                onnx.checker.check_model(m, full_check=True)
                # float16 weights; the one float32 initializer is the loss scale's inverse
                kinds = {i.data_type for i in m.graph.initializer
                         if not i.name.startswith("unscale_")}
                self.assertNotIn(onnx.TensorProto.FLOAT, kinds, g["file"])
            sess = ort.InferenceSession(os.path.join(tmp, "step.onnx"),
                                        providers=["CPUExecutionProvider"])
            self.assertEqual({i.type for i in sess.get_inputs()}, {"tensor(float)"})
            g = torch.Generator().manual_seed(0)
            emb = vq.quantize.embedding.weight.detach()
            z = emb[torch.randint(0, emb.shape[0], (12 * 8,), generator=g)].t().reshape(
                1, -1, 8, 12).contiguous()
            t = torch.nn.functional.normalize(torch.randn(2, 64, generator=g), dim=-1)
            x = (z, t, torch.tensor([1.0, -0.3]), torch.tensor([-1.0, -1.0]),
                 torch.tensor([[0.0, 0.0, 128.0, 0.0], [40.0, 10.0, 100.0, 1.0]]))
            loss, grad, image = sess.run(None, {n: v.numpy() for n, v in zip(er.STEP_INPUTS, x)})
            self.assertEqual(loss.dtype, np.float32)
            zr = z.clone().requires_grad_(True)
            loss_ref, img_ref = er.make_step_loss(vq, clip, False)(zr, *x[1:])
            (grad_ref,) = torch.autograd.grad(loss_ref, zr)
            grad_ref = grad_ref.numpy()
            rel = abs(float(loss) - float(loss_ref)) / abs(float(loss_ref))
            cos = float((grad * grad_ref).sum() / np.linalg.norm(grad) / np.linalg.norm(grad_ref))
            print(f"\nfp16 step: loss rel err {rel:.1e}, grad cosine {cos:.4f}, image max abs "
                  f"err {np.abs(image - img_ref.detach().numpy()).max():.1e}", file=sys.stderr)
            self.assertLess(rel, 2e-2)
            self.assertGreater(cos, 0.98)
            self.assertLess(np.abs(image - img_ref.detach().numpy()).max(), 0.1)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _assert_statistics_in_float32(self, model):
        import onnx

        inferred = onnx.shape_inference.infer_shapes(model)
        types = {v.name: v.type.tensor_type.elem_type for v in
                 list(inferred.graph.value_info) + list(inferred.graph.input)}
        F32, F16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16
        checked = 0
        for node in inferred.graph.node:
            square = node.op_type == "Mul" and node.input[0] == node.input[1]
            if node.op_type in er._FP32_ACCUMULATE_OPS or square:
                t = types.get(node.input[0])
                if t in (F32, F16):
                    self.assertEqual(t, F32, f"{node.op_type} {node.name} reads float16")
                    checked += 1
        self.assertGreater(checked, 20)   # group norms, layer norms and their backward passes
        outs = {n.output[0]: n for n in inferred.graph.node}
        for name in ("loss", "grad"):
            self.assertEqual(outs[name].op_type, "Mul", f"{name} is not unscaled")


if __name__ == "__main__":
    unittest.main()
