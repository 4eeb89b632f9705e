"""Export the trained tiny-shapes model to a tessera bundle (models/BUNDLE.md).

    pytorch-env python -m tessera_models.export_tiny [--out tiny-shapes] [--vqgan .work/vqgan.pt] [--clip .work/clip.pt]

(run from models/). Writes step.onnx (loss, dloss/dz and the image, traced with
export_grad.py), decoder/encoder/text/image graphs, vocab.json and manifest.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os

import torch

from . import world
from .tiny_export_util import export_grad_graph_dynamic
from .tiny_clip import EMBED, INPUT, ImageGraph, TextGraph, TinyCLIP, guide_loss, make_cutouts, spherical_dist
from .tiny_vqgan import DOWNSAMPLE, HALF, LATENT_CHANNELS, DecoderGraph, EncoderGraph, TinyVQGAN, fold_batchnorm

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # models/
OPSET = 17

DEFAULTS = {"steps": 200, "cutn": 8, "cutPow": 1.0, "cutMin": 0.75, "lr": 0.25, "frameEvery": 10, "noise": 0.05}


def load_vqgan(path: str) -> TinyVQGAN:
    vq = TinyVQGAN.from_state_dict(torch.load(path, map_location="cpu"))
    return fold_batchnorm(vq.eval()).requires_grad_(False)


def load_clip(path: str) -> TinyCLIP:
    clip = TinyCLIP(len(world.VOCAB), world.CONTEXT)
    sd = torch.load(path, map_location="cpu")
    # early checkpoints stored the 4x4 dense layers as Linear; same numbers as the convs
    if sd["image.fc1.weight"].dim() == 2:
        sd["image.fc1.weight"] = sd["image.fc1.weight"].reshape(256, 128, 4, 4)
        sd["image.fc2.weight"] = sd["image.fc2.weight"][:, :, None, None]
    clip.load_state_dict(sd)
    return clip.eval().requires_grad_(False)


def make_step_fn(vq: TinyVQGAN, clip: TinyCLIP):
    """The step graph's function: (z, targets, weights, stops, cuts, noise, eps) -> (loss, image)."""
    def step(z, targets, weights, stops, cuts, noise, eps):
        img = vq.decode01(z)
        c = make_cutouts(img, cuts, INPUT) + noise * eps
        e = clip.embed_image(c)
        loss = guide_loss(spherical_dist(e, targets), weights, stops)
        return loss, img
    return step


def make_step_fn_v2(vq: TinyVQGAN, clip: TinyCLIP):
    """Step interface 2 (refloop.py): generate.py's loss with every draw as an input."""
    from .refloop import make_step_v2
    from .tiny_vqgan import fsq
    return make_step_v2(lambda z: vq.decoder(fsq(z)), clip.embed_image, INPUT)


def example_inputs_v2(p: int = 2, n: int = 4, seed: int = 0, ds: int | None = None, channels: int | None = None,
                      size: int = world.SIZE):
    """Step-interface-2 inputs with every augmentation active (random, fixed draws), for a
    size×size image (the bundle's 64 unless asked; a multiple of the CLIP input, 32)."""
    from .reference_gen import random_draws
    from .refloop import STEP2_INPUTS
    z, t, w, stops = example_inputs(p, n, seed, ds, channels, size)[:4]
    d = random_draws(n, INPUT, size, "WJSGELT", "latest", seed)
    d["pool"] = torch.tensor([0.5])
    return [z, t, w, stops] + [d[k] for k in STEP2_INPUTS[4:]]


STEP2_DYNAMIC = {"targets": {0: "P"}, "weights": {0: "P"}, "stops": {0: "P"}, "cuts": {0: "N"},
                 "warps": {1: "N"}, "jitter": {0: "N"}, "sharp": {0: "N"}, "gnoise": {0: "N"},
                 "erase": {0: "N"}, "noise": {0: "N"}, "eps": {0: "N"},
                 "elastic": {0: "N"}, "elastic_on": {0: "N"}, "tps": {0: "N"}}


def export_step(vq: TinyVQGAN, clip: TinyCLIP, path: str, interface: int = 2, size: int = world.SIZE) -> str:
    """The step graph at a size×size image (interface 2 only; the bundle's is 64×64: the parity
    tests also export one at 128 to check a second size)."""
    if interface == 1:
        if size != world.SIZE:
            raise ValueError(f"export_step: step interface 1 is exported at {world.SIZE} only")
        return export_grad_graph_dynamic(make_step_fn(vq, clip), example_inputs(5, 7, ds=vq.ds, channels=vq.channels),
                                         STEP_INPUTS, STEP_OUTPUTS, path,
                                         dynamic_axes={"targets": {0: "P"}, "weights": {0: "P"}, "stops": {0: "P"},
                                                       "cuts": {0: "N"}, "noise": {0: "N"}, "eps": {0: "N"}},
                                         p_input="targets", n_input="cuts", opset=OPSET)
    from .refloop import STEP2_INPUTS
    if size % INPUT:
        raise ValueError(f"export_step: the pooled cutouts need a multiple of {INPUT} (got {size})")
    return export_grad_graph_dynamic(make_step_fn_v2(vq, clip),
                                     example_inputs_v2(5, 7, ds=vq.ds, channels=vq.channels, size=size),
                                     STEP2_INPUTS, STEP_OUTPUTS, path, dynamic_axes=STEP2_DYNAMIC,
                                     p_input="targets", n_input="cuts", opset=OPSET)


