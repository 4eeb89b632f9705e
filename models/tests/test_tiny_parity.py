"""The committed tiny-shapes bundle against PyTorch: the exported step graph's loss and dloss/dz
equal torch autograd (1e-4 relative) at several prompt and cutout counts; decoder, encoder, text
and image graphs equal their modules; the manifest's hashes match the files.

The PyTorch side needs the training checkpoints (models/.work/vqgan.pt, clip.pt) that produced
the bundle; without them the graph-vs-torch checks are skipped and only self-consistency runs
(the step graph's image equals the decoder graph, hashes, tokenizer).
Run: pytorch-env python -m unittest discover -s models/tests -p 'test_tiny_*.py'
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import unittest

import onnxruntime as ort  # before torch: importing onnx first spams schema warnings
import numpy as np

MODELS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, MODELS)
BUNDLE = os.path.join(MODELS, "tiny-shapes")
WORK = os.path.join(MODELS, ".work")

import torch  # noqa: E402

from tessera_models import world  # noqa: E402
from tessera_models.export_tiny import STEP_INPUTS, example_inputs, load_clip, load_vqgan, make_step_fn  # noqa: E402
from tessera_models.tiny_vqgan import DecoderGraph, EncoderGraph  # noqa: E402

HAVE_CKPT = os.path.exists(os.path.join(WORK, "vqgan.pt")) and os.path.exists(os.path.join(WORK, "clip.pt"))


def sess(name: str) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.log_severity_level = 3
    m = json.load(open(os.path.join(BUNDLE, "manifest.json")))
    return ort.InferenceSession(os.path.join(BUNDLE, m["graphs"][name]["file"]), so, providers=["CPUExecutionProvider"])


def checkpoints_match_bundle() -> bool:
    """The checkpoints in .work/ are the ones exported (decoder graph equals the module)."""
    if not HAVE_CKPT:
        return False
    vq = load_vqgan(os.path.join(WORK, "vqgan.pt"))
    z = example_inputs()[0]
    with torch.no_grad():
        ref = DecoderGraph(vq)(z).numpy()
    out = sess("decoder").run(None, {"z": z.numpy()})[0]
    return float(np.abs(out - ref).max()) < 1e-4


MATCH = checkpoints_match_bundle()


class BundleFiles(unittest.TestCase):
    def test_manifest_hashes_and_names(self):
        m = json.load(open(os.path.join(BUNDLE, "manifest.json")))
        self.assertEqual(m["v"], 1)
        for name in ["step", "decoder", "encoder", "text", "image"]:
            g = m["graphs"][name]
            with open(os.path.join(BUNDLE, g["file"]), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), g["sha256"], name)
        s = sess("step")
        self.assertEqual([i.name for i in s.get_inputs()], STEP_INPUTS)
        self.assertEqual([o.name for o in s.get_outputs()], ["loss", "grad", "image"])
        vocab = json.load(open(os.path.join(BUNDLE, "vocab.json")))["tokens"]
        self.assertEqual(vocab[:3], ["<pad>", "<sot>", "<eot>"])
        self.assertEqual(world.tokenize("A red circle, on a BLUE background", vocab)[:9],
                         [1, vocab.index("a"), vocab.index("red"), vocab.index("circle"), vocab.index("on"),
                          vocab.index("a"), vocab.index("blue"), vocab.index("background"), 2])
        with self.assertRaises(ValueError):
            world.tokenize("a red banana", vocab)

    def test_step_image_equals_decoder(self):
        inp = example_inputs(2, 4, seed=3)
        out = sess("step").run(None, dict(zip(STEP_INPUTS, [x.numpy() for x in inp])))
        dec = sess("decoder").run(None, {"z": inp[0].numpy()})[0]
        np.testing.assert_allclose(out[2], dec, atol=1e-5)
        self.assertEqual(out[2].shape, (1, 3, 64, 64))
        self.assertTrue(out[2].min() >= 0 and out[2].max() <= 1)


@unittest.skipUnless(MATCH, "training checkpoints for this bundle are not in models/.work/")
class StepParity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vq = load_vqgan(os.path.join(WORK, "vqgan.pt"))
        cls.clip = load_clip(os.path.join(WORK, "clip.pt"))
        cls.fn = staticmethod(make_step_fn(cls.vq, cls.clip))
        cls.step = sess("step")

    def check(self, p, n, seed, stop=None):
        inp = example_inputs(p, n, seed=seed)
        if stop is not None:
            inp[3] = torch.full((p,), stop)
        out = self.step.run(None, dict(zip(STEP_INPUTS, [x.numpy() for x in inp])))
        z = inp[0].clone().requires_grad_(True)
        loss, img = self.fn(z, *inp[1:])
        g, = torch.autograd.grad(loss, z)
        self.assertLess(abs(float(out[0]) - loss.item()), 1e-4 * max(1.0, abs(loss.item())))
        err = float(np.abs(out[1] - g.numpy()).max() / max(np.abs(g.numpy()).max(), 1e-12))
        self.assertLess(err, 1e-4, f"grad rel err P={p} N={n}")
        self.assertGreater(float(np.abs(g.numpy()).max()), 0.0)
        np.testing.assert_allclose(out[2], img.detach().numpy(), atol=1e-5)

    def test_counts(self):
        for p, n, seed in [(1, 8, 1), (2, 4, 2), (3, 16, 3), (1, 1, 4), (5, 7, 5), (1, 32, 6)]:
            with self.subTest(p=p, n=n):
                self.check(p, n, seed)

    def test_stop_zeroes_gradient(self):
        inp = example_inputs(1, 4, seed=9)
        inp[3] = torch.full((1,), 10.0)  # every distance is below the stop
        out = self.step.run(None, dict(zip(STEP_INPUTS, [x.numpy() for x in inp])))
        self.assertEqual(float(np.abs(out[1]).max()), 0.0)
        self.assertGreater(float(out[0]), 0.0)
        self.check(2, 4, 10, stop=0.5)


@unittest.skipUnless(MATCH, "training checkpoints for this bundle are not in models/.work/")
class OtherGraphs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vq = load_vqgan(os.path.join(WORK, "vqgan.pt"))
        cls.clip = load_clip(os.path.join(WORK, "clip.pt"))

    def test_decoder_encoder(self):
        imgs, _ = world.make_pool(2, 5)
        x = torch.from_numpy(imgs[:1]).permute(0, 3, 1, 2).float() / 255
        with torch.no_grad():
            z = EncoderGraph(self.vq)(x)
            ref_img = DecoderGraph(self.vq)(z)
        np.testing.assert_allclose(sess("encoder").run(None, {"image": x.numpy()})[0], z.numpy(), atol=1e-4)
        np.testing.assert_allclose(sess("decoder").run(None, {"z": z.numpy()})[0], ref_img.numpy(), atol=1e-4)

    def test_text_and_image(self):
        tokens = np.array([world.tokenize(t) for t in ["a red circle on a blue background", "purple square",
                                                        "a small green square in the top left corner on a black background"]])
        with torch.no_grad():
            ref = self.clip.embed_text(torch.from_numpy(tokens)).numpy()
            pix = torch.rand(5, 3, 32, 32, generator=torch.Generator().manual_seed(0))
            refi = self.clip.embed_image(pix).numpy()
        np.testing.assert_allclose(sess("text").run(None, {"tokens": tokens})[0], ref, atol=1e-4)
        np.testing.assert_allclose(sess("image").run(None, {"pixels": pix.numpy()})[0], refi, atol=1e-4)


if __name__ == "__main__":
    unittest.main()
