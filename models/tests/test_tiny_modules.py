"""The tiny model's building blocks: the CLIP's conv-backed Linear computes what nn.Linear does,
a VQGAN checkpoint comes back with the architecture it was trained with (downsample 8 or 16),
BatchNorm folding is exact, and the export's example latent has the committed bundle's shape.
Run: pytorch-env python -m unittest discover -s models/tests -p 'test_tiny_*.py'
"""
from __future__ import annotations

import json
import os
import sys
import unittest

import onnxruntime  # noqa: F401  (before torch/onnx: avoids duplicate schema registration noise)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from tessera_models.export_tiny import example_inputs  # noqa: E402
from tessera_models.tiny_clip import Linear  # noqa: E402
from tessera_models.tiny_vqgan import TinyVQGAN, fold_batchnorm  # noqa: E402

BUNDLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tiny-shapes")


class ClipLinear(unittest.TestCase):
    def test_training_mode_equals_plain_linear(self):
        torch.manual_seed(0)
        lin = Linear(16, 24)
        x = torch.randn(3, 5, 16, requires_grad=True)
        lin.train()
        y_train = lin(x)
        g_train, = torch.autograd.grad(y_train.square().sum(), x)
        lin.eval()
        y_eval = lin(x)
        g_eval, = torch.autograd.grad(y_eval.square().sum(), x)
        self.assertEqual(tuple(y_train.shape), (3, 5, 24))
        torch.testing.assert_close(y_train, y_eval, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(g_train, g_eval, rtol=1e-5, atol=1e-5)


class VqganArchitectures(unittest.TestCase):
    def test_checkpoint_round_trip_and_latent_shapes(self):
        x = torch.rand(2, 3, 64, 64)
        for ds, shape in [(8, (2, 4, 8, 8)), (16, (2, 8, 4, 4))]:
            with self.subTest(ds=ds):
                torch.manual_seed(ds)
                vq = TinyVQGAN(ds).eval()
                again = TinyVQGAN.from_state_dict(vq.state_dict()).eval()
                self.assertEqual((again.ds, again.channels), (ds, shape[1]))
                self.assertEqual(tuple(again.encoder(x).shape), shape)
                with torch.no_grad():
                    ref = vq(x)
                    torch.testing.assert_close(again(x), ref)
                    torch.testing.assert_close(fold_batchnorm(again)(x), ref, rtol=1e-4, atol=1e-5)

    def test_example_latent_has_the_bundle_shape(self):
        with open(os.path.join(BUNDLE, "manifest.json")) as f:
            lat = json.load(f)["latent"]
        z = example_inputs()[0]
        h = 64 // lat["downsample"]
        self.assertEqual(tuple(z.shape), (1, lat["channels"], h, h))


if __name__ == "__main__":
    unittest.main()
