"""Checkpoint names, formats and the errors for wrong or damaged checkpoints.

Run from the repository's parent folder:
    cd .. && shared/tools/pytorch-env python -m unittest discover -s main/models/tests -p 'test_real_*.py' -v
"""
import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from tessera_models import export_real as er  # noqa: E402
from tessera_models import synthetic_checkpoints as sc  # noqa: E402
from tessera_models.openai_clip import CLIP, CLIPConfig  # noqa: E402
from tessera_models.taming_vqgan import VQGANConfig, VQModel  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.environ.get("TESSERA_SHARED_DIR", os.path.join(REPO, "..", "shared"))
KEYS = os.path.join(SHARED, "data", "models", "public_checkpoint_keys.json")


class PublicNamesTest(unittest.TestCase):
    @unittest.skipUnless(os.path.isfile(KEYS), f"{KEYS} not found (set TESSERA_SHARED_DIR or "
                         "run from the repository's parent folder)")
    def test_modules_have_exactly_the_public_names_and_shapes(self):
        with open(KEYS) as f:
            public = json.load(f)
        for name, model in [("vqgan_imagenet_f16_16384", VQModel()), ("clip_vit_b32", CLIP())]:
            ours = {k: list(v.shape) for k, v in model.state_dict().items()}
            self.assertEqual(ours, public[name], name)
        self.assertEqual(len(public["vqgan_imagenet_f16_16384"]), 343)
        self.assertEqual(len(public["clip_vit_b32"]), 302)
        # the sizes inferred from a ViT-B/32 state dict are ViT-B/32's
        sd = {k: torch.empty(v) for k, v in public["clip_vit_b32"].items()}
        self.assertEqual(CLIPConfig.from_state_dict(sd), CLIPConfig())

    def test_yaml_config(self):
        import yaml
        cfg = VQGANConfig.from_yaml_dict(yaml.safe_load(sc.model_yaml()))
        self.assertEqual(cfg, VQGANConfig())
        self.assertEqual(cfg.downsample, 16)


class CheckpointFilesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_roundtrip_in_public_formats(self):
        vq = sc.random_vqgan(sc.SMALL_VQGAN, seed=3)
        ckpt, yml = sc.write_vqgan_checkpoint(os.path.join(self.dir, "vq"), sc.SMALL_VQGAN,
                                              model=vq)
        raw = torch.load(ckpt, map_location="cpu")
        self.assertIn("state_dict", raw)
        self.assertTrue(any(k.startswith("loss.") for k in raw["state_dict"]))
        back = er.load_vqgan(ckpt, yml)
        for k, v in vq.state_dict().items():
            self.assertTrue(torch.equal(back.state_dict()[k], v), k)
        clip = sc.random_clip(sc.SMALL_CLIP, seed=4)
        for fmt in ("torchscript", "state_dict"):
            path = sc.write_clip_checkpoint(os.path.join(self.dir, f"clip-{fmt}.pt"),
                                            sc.SMALL_CLIP, fmt=fmt, model=clip)
            if fmt == "torchscript":
                sd = torch.jit.load(path).state_dict()
                self.assertIn("input_resolution", sd)
                self.assertEqual(sd["visual.conv1.weight"].dtype, torch.float16)
            got = er.load_clip(path)
            self.assertEqual(got.cfg, sc.SMALL_CLIP)
            for k, v in clip.state_dict().items():
                w = got.state_dict()[k]
                self.assertEqual(w.dtype, torch.float32, k)
                # fp16-stored weights come back rounded, the rest exactly
                torch.testing.assert_close(w, v, rtol=1e-3, atol=1e-3, msg=k)

    def test_truncated_file(self):
        ckpt, yml = sc.write_vqgan_checkpoint(os.path.join(self.dir, "vq"), sc.SMALL_VQGAN)
        with open(ckpt, "rb") as f:
            data = f.read()
        with open(ckpt, "wb") as f:
            f.write(data[: len(data) // 2])
        with self.assertRaises(er.CheckpointError) as cm:
            er.load_vqgan(ckpt, yml)
        self.assertIn("truncated", str(cm.exception))
        self.assertIn(ckpt, str(cm.exception))
        clip = sc.write_clip_checkpoint(os.path.join(self.dir, "c.pt"), sc.SMALL_CLIP)
        with open(clip, "rb") as f:
            data = f.read()
        with open(clip, "wb") as f:
            f.write(data[: len(data) - 4096])
        with self.assertRaises(er.CheckpointError) as cm:
            er.load_clip(clip)
        self.assertIn("truncated", str(cm.exception))

    def test_missing_and_misshaped_tensors_are_named(self):
        vq = sc.random_vqgan(sc.SMALL_VQGAN)
        sd = dict(vq.state_dict())
        del sd["decoder.up.3.block.0.conv1.weight"]
        del sd["post_quant_conv.bias"]
        sd["quantize.embedding.weight"] = torch.zeros(1024, 32)
        path = os.path.join(self.dir, "bad.ckpt")
        torch.save({"state_dict": sd}, path)
        yml = os.path.join(self.dir, "model.yaml")
        with open(yml, "w") as f:
            f.write(sc.model_yaml(sc.SMALL_VQGAN))
        with self.assertRaises(er.CheckpointError) as cm:
            er.load_vqgan(path, yml)
        msg = str(cm.exception)
        self.assertIn("2 of", msg)
        self.assertIn("decoder.up.3.block.0.conv1.weight", msg)
        self.assertIn("post_quant_conv.bias", msg)
        self.assertIn("quantize.embedding.weight is [1024, 32], expected [512, 32]", msg)
        self.assertEqual(sorted(cm.exception.missing),
                         ["decoder.up.3.block.0.conv1.weight", "post_quant_conv.bias"])
        self.assertEqual(cm.exception.misshaped, ["quantize.embedding.weight"])

        csd = dict(sc.random_clip(sc.SMALL_CLIP).state_dict())
        del csd["visual.transformer.resblocks.1.mlp.c_fc.bias"]
        csd["transformer.resblocks.0.attn.in_proj_weight"] = torch.zeros(10, 10)
        cpath = os.path.join(self.dir, "bad-clip.pt")
        torch.save(csd, cpath)
        with self.assertRaises(er.CheckpointError) as cm:
            er.load_clip(cpath)
        msg = str(cm.exception)
        self.assertIn("visual.transformer.resblocks.1.mlp.c_fc.bias", msg)
        self.assertIn("transformer.resblocks.0.attn.in_proj_weight is [10, 10], expected "
                      "[384, 128]", msg)

    def test_swapped_checkpoints(self):
        ckpt, yml = sc.write_vqgan_checkpoint(os.path.join(self.dir, "vq"), sc.SMALL_VQGAN)
        clip = sc.write_clip_checkpoint(os.path.join(self.dir, "c.pt"), sc.SMALL_CLIP)
        with self.assertRaises(er.CheckpointError) as cm:
            er.load_clip(ckpt)
        self.assertIn("visual.proj", str(cm.exception))
        with self.assertRaises(er.CheckpointError) as cm:
            er.load_vqgan(clip, yml)
        self.assertIn("TorchScript archive", str(cm.exception))
        self.assertIn("swapped", str(cm.exception))

    def test_pickled_objects_need_explicit_trust(self):
        vq = sc.random_vqgan(sc.SMALL_VQGAN)
        path = os.path.join(self.dir, "pickled.ckpt")
        torch.save({"state_dict": vq.state_dict(), "hparams": argparse.Namespace(lr=1)}, path)
        yml = os.path.join(self.dir, "model.yaml")
        with open(yml, "w") as f:
            f.write(sc.model_yaml(sc.SMALL_VQGAN))
        with self.assertRaises(er.CheckpointError) as cm:
            er.load_vqgan(path, yml)
        self.assertIn("--unsafe-pickle", str(cm.exception))
        er.load_vqgan(path, yml, unsafe_pickle=True)

    def test_cli_reports_errors_without_a_traceback(self):
        ckpt, yml = sc.write_vqgan_checkpoint(os.path.join(self.dir, "vq"), sc.SMALL_VQGAN)
        with open(ckpt, "r+b") as f:
            f.truncate(1000)
        vocab = os.path.join(SHARED, "data", "clip", "bpe_simple_vocab_16e6.txt.gz")
        if not os.path.isfile(vocab):
            self.skipTest(f"{vocab} not found")
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = er.main(["--vqgan-ckpt", ckpt, "--vqgan-config", yml, "--clip", ckpt,
                          "--vocab", vocab, "--out", os.path.join(self.dir, "out"), "--quiet"])
        self.assertEqual(rc, 2)
        self.assertIn("truncated", err.getvalue())
        self.assertNotIn("Traceback", err.getvalue())
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = er.main(["--vqgan-ckpt", ckpt, "--clip", ckpt, "--vocab", ckpt,
                          "--out", os.path.join(self.dir, "out"), "--quiet"])
        self.assertEqual(rc, 2)
        self.assertIn("bpe_simple_vocab", err.getvalue())


if __name__ == "__main__":
    unittest.main()
