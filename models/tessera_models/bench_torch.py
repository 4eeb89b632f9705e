"""PyTorch-eager speed of the tiny-shapes step (the function the step graph exports), for the
engine benchmark's ratio. Prints one JSON line: {"torch_steps_per_s": ...}.

    pytorch-env python models/tessera_models/bench_torch.py [--steps 30] [--threads 2]

Runs the full BUNDLE.md loop step (draws, step with autograd, Adam, clamp) with the bundle's
defaults on "a red circle on a blue background", seed 1, with the trained checkpoints in
models/.work/ when present, else random weights of the same architecture (same cost: the
bundle holds only ONNX graphs).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "tessera_models"  # noqa: A001

import torch  # noqa: E402

from tessera_models import reference_loop as rl  # noqa: E402
from tessera_models import world  # noqa: E402
from tessera_models.export_tiny import bundle_latent, make_step_fn  # noqa: E402
from tessera_models.tiny_clip import TinyCLIP  # noqa: E402
from tessera_models.tiny_vqgan import TinyVQGAN  # noqa: E402


class _Bench(rl.TorchStep):
    def __init__(self, threads: int):
        work = os.path.join(rl.HERE, ".work")
        if os.path.exists(os.path.join(work, "clip.pt")) and os.path.exists(os.path.join(work, "vqgan.pt")):
            super().__init__(threads=threads)
            return
        import json as _j
        torch.set_num_threads(threads)
        self.torch = torch
        self.manifest = _j.load(open(os.path.join(rl.BUNDLE, "manifest.json")))
        torch.manual_seed(0)
        self.vq = TinyVQGAN(*bundle_latent()).eval().requires_grad_(False)  # same shapes as the bundle
        self.clip = TinyCLIP(len(world.VOCAB), world.CONTEXT).eval().requires_grad_(False)
        self.fn = make_step_fn(self.vq, self.clip)
        self.has_eps = True
        self.vocab = world.VOCAB


def reference_loop_rate(steps: int, threads: int, cutn: int) -> float:
    """Steps/s of generate.py's loop in PyTorch eager: the same step function as step-reference.onnx
    (refloop.py, modules recovered from the bundle), fresh default-set draws (Af Pe Ji Er + noise)
    each step, the bundle's init weight, autograd, torch.optim.Adam, clamp."""
    from tessera_models.from_bundle import load_tiny
    from tessera_models.reference_gen import random_draws
    from tessera_models.refloop import STEP2_INPUTS, make_step_v2
    from tessera_models.tiny_vqgan import fsq
    torch.backends.mkldnn.enabled = False  # DESIGN.md §7
    torch.set_num_threads(threads)
    m = json.load(open(os.path.join(rl.BUNDLE, "manifest.json")))
    vq, clip = load_tiny(rl.BUNDLE)
    step = make_step_v2(lambda z: vq.decoder(fsq(z)), clip.embed_image, 32)
    text = clip.embed_text(torch.tensor([world.tokenize("a red circle on a blue background")]))
    z = torch.zeros(1, vq.channels, 4, 4).uniform_(-3, 3).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=m["defaults"]["lr"])
    init_weight = m["reference"].get("initWeight", 0)

    def one(i):
        d = random_draws(cutn, 32, world.SIZE, "WJE", "latest", seed=i)
        loss, _ = step(z, text, torch.ones(1), torch.full((1,), -1.0), *[d[k] for k in STEP2_INPUTS[4:]])
        if init_weight:  # generate.py's -iw, as the bundle's reference defaults set it
            loss = loss + z.pow(2).mean() * init_weight / (2 * i + 1) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            z.clamp_(-3, 3)

    for i in range(3):
        one(i)
    t0 = time.perf_counter()
    for i in range(steps):
        one(i)
    return steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cutn", type=int, default=None)
    ap.add_argument("--loop", choices=["classic", "reference"], default="classic")
    a = ap.parse_args()
    if a.loop == "reference":
        cutn = a.cutn or json.load(open(os.path.join(rl.BUNDLE, "manifest.json")))["defaults"]["cutn"]
        rate = reference_loop_rate(a.steps, a.threads, cutn)
        print(json.dumps({"torch_steps_per_s": round(rate, 2), "steps": a.steps, "cutn": cutn,
                          "threads": a.threads, "loop": "reference"}))
        return
    b = _Bench(a.threads)
    prompt = "a red circle on a blue background"
    rl.render(b, prompt, 1, steps=3)  # warm-up
    t0 = time.perf_counter()
    rl.render(b, prompt, 1, steps=a.steps)
    dt = time.perf_counter() - t0
    print(json.dumps({"torch_steps_per_s": round(a.steps / dt, 2), "steps": a.steps,
                      "cutn": b.manifest["defaults"]["cutn"], "threads": a.threads}))


if __name__ == "__main__":
    main()
