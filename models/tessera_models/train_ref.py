"""Stage 5 of the tiny-shapes bundle: teach the tiny CLIP's image tower the reference loop
(generate.py's `latest` cutouts: pooled + Af/Pe/Ji/Er + noise; DESIGN.md §7, BUNDLE.md step 2).

The start is the committed bundle's own weights, recovered from its ONNX graphs (from_bundle.py);
the text tower stays frozen (every prompt target of both loops stays put); only the image tower
trains, like train_tiny's `adv` stage: per round (1) render prompts with the reference loop
(batched PyTorch, draws distributed as augment-draws.ts draws them) and the classic loop, read
with the judge's pixel rules; (2) contrastive training on those renders (negatives for their
prompt unless they show it), clean world images, decoded latents and clutter, each seen through
a reference-loop cutout (probability --p-ref) or a classic-loop cutout.

Two commands train (run from models/; oneDNN capped at SSE4.1 by onednn_isa, see there):

    pytorch-env python -m tessera_models.train_ref invariance --steps 200 --batch 48 --lr 1e-3 \
        --p-ref 0.6 --threads 2 --every 50 --seed 4000 --out clip_inv.pt      # no renders, ~25 min
    pytorch-env python -m tessera_models.train_ref train --rounds 4 --out clip_ref.pt  # with renders
    pytorch-env python -m tessera_models.train_ref export --clip .work/clip_inv_s200.pt \
        [--bundle-out DIR] [--reference '{"cutn": 8}'] [--loop-default reference]

`invariance` is step 2 alone (no renders). `export` rebuilds every graph and the manifest from
the bundle's VQGAN and the given CLIP; with the bundle's own CLIP it reproduces all six
committed graphs byte for byte (checked 2026-12-03).

What it gave and why oneDNN is capped: models/train-tiny.sh and onednn_isa.py,
"Tried and not kept (2026-12-03)".
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np

from . import onednn_isa  # before torch: oneDNN's AVX-512/AVX2 kernels are wrong on this CPU
import torch
import torch.nn.functional as F

from . import path_rank, world
from .refloop import augment as ref_augment
from .refloop import clamp_with_grad, pooled_cutout
from .tiny_clip import INPUT, TinyCLIP
from .tiny_vqgan import HALF, TinyVQGAN, fsq
from .train_tiny import (LOOP, TextBank, augment, batched_render, captions_for, clean_batch, clip_loss,
                         decoded_pool, log, read_render, test_prompt_attrs, to_t, to_u8)

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # models/
WORK = os.path.join(HERE, ".work")
BUNDLE = os.path.join(HERE, "tiny-shapes")

# the reference loop as the bundle runs it (manifest `reference`, cutn/lr from `defaults`)
REF_LOOP = {"steps": 200, "cutn": 8, "lr": 0.25, "cutNoise": 0.1}
DEG = math.pi / 180


# ---- draws (the distributions of renderer/src/engine/augment-draws.ts, batched, torch RNG) ----

def _sym(g: torch.Generator, n: int, r: float) -> torch.Tensor:
    return (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * r


def _around(m: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor, S: int) -> torch.Tensor:
    c = (S - 1) / 2
    n = m.shape[0]
    pre = torch.eye(3, dtype=m.dtype).repeat(n, 1, 1)
    pre[:, 0, 2], pre[:, 1, 2] = c + tx, c + ty
    post = torch.eye(3, dtype=m.dtype)
    post[0, 2] = post[1, 2] = -c
    return pre @ m @ post


def _affine(g: torch.Generator, n: int, S: int) -> torch.Tensor:
    on = torch.rand(n, generator=g) < 0.7
    a = _sym(g, n, 15) * DEG
    tx, ty = _sym(g, n, 0.1 * S), _sym(g, n, 0.1 * S)
    shear = torch.tan(_sym(g, n, 5) * DEG)
    m = torch.zeros(n, 3, 3, dtype=torch.float64)
    # rot(a) @ [[1, shear, 0], [0, 1, 0], [0, 0, 1]]
    m[:, 0, 0], m[:, 0, 1] = torch.cos(a), torch.cos(a) * shear - torch.sin(a)
    m[:, 1, 0], m[:, 1, 1] = torch.sin(a), torch.sin(a) * shear + torch.cos(a)
    m[:, 2, 2] = 1
    inv = torch.linalg.inv(_around(m, tx, ty, S))
    return torch.where(on[:, None, None], inv, torch.eye(3, dtype=torch.float64))


def _perspective(g: torch.Generator, n: int, S: int) -> torch.Tensor:
    on = torch.rand(n, generator=g) < 0.7
    f = 0.7 * S / 2
    start = torch.tensor([[0, 0], [S - 1, 0], [S - 1, S - 1], [0, S - 1]], dtype=torch.float64)
    dirs = torch.tensor([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=torch.float64)
    end = start + f * torch.rand(n, 4, 2, generator=g, dtype=torch.float64) * dirs
    # H with start ~ H·end (output pixel -> source pixel)
    a = torch.zeros(n, 8, 8, dtype=torch.float64)
    b = torch.zeros(n, 8, dtype=torch.float64)
    for k in range(4):
        x, y = end[:, k, 0], end[:, k, 1]
        u, v = start[k, 0], start[k, 1]
        a[:, 2 * k, 0], a[:, 2 * k, 1], a[:, 2 * k, 2] = x, y, 1
        a[:, 2 * k, 6], a[:, 2 * k, 7] = -u * x, -u * y
        a[:, 2 * k + 1, 3], a[:, 2 * k + 1, 4], a[:, 2 * k + 1, 5] = x, y, 1
        a[:, 2 * k + 1, 6], a[:, 2 * k + 1, 7] = -v * x, -v * y
        b[:, 2 * k], b[:, 2 * k + 1] = u, v
    h = torch.cat([torch.linalg.solve(a, b), torch.ones(n, 1, dtype=torch.float64)], 1).view(n, 3, 3)
    return torch.where(on[:, None, None], h, torch.eye(3, dtype=torch.float64))


def _erase(g: torch.Generator, groups: int, per: int, S: int) -> torch.Tensor:
    """One rectangle per group of `per` cutouts (generate.py: same_on_batch) -> [groups·per,1,S,S]."""
    out = torch.ones(groups, 1, S, S)
    r = torch.rand(groups, 6, generator=g, dtype=torch.float64).tolist()
    for i, (on, ar, rt, yy, xx, _) in enumerate(r):
        area = S * S * (0.1 + ar * 0.3)
        ratio = math.exp(math.log(0.3) + rt * (math.log(1 / 0.3) - math.log(0.3)))
        h = min(S, max(1, round(math.sqrt(area * ratio))))
        w = min(S, max(1, round(math.sqrt(area / ratio))))
        y0, x0 = math.floor(yy * (S - h + 1)), math.floor(xx * (S - w + 1))
        if on < 0.7:
            out[i, :, y0:y0 + h, x0:x0 + w] = 0
    return out.repeat_interleave(per, 0)


def ref_draws(g: torch.Generator, groups: int, per: int, S: int = INPUT, cut_noise: float = 0.1) -> dict:
    """Draws for groups·per cutouts with the bundle's augments Af, Pe, Ji, Er (+ noise)."""
    n = groups * per
    warps = torch.stack([_affine(g, n, S), _perspective(g, n, S), torch.eye(3, dtype=torch.float64).repeat(n, 1, 1)])
    jit = torch.stack([_sym(g, n, 0.1), 0.9 + 0.2 * torch.rand(n, generator=g, dtype=torch.float64),
                       0.9 + 0.2 * torch.rand(n, generator=g, dtype=torch.float64), _sym(g, n, 0.1) * 2 * math.pi,
                       (torch.rand(n, generator=g) < 0.7).double()], -1)
    return {
        "warps": warps.float(), "jitter": jit.float(), "jorder": torch.eye(4)[torch.randperm(4, generator=g)],
        "sharp": torch.ones(n), "gnoise": torch.zeros(n, 3, S, S), "erase": _erase(g, groups, per, S),
        "noise": torch.rand(n, 1, 1, 1, generator=g) * cut_noise, "eps": torch.randn(n, 3, S, S, generator=g),
    }