def bundle_latent(bundle: str = os.path.join(HERE, "tiny-shapes")) -> tuple[int, int]:
    """(downsample, channels) of the committed bundle's latent."""
    try:
        with open(os.path.join(bundle, "manifest.json")) as f:
            lat = json.load(f)["latent"]
        return int(lat["downsample"]), int(lat["channels"])
    except (OSError, KeyError, ValueError):
        return DOWNSAMPLE, LATENT_CHANNELS


def example_inputs(p: int = 2, n: int = 4, seed: int = 0, ds: int | None = None, channels: int | None = None,
                   size: int = world.SIZE):
    """Step-graph inputs; the latent has the committed bundle's shape unless ds/channels are given
    (its side: size // ds)."""
    if ds is None or channels is None:
        ds, channels = bundle_latent()
    g = torch.Generator().manual_seed(seed)
    h = size // ds
    z = (torch.rand(1, channels, h, h, generator=g) * 2 - 1) * HALF
    t = torch.nn.functional.normalize(torch.randn(p, EMBED, generator=g), dim=-1)
    w = torch.ones(p)
    if p > 1:
        w[-1] = -0.5
    stops = torch.full((p,), -1.0)
    side = torch.floor(INPUT + torch.rand(n, generator=g) * (size - INPUT))
    x0 = torch.floor(torch.rand(n, generator=g) * (size - side + 1))
    y0 = torch.floor(torch.rand(n, generator=g) * (size - side + 1))
    flip = (torch.rand(n, generator=g) < 0.5).float()
    cuts = torch.stack([x0, y0, side, flip], -1)
    noise = (torch.rand(n, generator=g) * 0.1).view(n, 1, 1, 1)
    eps = torch.randn(n, 3, INPUT, INPUT, generator=g)
    return [z, t, w, stops, cuts, noise, eps]


STEP_INPUTS = ["z", "targets", "weights", "stops", "cuts", "noise", "eps"]
STEP_OUTPUTS = ["loss", "grad", "image"]


