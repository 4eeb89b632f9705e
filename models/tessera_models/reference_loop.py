"""The BUNDLE.md render loop, exactly, in Python: mulberry32 draws, Adam, clamp, frames.

Two interchangeable backends run a step:
  * OrtStep   - the bundle's exported step graph through onnxruntime (what the engine runs);
  * TorchStep - the same function in PyTorch eager with autograd (checkpoints in models/.work/).

    pytorch-env python -m tessera_models.reference_loop render "a red circle on a blue background" --seed 1 --out x.png
    pytorch-env python -m tessera_models.reference_loop quality [--backend ort|torch] [--n 32] [--first K] [--seed-add S]

(run from models/). `quality` renders a fixed, varied set of prompts "a <colour> <shape> on a
<bg> background" (seeds 1..n) with the bundle defaults and prints the judge's percentages.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # models/
BUNDLE = os.path.join(HERE, "tiny-shapes")
M32 = 0xFFFFFFFF


class Mulberry32:
    """BUNDLE.md RNG. Vectorised: draw k only depends on state0 + k·0x6D2B79F5."""

    def __init__(self, seed: int):
        self.state = seed & M32

    def draws(self, n: int) -> np.ndarray:
        k = np.arange(1, n + 1, dtype=np.uint64)
        s = (np.uint64(self.state) + k * np.uint64(0x6D2B79F5)) & np.uint64(M32)
        self.state = int((self.state + n * 0x6D2B79F5) & M32)
        m = np.uint64(M32)
        t = s
        t = ((t ^ (t >> np.uint64(15))) * (t | np.uint64(1))) & m
        t = t ^ ((t + (((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & m)) & m)
        return ((t ^ (t >> np.uint64(14))) & m).astype(np.float64) / 4294967296.0

    def next(self) -> float:
        return float(self.draws(1)[0])

    def normals(self, n: int) -> np.ndarray:
        u = self.draws(2 * n).reshape(n, 2)
        return np.sqrt(-2.0 * np.log(1.0 - u[:, 0])) * np.cos(2.0 * math.pi * u[:, 1])


def parse_prompts(text: str) -> list[tuple[str, float, float]]:
    out = []
    for part in text.split("|"):
        bits = part.split(":")
        t = bits[0].strip()
        w = float(bits[1]) if len(bits) > 1 and bits[1].strip() else 1.0
        s = float(bits[2]) if len(bits) > 2 and bits[2].strip() else -1.0
        out.append((t, w, s))
    if sum(w for _, w, _ in out) <= 0:
        raise ValueError("the prompt weights sum to <= 0")
    return out


class OrtStep:
    def __init__(self, bundle: str = BUNDLE, threads: int = 2):
        import onnxruntime as ort
        self.manifest = json.load(open(os.path.join(bundle, "manifest.json")))
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        g = self.manifest["graphs"]
        load = lambda k: ort.InferenceSession(os.path.join(bundle, g[k]["file"]), so, providers=["CPUExecutionProvider"])
        self.step_s, self.dec_s, self.text_s = load("step"), load("decoder"), load("text")
        self.step_inputs = [i.name for i in self.step_s.get_inputs()]
        self.has_eps = "eps" in self.step_inputs
        self.vocab = json.load(open(os.path.join(bundle, self.manifest["tokenizer"]["file"])))["tokens"]

    def embed_text(self, tokens: np.ndarray) -> np.ndarray:
        return self.text_s.run(None, {"tokens": tokens})[0]

    def step(self, feeds: dict) -> tuple[float, np.ndarray, np.ndarray]:
        loss, grad, image = self.step_s.run(None, {k: feeds[k] for k in self.step_inputs})
        return float(loss), grad, image

    def decode(self, z: np.ndarray) -> np.ndarray:
        return self.dec_s.run(None, {"z": z})[0]


class TorchStep:
    def __init__(self, bundle: str = BUNDLE, vqgan: str | None = None, clip: str | None = None, threads: int = 2):
        import torch
        from .export_tiny import load_clip, load_vqgan, make_step_fn
        torch.set_num_threads(threads)
        self.torch = torch
        self.manifest = json.load(open(os.path.join(bundle, "manifest.json")))
        self.vq = load_vqgan(vqgan or os.path.join(HERE, ".work", "vqgan.pt"))
        c = self.vq.channels  # the checkpoint's latent shape, whatever the bundle's is
        self.manifest["latent"] = {**self.manifest["latent"], "channels": c, "downsample": self.vq.ds,
                                   "min": [-3.0] * c, "max": [3.0] * c}
        self.clip = load_clip(clip or os.path.join(HERE, ".work", "clip.pt"))
        self.fn = make_step_fn(self.vq, self.clip)
        self.has_eps = True
        self.vocab = json.load(open(os.path.join(bundle, self.manifest["tokenizer"]["file"])))["tokens"]

    def embed_text(self, tokens: np.ndarray) -> np.ndarray:
        with self.torch.no_grad():
            return self.clip.embed_text(self.torch.from_numpy(tokens)).numpy()

    def step(self, feeds: dict):
        t = self.torch
        z = t.from_numpy(feeds["z"]).requires_grad_(True)
        rest = [t.from_numpy(feeds[k]) for k in ["targets", "weights", "stops", "cuts", "noise", "eps"]]
        loss, img = self.fn(z, *rest)
        g, = t.autograd.grad(loss, z)
        return float(loss), g.numpy(), img.detach().numpy()

    def decode(self, z: np.ndarray) -> np.ndarray:
        from .tiny_vqgan import DecoderGraph
        with self.torch.no_grad():
            return DecoderGraph(self.vq)(self.torch.from_numpy(z)).numpy()


def tokenize(text: str, vocab: list[str], context: int) -> list[int]:
    from .world import tokenize as tok
    return tok(text, vocab, context)


def render(backend, prompt: str, seed: int, steps: int | None = None, cutn: int | None = None,
           lr: float | None = None, overrides: dict | None = None, on_frame=None) -> np.ndarray:
    """-> final image float32 [1,3,H,W] in [0,1]."""
    m = backend.manifest
    d = dict(m["defaults"])
    d.update({k: v for k, v in {"steps": steps, "cutn": cutn, "lr": lr}.items() if v is not None})
    d.update(overrides or {})
    w_img, h_img = m["image"]["defaultSize"]
    lat = m["latent"]
    c, ds = lat["channels"], lat["downsample"]
    zmin = np.array(lat["min"], np.float32)[:, None, None]
    zmax = np.array(lat["max"], np.float32)[:, None, None]
    s_in = m["clip"]["inputSize"]
    ctx = m["tokenizer"]["contextLength"]
    prompts = parse_prompts(prompt)
    tokens = np.array([tokenize(t, backend.vocab, ctx) for t, _, _ in prompts], np.int64)
    targets = backend.embed_text(tokens).astype(np.float32)
    weights = np.array([w for _, w, _ in prompts], np.float32)
    stops = np.array([s for _, _, s in prompts], np.float32)

    rng = Mulberry32(seed)
    h, w = h_img // ds, w_img // ds
    init = lat.get("init", {"kind": "uniform"})
    assert init["kind"] == "uniform", init
    u = rng.draws(c * h * w).reshape(c, h, w).astype(np.float32)
    z = (zmin + u * (zmax - zmin))[None].astype(np.float32)

    n = int(d["cutn"])
    max_s = min(w_img, h_img)
    min_s = max(1, round(d["cutMin"] * max_s))
    ma = np.zeros_like(z)
    va = np.zeros_like(z)
    b1, b2, eps_adam = 0.9, 0.999, 1e-8
    for i in range(int(d["steps"])):
        r = rng.draws(5 * n).reshape(n, 5)  # per cutout: size, x0, y0, flip, noise (in order)
        size = np.floor(min_s + r[:, 0] ** d["cutPow"] * (max_s - min_s))
        x0 = np.floor(r[:, 1] * (w_img - size + 1))
        y0 = np.floor(r[:, 2] * (h_img - size + 1))
        flip = (r[:, 3] < 0.5).astype(np.float64)
        noise = r[:, 4] * d["noise"]
        feeds = {"z": z, "targets": targets, "weights": weights, "stops": stops,
                 "cuts": np.stack([x0, y0, size, flip], -1).astype(np.float32),
                 "noise": noise.astype(np.float32).reshape(n, 1, 1, 1)}
        if backend.has_eps:
            feeds["eps"] = rng.normals(n * 3 * s_in * s_in).astype(np.float32).reshape(n, 3, s_in, s_in)
        loss, grad, image = backend.step(feeds)
        if on_frame and i % int(d["frameEvery"]) == 0:
            on_frame(i, image, loss)
        t = i + 1
        ma = b1 * ma + (1 - b1) * grad
        va = b2 * va + (1 - b2) * grad * grad
        mhat = ma / (1 - b1 ** t)
        vhat = va / (1 - b2 ** t)
        z = (z - d["lr"] * mhat / (np.sqrt(vhat) + eps_adam)).astype(np.float32)
        z = np.clip(z, zmin, zmax).astype(np.float32)
    return backend.decode(z)


def to_u8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img[0].transpose(1, 2, 0), 0, 1) * 255).round().astype(np.uint8)


def quality_prompts(n: int = 32) -> list[tuple[str, dict]]:
    """A fixed, varied set: every colour as object and as background, all three shapes."""
    from .world import COLOURS, SHAPES
    out = []
    for i in range(n):
        colour = COLOURS[i % 8]
        bg = COLOURS[(i % 8 + 1 + (i // 8) * 2 + (i // 8 >= 3)) % 8]
        if bg == colour:
            bg = COLOURS[(i + 4) % 8]
        shape = SHAPES[i % 3]
        out.append((f"a {colour} {shape} on a {bg} background", {"colour": colour, "shape": shape, "background": bg}))
    return out


def quality(backend, n: int, out_png: str | None = None, overrides: dict | None = None, verbose: bool = True,
            first: int = 0, seed_add: int = 0) -> dict:
    """Prompts first..n-1 of quality_prompts(n), prompt i with seed i + 1 + seed_add. The engine's
    quality test is first=0, n=24, seed_add=0; held out from it: first=24 (other prompts) or
    seed_add=100 (other seeds)."""
    from .judge import judge, score
    res, tiles = [], []
    for i, (prompt, exp) in enumerate(quality_prompts(n)):
        if i < first:
            continue
        img = to_u8(render(backend, prompt, seed=i + 1 + seed_add, overrides=overrides))
        j = judge(img)
        res.append((exp, j))
        tiles.append(img)
        if verbose:
            ok = [j["background"] == exp["background"], j["colour"] == exp["colour"], j["shape"] == exp["shape"]]
            print(f"{i + 1:2d} {prompt:50s} -> {j['colour']} {j['shape']} on {j['background']} "
                  f"(fill {j['fill']:.2f}) {''.join('+' if o else '-' for o in ok)}", file=sys.stderr)
    if out_png:
        from PIL import Image
        rows = [np.concatenate(tiles[r:r + 8], 1) for r in range(0, len(tiles), 8)]
        if len(rows[-1]) != len(rows[0]):
            rows[-1] = np.pad(rows[-1], ((0, 0), (0, rows[0].shape[1] - rows[-1].shape[1]), (0, 0)))
        Image.fromarray(np.concatenate(rows, 0)).resize((rows[0].shape[1] * 2, len(rows) * 128), 0).save(out_png)
    return score(res)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["render", "quality"])
    ap.add_argument("prompt", nargs="?")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--backend", choices=["ort", "torch"], default="ort")
    ap.add_argument("--bundle", default=BUNDLE)
    ap.add_argument("--clip", default=None)
    ap.add_argument("--vqgan", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--first", type=int, default=0, help="quality: skip the first prompts (24: those the test uses)")
    ap.add_argument("--seed-add", type=int, default=0, help="quality: add this to every seed")
    ap.add_argument("--out", default=None)
    ap.add_argument("--set", action="append", default=[], help="override a default, e.g. --set steps=80")
    a = ap.parse_args()
    overrides = {k: float(v) for k, v in (s.split("=") for s in a.set)}
    backend = OrtStep(a.bundle, a.threads) if a.backend == "ort" else TorchStep(a.bundle, a.vqgan, a.clip, a.threads)
    t0 = time.time()
    if a.cmd == "render":
        img = to_u8(render(backend, a.prompt, a.seed, overrides=overrides))
        from .judge import judge
        print(json.dumps({"judge": judge(img), "seconds": round(time.time() - t0, 2)}))
        if a.out:
            from PIL import Image
            Image.fromarray(img).save(a.out)
    else:
        s = quality(backend, a.n, a.out, overrides, first=a.first, seed_add=a.seed_add)
        s["seconds"] = round(time.time() - t0, 1)
        s["defaults"] = {**backend.manifest["defaults"], **overrides}
        print(json.dumps(s))


if __name__ == "__main__":
    main()