def ref_views(img01: torch.Tensor, per: int, g: torch.Generator, cut_noise: float = 0.1) -> torch.Tensor:
    """[B,3,H,W] -> [B·per,3,S,S]: generate.py `latest` cutouts of each image."""
    base = pooled_cutout(img01, INPUT).repeat_interleave(per, 0)
    d = ref_draws(g, img01.shape[0], per, INPUT, cut_noise)
    x = ref_augment(base, d["warps"], d["jitter"], d["jorder"], d["sharp"], d["gnoise"], d["erase"])
    return x + d["noise"] * d["eps"]


# ---- the reference loop, batched ----------------------------------------------------------

def ref_render(vq: TinyVQGAN, clip: TinyCLIP, targets: torch.Tensor, g: torch.Generator, loop: dict,
               snapshots: tuple[int, ...]) -> dict[int, torch.Tensor]:
    """targets [B,D] -> {step: images [B,3,64,64]} with the reference loop (weight 1, no stop)."""
    b, n = targets.shape[0], loop["cutn"]
    hw = world.SIZE // vq.ds
    z = ((torch.rand(b, vq.channels, hw, hw, generator=g) * 2 - 1) * HALF).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=loop["lr"])
    out = {}
    for i in range(loop["steps"] + 1):
        img = clamp_with_grad((vq.decoder(fsq(z)) + 1) / 2, 0.0, 1.0)
        if i in snapshots or i == loop["steps"]:
            out[i] = img.detach().clamp(0, 1).clone()
        if i == loop["steps"]:
            break
        e = clip.embed_image(ref_views(img, n, g, loop["cutNoise"])).view(b, n, -1)
        d = 2 * torch.asin(torch.clamp((e - targets[:, None]).norm(dim=-1) / 2, max=1.0)) ** 2
        loss = d.mean(1).sum()
        if loop.get("initWeight"):  # generate.py's init weight: mse(z, 0)·w/(2i+1)/2 per image
            loss = loss + z.pow(2).flatten(1).mean(1).sum() * loop["initWeight"] / (2 * i + 1) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            z.clamp_(-HALF, HALF)
    return out


