"""--fp16 export: valid ONNX with a float32 interface whose results stay close to float32.

Small configs of the real structure (the conversion does not depend on sizes). onnxruntime's CPU
provider runs float16 graphs by casting around the kernels it lacks, so this checks the graph's
validity and float16 weight rounding, not GPU float16 arithmetic.

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
            for g in man["graphs"].values():
                m = onnx.load(os.path.join(tmp, g["file"]))
                onnx.checker.check_model(m, full_check=True)
                kinds = {i.data_type for i in m.graph.initializer}
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


if __name__ == "__main__":
    unittest.main()
