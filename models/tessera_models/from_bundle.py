"""Recover the tiny-shapes PyTorch modules from a bundle's own ONNX graphs.

The training checkpoints (models/.work) are not kept; the bundle's decoder, encoder, text and
image graphs hold every weight as an initializer. `load_tiny(bundle)` fills a batchnorm-folded
TinyVQGAN and a TinyCLIP from them and `check_tiny(...)` verifies that the modules reproduce the
graphs' outputs (the step graph can then be re-exported with a new loss:
`python -m tessera_models.export_tiny --from-bundle tiny-shapes`).
"""
from __future__ import annotations

import json
import os
import re

import numpy as np
import torch

from . import world
from .tiny_clip import INPUT, TinyCLIP
from .tiny_vqgan import TinyVQGAN, fold_batchnorm


def _initializers(path: str) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    return {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}


def _text_matmuls(inits: dict[str, np.ndarray], layers: int) -> dict[str, np.ndarray]:
    """The text tower's Linear weights without bias names: the exporter stored them transposed
    as anonymous `onnx::MatMul_<k>` initializers, in module order (qkv, proj, mlp.0, mlp.2 per
    block)."""
    anon = sorted((int(re.sub(r"\D", "", n.split("_")[-1])), n) for n in inits if n.startswith("onnx::MatMul_"))
    names = [f"clip.text.blocks.{b}.{p}.weight" for b in range(layers) for p in ("qkv", "proj", "mlp.0", "mlp.2")]
    if len(anon) != len(names):
        raise ValueError(f"from_bundle: expected {len(names)} text matmul weights, found {len(anon)}")
    return {name: inits[a].T.copy() for name, (_, a) in zip(names, anon)}


def image_file(bundle: str, reference: bool = False) -> str:
    """The image tower's graph: image.onnx, or with `reference` the one inside the reference step
    (graphs.imageReference, when the bundle has one)."""
    with open(os.path.join(bundle, "manifest.json")) as f:
        graphs = json.load(f)["graphs"]
    g = graphs.get("imageReference") if reference else None
    return os.path.join(bundle, (g or graphs["image"])["file"])


def load_tiny(bundle: str, reference: bool = False) -> tuple[TinyVQGAN, TinyCLIP]:
    """The modules behind the bundle's graphs; `reference`: the CLIP of the reference step."""
    with open(os.path.join(bundle, "manifest.json")) as f:
        lat = json.load(f)["latent"]
    vq = fold_batchnorm(TinyVQGAN(int(lat["downsample"]), int(lat["channels"])).eval()).requires_grad_(False)
    clip = TinyCLIP(len(world.VOCAB), world.CONTEXT).eval().requires_grad_(False)
    sd_vq = {}
    for g in ("decoder", "encoder"):
        for k, v in _initializers(os.path.join(bundle, f"{g}.onnx")).items():
            if k.startswith("vq."):
                sd_vq[k[3:]] = torch.from_numpy(v.copy())
    missing = set(vq.state_dict()) - set(sd_vq)
    if missing:
        raise ValueError(f"from_bundle: the VQGAN graphs lack {sorted(missing)}")
    vq.load_state_dict(sd_vq)
    sd_clip = {}
    text = _initializers(os.path.join(bundle, "text.onnx"))
    text.update(_text_matmuls(text, len(clip.text.blocks)))
    for src in (text, _initializers(image_file(bundle, reference))):
        for k, v in src.items():
            if k.startswith("clip."):
                sd_clip[k[5:]] = torch.from_numpy(np.array(v))
    sd_clip["logit_scale"] = clip.logit_scale.detach().clone()
    clip.load_state_dict(sd_clip)
    return vq, clip


def check_tiny(bundle: str, vq: TinyVQGAN, clip: TinyCLIP, seed: int = 0,
               reference: bool = False) -> dict[str, float]:
    """Largest absolute difference between each graph and the recovered module (`reference`:
    the image tower of the reference step)."""
    import onnxruntime as ort

    from .tiny_clip import ImageGraph, TextGraph
    from .tiny_vqgan import DecoderGraph, EncoderGraph

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    g = torch.Generator().manual_seed(seed)
    size = world.SIZE
    h = size // vq.ds
    z = (torch.rand(1, vq.channels, h, h, generator=g) * 2 - 1) * 3
    img = torch.rand(1, 3, size, size, generator=g)
    pix = torch.rand(3, 3, INPUT, INPUT, generator=g)
    tokens = torch.tensor([world.tokenize("a red circle on a blue background"), world.tokenize("square")])
    cases = {
        "decoder": (DecoderGraph(vq), {"z": z}),
        "encoder": (EncoderGraph(vq), {"image": img}),
        "image": (ImageGraph(clip), {"pixels": pix}),
        "text": (TextGraph(clip), {"tokens": tokens}),
    }
    out = {}
    for name, (mod, feeds) in cases.items():
        path = image_file(bundle, reference) if name == "image" else os.path.join(bundle, f"{name}.onnx")
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        got = sess.run(None, {k: v.numpy() for k, v in feeds.items()})[0]
        with torch.no_grad():
            want = mod(*feeds.values()).numpy()
        out[name] = float(np.abs(got - want).max())
    return out