def export_bundle(vq: TinyVQGAN, clip: TinyCLIP, out: str, description: str) -> dict:
    os.makedirs(out, exist_ok=True)
    step = make_step_fn(vq, clip)
    export_grad_graph_dynamic(step, example_inputs(5, 7, ds=vq.ds, channels=vq.channels), STEP_INPUTS, STEP_OUTPUTS, os.path.join(out, "step.onnx"),
                      dynamic_axes={"targets": {0: "P"}, "weights": {0: "P"}, "stops": {0: "P"},
                                    "cuts": {0: "N"}, "noise": {0: "N"}, "eps": {0: "N"}},
                      p_input="targets", n_input="cuts", opset=OPSET)
    z = example_inputs(ds=vq.ds, channels=vq.channels)[0]
    img = torch.rand(1, 3, world.SIZE, world.SIZE)
    torch.onnx.export(DecoderGraph(vq), (z,), os.path.join(out, "decoder.onnx"), input_names=["z"],
                      output_names=["image"], opset_version=OPSET, dynamo=False)
    torch.onnx.export(EncoderGraph(vq), (img,), os.path.join(out, "encoder.onnx"), input_names=["image"],
                      output_names=["z"], opset_version=OPSET, dynamo=False)
    tokens = torch.tensor([world.tokenize("a red circle on a blue background"), world.tokenize("square")])
    torch.onnx.export(TextGraph(clip), (tokens,), os.path.join(out, "text.onnx"), input_names=["tokens"],
                      output_names=["embedding"], dynamic_axes={"tokens": {0: "B"}, "embedding": {0: "B"}},
                      opset_version=OPSET, dynamo=False)
    torch.onnx.export(ImageGraph(clip), (torch.rand(2, 3, INPUT, INPUT),), os.path.join(out, "image.onnx"),
                      input_names=["pixels"], output_names=["embedding"],
                      dynamic_axes={"pixels": {0: "B"}, "embedding": {0: "B"}}, opset_version=OPSET, dynamo=False)
    with open(os.path.join(out, "vocab.json"), "w") as f:
        json.dump({"tokens": world.VOCAB}, f, indent=0)
        f.write("\n")
    graphs = {}
    for name in ["step", "decoder", "encoder", "text", "image"]:
        fn = f"{name}.onnx"
        with open(os.path.join(out, fn), "rb") as f:
            graphs[name] = {"file": fn, "sha256": hashlib.sha256(f.read()).hexdigest()}
    manifest = {
        "v": 1,
        "name": "tiny-shapes",
        "description": description,
        "image": {"sizes": [[world.SIZE, world.SIZE]], "defaultSize": [world.SIZE, world.SIZE]},
        "latent": {"channels": vq.channels, "downsample": vq.ds,
                   "min": [-float(HALF)] * vq.channels, "max": [float(HALF)] * vq.channels,
                   "init": {"kind": "uniform"}},
        "clip": {"inputSize": INPUT, "embedDim": EMBED},
        "tokenizer": {"kind": "words", "file": "vocab.json", "contextLength": world.CONTEXT},
        "graphs": graphs,
        "defaults": dict(DEFAULTS),
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


REFERENCE_DEFAULTS = {"cutMethod": "latest", "augments": ["Af", "Pe", "Ji", "Er"], "cutNoise": 0.1,
                      "optimiser": "Adam"}


def add_reference_step(bundle: str, clip: TinyCLIP | None = None) -> dict:
    """Recover the modules from the bundle's graphs (from_bundle.py), export the step of
    interface 2 as step-reference.onnx and list it in the manifest (graphs.stepReference,
    defaults for the reference loop under `reference`). The other graphs stay byte-identical.
    `clip`: the CLIP inside the reference step (default: the one it has now). Its text tower must
    be the bundle's (both loops' prompt targets come from text.onnx); an image tower other than
    image.onnx's is written as image-reference.onnx (graphs.imageReference), which embeds the
    reference loop's image prompts and lets the parity tests recover the step's CLIP."""
    from .from_bundle import check_tiny, load_tiny
    vq, own = load_tiny(bundle)
    diffs = check_tiny(bundle, vq, own)
    if max(diffs.values()) > 1e-4:
        raise ValueError(f"from_bundle: recovered modules differ from the graphs: {diffs}")
    if clip is None:
        clip = load_tiny(bundle, reference=True)[1]
    moved = [k for k, v in own.state_dict().items()
             if k.startswith("text.") and not torch.equal(v, clip.state_dict()[k])]
    if moved:
        raise ValueError(f"the reference step's CLIP must share the bundle's text tower; differs in {moved[:4]}")
    own_tower = all(torch.equal(v, clip.state_dict()[k]) for k, v in own.state_dict().items()
                    if k.startswith("image."))
    path = os.path.join(bundle, "manifest.json")
    with open(path) as f:
        manifest = json.load(f)
    files = {"stepReference": "step-reference.onnx"}
    export_step(vq, clip, os.path.join(bundle, files["stepReference"]), interface=2)
    if own_tower:
        manifest["graphs"].pop("imageReference", None)
        if os.path.exists(os.path.join(bundle, "image-reference.onnx")):
            os.remove(os.path.join(bundle, "image-reference.onnx"))
    else:
        files["imageReference"] = "image-reference.onnx"
        torch.onnx.export(ImageGraph(clip), (torch.rand(2, 3, INPUT, INPUT),),
                          os.path.join(bundle, files["imageReference"]), input_names=["pixels"],
                          output_names=["embedding"], dynamic_axes={"pixels": {0: "B"}, "embedding": {0: "B"}},
                          opset_version=OPSET, dynamo=False)
    for name, fn in files.items():
        with open(os.path.join(bundle, fn), "rb") as f:
            manifest["graphs"][name] = {"file": fn, "sha256": hashlib.sha256(f.read()).hexdigest()}
    manifest.setdefault("reference", dict(REFERENCE_DEFAULTS))
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    if not own_tower:
        d = check_tiny(bundle, vq, clip, reference=True)
        if d["image"] > 1e-4:
            raise ValueError(f"image-reference.onnx differs from the reference step's CLIP: {d}")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "tiny-shapes"))
    ap.add_argument("--vqgan", default=os.path.join(HERE, ".work", "vqgan.pt"))
    ap.add_argument("--clip", default=os.path.join(HERE, ".work", "clip.pt"))
    ap.add_argument("--random", action="store_true", help="untrained weights (for a provisional bundle)")
    ap.add_argument("--description", default=None, help="default: says the latent shape and what the parts were trained on")
    ap.add_argument("--add-reference-step", action="store_true",
                    help="only add step-reference.onnx (step interface 2) to the bundle at --out, recovering the weights from its graphs")
    a = ap.parse_args()
    torch.manual_seed(0)
    if a.add_reference_step:
        torch.backends.mkldnn.enabled = False
        print(json.dumps(add_reference_step(a.out)["graphs"]["stepReference"]))
        return
    if a.random:
        vq, clip = fold_batchnorm(TinyVQGAN().eval()).requires_grad_(False), TinyCLIP(len(world.VOCAB), world.CONTEXT).eval().requires_grad_(False)
    else:
        vq, clip = load_vqgan(a.vqgan), load_clip(a.clip)
    h = world.SIZE // vq.ds
    description = a.description or (
        f"Tiny VQGAN (FSQ latent {vq.channels}x{h}x{h}, 7 levels per channel) + tiny CLIP "
        "(32 px image tower, word-level text tower) trained on a world of one coloured circle, square or "
        "triangle on a plain background (64x64); the CLIP was trained further on the loop's own renders.")
    m = export_bundle(vq, clip, a.out, description)
    print(json.dumps(m["graphs"], indent=1))


if __name__ == "__main__":
    main()