def template_prompts(rng: np.random.Generator, n: int, missed: list[tuple]) -> list[tuple]:
    """Full (colour, shape, background) prompts: half drawn uniformly, half (once some exist)
    among the prompts whose render came out wrong in an earlier round (hard-example mining)."""
    out = []
    for k in range(n):
        if missed and k % 2:
            out.append(missed[int(rng.integers(len(missed)))])
        else:
            sc = world.sample_scene(rng)
            out.append((sc.colour, sc.shape, sc.bg, -1, -1))
    return out


def template_words(a: tuple) -> list[str]:
    return ["a", world.COLOURS[a[0]], world.SHAPES[a[1]], "on", "a", world.COLOURS[a[2]], "background"]


def render_round(vq, clip, tb, rng, g, count: int, loop_kind: str, buf: dict,
                 missed: list[tuple] | None = None) -> float:
    """Render `count` prompts (batches of 32) with one loop, add the judged renders to `buf`;
    -> the fraction of final renders whose clean reading equals the prompt. With `missed` (a
    list), prompts are template ones (template_prompts) and the wrong ones are appended to it."""
    right = []
    loop = REF_LOOP if loop_kind == "reference" else LOOP
    snaps = (loop["steps"] // 3, 2 * loop["steps"] // 3)
    clip.eval().requires_grad_(False)
    for _ in range(max(1, count // 32)):
        attrs = test_prompt_attrs(rng, 32) if missed is None else template_prompts(rng, 32, list(missed))
        with torch.no_grad():
            words = [world.caption_words(a, rng) if missed is None else template_words(a) for a in attrs]
            t = clip.embed_text(tb(words))
        fn = ref_render if loop_kind == "reference" else batched_render
        for step, im in fn(vq, clip, t, g, loop, snaps).items():
            u8 = to_u8(im)
            for k in range(32):
                rs = read_render(u8[k])
                buf["img"].append(u8[k]); buf["scene"].append(rs); buf["prompt"].append(attrs[k])
                buf["loop"].append(loop_kind)
                if step == loop["steps"]:
                    a = attrs[k]
                    right.append(rs[0] == a[0] and rs[1] == a[1] and (a[2] < 0 or rs[2] == a[2]))
                    if missed is not None and not right[-1]:
                        missed.append(a)
    return float(np.mean(right))


def prompt_positives(rng: np.random.Generator, prompts: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """A clean world image of each prompt (unmentioned attributes drawn)."""
    pim, psc = [], []
    for a in prompts:
        bg = a[2] if a[2] >= 0 else int((a[0] + 1 + rng.integers(7)) % 8)
        sc = world.Scene(int(a[0]), int(a[1]), int(bg), int(a[3]) if a[3] >= 0 else int(rng.integers(2)),
                         int(a[4]) if a[4] >= 0 else int(rng.integers(9)))
        pim.append(world.render(sc, rng)); psc.append(sc.as_tuple())
    return np.stack(pim), np.array(psc, np.int64)


def _one_view(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return ref_views(x, 1, g)


def views(x: torch.Tensor, g: torch.Generator, p_ref: float) -> torch.Tensor:
    """Each image through a reference-loop cutout (probability p_ref) or a classic one."""
    m = torch.rand(x.shape[0], generator=g) < p_ref
    out = augment(x, g, cut_min=0.5, noise=0.1)
    if m.any():
        out[m] = ref_views(x[m], 1, g)
    return out


# ---- training ----------------------------------------------------------------------------

def train_batch(clip, tb, rng, g, data: dict, buf: dict, n_new: int, batch: int, p_ref: float):
    """One contrastive batch: a quarter renders (half from this round), a quarter clean images of
    their prompts, clean images, decoded latents, clutter."""
    bi, bs, bp = data["bi"], data["bs"], buf["prompt"]
    nr = batch // 4
    half = nr // 2
    ridx = np.concatenate([rng.integers(len(bi) - n_new, len(bi), half), rng.integers(0, len(bi), nr - half)])
    nd, nclut = batch // 4, batch // 16
    n_clean = batch - 2 * nr - nd - nclut
    ci, cs = clean_batch(rng, data["imgs"], data["scenes"], n_clean)
    ki = rng.integers(0, len(data["di"]), nd)
    pim, psc = prompt_positives(rng, [bp[j] for j in ridx])
    cl = data["clutter"][rng.integers(0, len(data["clutter"]), nclut)]
    x = to_t(np.concatenate([bi[ridx], pim, ci, data["di"][ki], cl]))
    sc_all = np.concatenate([bs[ridx], psc, cs, data["ds"][ki], -np.ones((nclut, 5), np.int64)])
    dk = data["ds"][ki]
    attrs, caps = captions_for(np.concatenate([cs, dk[dk[:, 0] >= 0]]), rng)
    for j in ridx:  # the prompt itself + the render's own reading (if clean)
        attrs.append(bp[j]); caps.append(world.caption_words(bp[j], rng))
        if bs[j][0] >= 0:
            a = (int(bs[j][0]), int(bs[j][1]), int(bs[j][2]), -1, -1)
            attrs.append(a); caps.append(world.caption_words(a, rng))
    return clip_loss(clip, views(x, g, p_ref), sc_all, attrs, caps, tb)


def train(rounds: int, renders: int, classic: int, steps: int, batch: int, seed: int, lr: float,
          p_ref: float, out: str, init: str | None = None, bundle: str = BUNDLE, prompts: str = "mixed",
          path: float = 0.0) -> None:
    from .export_tiny import load_clip
    from .from_bundle import load_tiny
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    vq, clip = load_tiny(bundle)
    if init == "bundle-reference":  # the image tower of the bundle's reference step (checkpoints are not kept)
        clip = load_tiny(bundle, reference=True)[1]
    elif init:
        clip = load_clip(init if os.path.isabs(init) else os.path.join(WORK, init))
    tb = TextBank()
    imgs, scenes = world.make_pool(8000, seed + 1)
    data = {"imgs": imgs, "scenes": scenes, "clutter": world.make_clutter_pool(1000, seed + 2)}
    data["di"], data["ds"] = decoded_pool(vq, imgs, scenes, 2000, rng, g)
    buf = {"img": [], "scene": [], "prompt": [], "loop": []}
    opt = torch.optim.AdamW(clip.image.parameters(), lr=lr, weight_decay=0.01)
    missed: list[tuple] | None = [] if prompts == "template" else None
    t0 = time.time()
    for r in range(rounds):
        before = len(buf["img"])
        ref_ok = render_round(vq, clip, tb, rng, g, renders, "reference", buf, missed)
        cl_ok = render_round(vq, clip, tb, rng, g, classic, "classic", buf) if classic else float("nan")
        log("ref", f"round {r}: final renders right (judge == prompt) reference {ref_ok:.3f} ({renders}), "
                   f"classic {cl_ok:.3f} ({classic}); buffer {len(buf['img'])}  {time.time() - t0:.0f}s")
        clip.image.train().requires_grad_(True)
        data["bi"], data["bs"] = np.stack(buf["img"]), np.array(buf["scene"], np.int64)
        for it in range(steps):
            loss, acc = train_batch(clip, tb, rng, g, data, buf, len(buf["img"]) - before, batch, p_ref)
            if path:  # path ranking (path_rank.py): more of the prompt scores better, step by step
                loss = loss + path * path_rank.path_loss(clip, tb, rng, g, 24, 16, _one_view, template_words)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if it % 50 == 0 or it == steps - 1:
                log("ref", f"round {r} step {it} loss {loss.item():.4f} acc {acc:.3f}  {time.time() - t0:.0f}s")
        clip.eval().requires_grad_(False)
        log("ref", f"round {r}: path pairs ranked right (background, shape) {path_rank.accuracy(clip, tb, _one_view, template_words)}")
        torch.save(clip.state_dict(), os.path.join(WORK, f"{out[:-3]}_r{r}.pt"))
    torch.save(clip.state_dict(), os.path.join(WORK, out))


def zero_shot(clip: TinyCLIP, tb: TextBank, n: int = 128, seed: int = 99) -> dict:
    """Zero-shot accuracy over the 168 full captions on world images (seed 99) seen whole and
    through one reference-loop cutout each."""
    imgs, scenes = world.make_pool(n, seed)
    attrs = [(c, s, b) for c in range(8) for s in range(3) for b in range(8) if b != c]
    g = torch.Generator().manual_seed(seed)
    out = {}
    with torch.no_grad():
        t = clip.embed_text(tb([["a", world.COLOURS[c], world.SHAPES[s], "on", "a", world.COLOURS[b], "background"]
                                for c, s, b in attrs]))
        x = to_t(imgs)
        for name, pix in (("classic", augment(x, g, 0.75, 0.05)), ("ref", ref_views(x, 1, g))):
            got = np.array([attrs[b] for b in (clip.embed_image(pix) @ t.T).argmax(1).numpy()])
            out[name] = (round(float(((got[:, 0] == scenes[:, 0]) & (got[:, 2] == scenes[:, 2])).mean()), 3),
                         round(float((got[:, 1] == scenes[:, 1]).mean()), 3))
    return out


def train_invariance(steps: int, batch: int, seed: int, lr: float, p_ref: float, out: str, every: int,
                     bundle: str = BUNDLE, init: str | None = None, path: float = 0.0) -> None:
    """The image tower (text tower frozen) on clean world images, decoded latents (judge-labelled)
    and clutter, each seen through a reference-loop cutout (probability p_ref) or a classic one;
    cosine schedule; a checkpoint every `every` steps."""
    from .from_bundle import load_tiny
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    vq, clip = load_tiny(bundle)
    if init == "bundle-reference":
        clip = load_tiny(bundle, reference=True)[1]
    tb = TextBank()
    imgs, scenes = world.make_pool(4000, seed + 1)
    clutter = world.make_clutter_pool(500, seed + 2)
    di, ds = decoded_pool(vq, imgs, scenes, 1000, rng, g)
    log("inv", f"pools ready; decoded {len(di)}, labelled {int((ds[:, 0] >= 0).sum())}")
    opt = torch.optim.AdamW(clip.image.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.05)
    nd, nclut = batch // 4, batch // 16
    t0 = time.time()
    for it in range(steps):
        clip.image.train().requires_grad_(True)
        ci, cs = clean_batch(rng, imgs, scenes, batch - nd - nclut)
        ki = rng.integers(0, len(di), nd)
        x = to_t(np.concatenate([ci, di[ki], clutter[rng.integers(0, len(clutter), nclut)]]))
        sc_all = np.concatenate([cs, ds[ki], -np.ones((nclut, 5), np.int64)])
        attrs, caps = captions_for(np.concatenate([cs, ds[ki][ds[ki][:, 0] >= 0]]), rng)
        loss, acc = clip_loss(clip, views(x, g, p_ref), sc_all, attrs, caps, tb)
        if path:
            loss = loss + path * path_rank.path_loss(clip, tb, rng, g, 24, 16, _one_view, template_words)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if it % 10 == 0:
            log("inv", f"step {it} loss {loss.item():.4f} acc {acc:.3f}  {time.time() - t0:.0f}s")
        if (it + 1) % every == 0 or it == steps - 1:
            clip.eval().requires_grad_(False)
            torch.save(clip.state_dict(), os.path.join(WORK, f"{out[:-3]}_s{it + 1}.pt"))
            log("inv", f"step {it + 1} saved; zero-shot (colour+bg, shape) {zero_shot(clip, tb)}; path pairs "
                       f"ranked right {path_rank.accuracy(clip, tb, _one_view, template_words)}")
    torch.save(clip.state_dict(), os.path.join(WORK, out))


# ---- export -------------------------------------------------------------------------------

def export(clip_path: str, out: str, reference: dict, loop_default: str | None,
           reference_only: bool = False) -> dict:
    """The bundle's VQGAN (recovered from its graphs) + this CLIP -> all graphs and the manifest,
    with the reference loop's defaults `reference` merged over export_tiny.REFERENCE_DEFAULTS.
    reference_only: every graph but step-reference.onnx stays the bundle's, byte for byte (the
    classic loop, image prompts and the encoders keep the bundle's CLIP); only the reference
    step carries this CLIP's image tower (the text tower is frozen in training, so both loops'
    prompt targets still come from the one text.onnx)."""
    from .export_tiny import REFERENCE_DEFAULTS, add_reference_step, export_bundle, load_clip
    from .from_bundle import load_tiny
    import shutil
    import tempfile
    vq, _ = load_tiny(BUNDLE)
    clip = load_clip(clip_path)
    if reference_only:
        with tempfile.TemporaryDirectory() as tmp:
            for fn in os.listdir(BUNDLE):
                shutil.copy(os.path.join(BUNDLE, fn), os.path.join(tmp, fn))
            path = os.path.join(tmp, "manifest.json")
            with open(path) as f:
                m = json.load(f)
            m["reference"] = {**m.get("reference", REFERENCE_DEFAULTS), **reference}
            if loop_default:
                m["defaults"]["loop"] = loop_default
            with open(path, "w") as f:
                json.dump(m, f, indent=2)
                f.write("\n")
            m = add_reference_step(tmp, clip)
            os.makedirs(out, exist_ok=True)
            for fn in os.listdir(tmp):
                shutil.copy(os.path.join(tmp, fn), os.path.join(out, fn))
        return m
    with tempfile.TemporaryDirectory() as tmp:
        desc = ("Tiny VQGAN (FSQ latent 8x4x4, 7 levels per channel) + tiny CLIP (32 px image tower, word-level "
                "text tower) trained on a world of one coloured circle, square or triangle on a plain background "
                "(64x64); the CLIP was trained further on the classic and the reference loop's own renders.")
        export_bundle(vq, clip, tmp, desc)
        with open(os.path.join(tmp, "manifest.json")) as f:
            m = json.load(f)
        m["reference"] = {**REFERENCE_DEFAULTS, **reference}
        if loop_default:
            m["defaults"]["loop"] = loop_default
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(m, f, indent=2)
            f.write("\n")
        m = add_reference_step(tmp)
        os.makedirs(out, exist_ok=True)
        for fn in os.listdir(tmp):
            shutil.copy(os.path.join(tmp, fn), os.path.join(out, fn))
    return m


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["train", "invariance", "export"])
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--renders", type=int, default=64, help="reference-loop renders per round")
    ap.add_argument("--classic", type=int, default=32, help="classic-loop renders per round")
    ap.add_argument("--steps", type=int, default=150, help="training steps per round")
    ap.add_argument("--render-steps", type=int, default=200, help="steps of each reference-loop render")
    ap.add_argument("--batch", type=int, default=96)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--p-ref", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="clip_ref.pt")
    ap.add_argument("--init", default=None, help="train: start from this CLIP checkpoint (in .work/) "
                    "instead of the bundle's classic CLIP; 'bundle-reference': the bundle's reference image tower")
    ap.add_argument("--prompts", default="mixed", choices=["mixed", "template"],
                    help="train: reference renders' prompts: 'mixed' captions (as test_prompt_attrs), or "
                    "'template' ('a C S on a B background'; half re-drawn among earlier wrong renders)")
    ap.add_argument("--path", type=float, default=0.0,
                    help="train: weight of the path-ranking term (path_rank.py); 0: off")
    ap.add_argument("--every", type=int, default=100, help="invariance: checkpoint every this many steps")
    ap.add_argument("--clip", default=os.path.join(WORK, "clip_ref.pt"))
    ap.add_argument("--bundle-out", default=BUNDLE)
    ap.add_argument("--reference", default="{}", help='export: JSON merged into the manifest\'s "reference"')
    ap.add_argument("--loop-default", default=None, choices=[None, "classic", "reference"])
    ap.add_argument("--reference-only", action="store_true",
                    help="export: only step-reference.onnx gets this CLIP (its image tower); the rest stays the bundle's")
    a = ap.parse_args()
    onednn_isa.check()
    torch.set_num_threads(a.threads)
    os.makedirs(WORK, exist_ok=True)
    REF_LOOP["steps"] = a.render_steps
    if a.cmd == "invariance":
        train_invariance(a.steps, a.batch, a.seed, a.lr, a.p_ref, a.out, a.every, init=a.init, path=a.path)
    elif a.cmd == "train":
        train(a.rounds, a.renders, a.classic, a.steps, a.batch, a.seed, a.lr, a.p_ref, a.out, a.init, prompts=a.prompts, path=a.path)
    elif a.cmd == "export":
        m = export(a.clip, a.bundle_out, json.loads(a.reference), a.loop_default, a.reference_only)
        print(json.dumps({"graphs": m["graphs"], "reference": m["reference"], "defaults": m["defaults"]}))


if __name__ == "__main__":
    main()
