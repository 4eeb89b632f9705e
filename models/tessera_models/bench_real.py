"""PyTorch eager baseline for the real models' render loop, for the GPU check in REAL_MODELS.md.

    python3 -m tessera_models.bench_real --device cuda --size 256 256 --cutn 32 --steps 100
    python3 -m tessera_models.bench_real --onnx BUNDLE_DIR ...   # also time the bundle's step
                                                                    # graph in Python onnxruntime

Runs the same step as the exported graph (quantise → decode → in-graph cutouts → CLIP → loss,
make_step_loss) with autograd, plus Adam on z and the per-channel clamp, for --steps iterations
after --warmup, and prints one JSON line: iterations per second and ms per step. Random weights
with the public shapes unless --vqgan-ckpt/--clip are given (speed does not depend on values).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

from . import synthetic_checkpoints as sc
from .export_real import load_clip, load_vqgan, make_step_loss


def _cuts(n: int, W: int, H: int, cut_min: float, g: torch.Generator) -> torch.Tensor:
    side = min(W, H)
    lo = max(1, round(cut_min * side))
    size = torch.floor(lo + torch.rand(n, generator=g) * (side - lo))
    x0 = torch.floor(torch.rand(n, generator=g) * (W - size + 1))
    y0 = torch.floor(torch.rand(n, generator=g) * (H - size + 1))
    flip = (torch.rand(n, generator=g) < 0.5).float()
    return torch.stack([x0, y0, size, flip], 1)


def bench_torch(vq, clip, W, H, cutn, steps, warmup, device, lr=0.1, seed=0) -> dict:
    vq, clip = vq.to(device), clip.to(device)
    loss_fn = make_step_loss(vq, clip, False)
    g = torch.Generator().manual_seed(seed)
    emb = vq.quantize.embedding.weight.detach()
    h, w = H // vq.cfg.downsample, W // vq.cfg.downsample
    idx = torch.randint(0, emb.shape[0], (1, h, w), generator=g).to(device)
    z = vq.quantize.lookup(idx).detach().clone().requires_grad_(True)
    zmin = emb.min(0).values.reshape(1, -1, 1, 1)
    zmax = emb.max(0).values.reshape(1, -1, 1, 1)
    t = torch.nn.functional.normalize(torch.randn(1, clip.cfg.embed_dim, generator=g), dim=-1)
    t, wts, stops = t.to(device), torch.ones(1, device=device), torch.full((1,), -1.0,
                                                                           device=device)
    opt = torch.optim.Adam([z], lr=lr)

    def step():
        cuts = _cuts(cutn, W, H, 0.5, g).to(device)
        loss, _img = loss_fn(z, t, wts, stops, cuts)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            z.copy_(torch.maximum(torch.minimum(z, zmax), zmin))
        return loss

    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    for _ in range(warmup):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    sync()
    dt = time.perf_counter() - t0
    return {"runner": f"torch-eager-{device}", "W": W, "H": H, "cutn": cutn, "steps": steps,
            "ms_per_step": 1000 * dt / steps, "it_per_s": steps / dt, "last_loss": float(loss)}


def bench_onnx(bundle, W, H, cutn, steps, warmup, providers, seed=0) -> dict:
    """The step graph alone (no Adam), fed as the engine feeds it."""
    import numpy as np
    import onnxruntime as ort

    with open(os.path.join(bundle, "manifest.json")) as f:
        man = json.load(f)
    sess = ort.InferenceSession(os.path.join(bundle, man["graphs"]["step"]["file"]),
                                providers=providers)
    g = torch.Generator().manual_seed(seed)
    lat = man["latent"]
    f_ = lat["downsample"]
    z = (torch.rand(1, lat["channels"], H // f_, W // f_, generator=g) * 2 - 1).numpy()
    t = torch.nn.functional.normalize(torch.randn(1, man["clip"]["embedDim"], generator=g),
                                      dim=-1).numpy()
    feeds = {"z": z, "targets": t, "weights": np.ones(1, np.float32),
             "stops": np.full(1, -1, np.float32)}
    for _ in range(warmup):
        sess.run(None, {**feeds, "cuts": _cuts(cutn, W, H, 0.5, g).numpy()})
    t0 = time.perf_counter()
    for _ in range(steps):
        sess.run(None, {**feeds, "cuts": _cuts(cutn, W, H, 0.5, g).numpy()})
    dt = time.perf_counter() - t0
    return {"runner": f"onnxruntime-python-{sess.get_providers()[0]}", "W": W, "H": H,
            "cutn": cutn, "steps": steps, "ms_per_step": 1000 * dt / steps,
            "it_per_s": steps / dt}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--size", nargs=2, type=int, default=[256, 256], metavar=("W", "H"))
    ap.add_argument("--cutn", type=int, default=32)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--small", action="store_true", help="small configs (plumbing checks)")
    ap.add_argument("--vqgan-ckpt")
    ap.add_argument("--vqgan-config")
    ap.add_argument("--clip")
    ap.add_argument("--onnx", help="bundle folder: also time its step graph")
    ap.add_argument("--onnx-providers", default="CPUExecutionProvider",
                    help="comma-separated onnxruntime providers for --onnx")
    a = ap.parse_args(argv)
    W, H = a.size
    if a.vqgan_ckpt and a.clip:
        vq, clip = load_vqgan(a.vqgan_ckpt, a.vqgan_config), load_clip(a.clip)
    else:
        vq = sc.random_vqgan(sc.SMALL_VQGAN if a.small else sc.IMAGENET_F16_16384)
        clip = sc.random_clip(sc.SMALL_CLIP if a.small else sc.VIT_B_32)
    for p in list(vq.parameters()) + list(clip.parameters()):
        p.requires_grad_(False)
    print(json.dumps(bench_torch(vq, clip, W, H, a.cutn, a.steps, a.warmup, a.device)),
          flush=True)
    if a.onnx:
        print(json.dumps(bench_onnx(a.onnx, W, H, a.cutn, a.steps, a.warmup,
                                    a.onnx_providers.split(","))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
