"""Train the bundled tiny-shapes model (small FSQ-VQGAN + small CLIP) from scratch.

Regenerate the whole bundle (about 50 minutes on 2 CPU cores):

    bash models/train-tiny.sh            # = the stages below, then export_tiny.py

Stages (each seeded; checkpoints and logs go to models/.work/, which git ignores):

    pytorch-env python -m tessera_models.train_tiny vqgan   # autoencoder on world images
    pytorch-env python -m tessera_models.train_tiny clip0   # CLIP: contrastive + hard negatives
    pytorch-env python -m tessera_models.train_tiny adv     # CLIP: rounds with the loop's own renders

(run from models/). `vqgan` and `clip0` are independent and run in parallel, one thread each.
The `adv` stage renders prompts with the same VQGAN-CLIP loop the engine runs (batched, in
PyTorch), reads each render with the quality judge's pixel rules and trains CLIP further:
a render is a negative for the prompt that produced it unless it shows that prompt, and a clean
render (one shape on a plain background) is a positive for the caption that describes it.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import world
from .judge import judge
from .tiny_clip import INPUT, TinyCLIP, make_cutouts, spherical_dist
from .tiny_vqgan import HALF, TinyVQGAN

WORK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".work")

# loop settings the adversarial renders use (= the bundle defaults, see export_tiny.DEFAULTS)
LOOP = {"steps": 60, "cutn": 8, "cutPow": 1.0, "cutMin": 0.75, "lr": 0.25, "noise": 0.05}


def log(stage: str, msg: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} [{stage}] {msg}"
    print(line, flush=True)


def to_t(imgs: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0


# ---- stage 1: VQGAN ------------------------------------------------------------------------

def train_vqgan(steps: int, batch: int, seed: int) -> None:
    torch.manual_seed(seed)
    imgs, _ = world.make_pool(12000, seed)
    data = to_t(imgs)
    vq = TinyVQGAN()
    opt = torch.optim.Adam(vq.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.05)
    g = torch.Generator().manual_seed(seed)
    t0 = time.time()
    for it in range(steps):
        idx = torch.randint(0, data.shape[0], (batch,), generator=g)
        x = data[idx]
        flip = torch.rand(batch, generator=g) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        rec = vq(x)
        loss = F.l1_loss(rec, x) + F.mse_loss(rec, x) * 4
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if it % 100 == 0 or it == steps - 1:
            psnr = -10 * math.log10(F.mse_loss(rec, x).item() + 1e-12)
            log("vqgan", f"step {it} loss {loss.item():.4f} psnr {psnr:.1f} dB  {time.time() - t0:.0f}s")
    torch.save(vq.state_dict(), os.path.join(WORK, "vqgan.pt"))


# ---- CLIP batches --------------------------------------------------------------------------

def random_cuts(n: int, g: torch.Generator, cut_min: float, size: int = world.SIZE) -> torch.Tensor:
    """[n,4] cutouts drawn like the loop (cutPow 1)."""
    min_s = max(1, round(cut_min * size))
    s = torch.floor(min_s + torch.rand(n, generator=g) * (size - min_s))
    x0 = torch.floor(torch.rand(n, generator=g) * (size - s + 1))
    y0 = torch.floor(torch.rand(n, generator=g) * (size - s + 1))
    flip = (torch.rand(n, generator=g) < 0.5).float()
    return torch.stack([x0, y0, s, flip], -1)


def augment(x: torch.Tensor, g: torch.Generator, cut_min: float, noise: float) -> torch.Tensor:
    """[B,3,64,64] -> one loop-like cutout each [B,3,32,32]."""
    cuts = random_cuts(x.shape[0], g, cut_min)[:, None]           # [B,1,4]
    c = make_cutouts(x, cuts, INPUT)[:, 0]
    nz = torch.rand(x.shape[0], 1, 1, 1, generator=g) * noise
    return c + nz * torch.randn(c.shape, generator=g)


class TextBank:
    """Tokenises captions (word lists) to int64 tensors."""
    def __init__(self):
        self.index = {w: i for i, w in enumerate(world.VOCAB)}

    def __call__(self, captions: list[list[str]]) -> torch.Tensor:
        out = torch.zeros(len(captions), world.CONTEXT, dtype=torch.int64)
        for i, ws in enumerate(captions):
            ids = [1, *[self.index[w] for w in ws], 2]
            out[i, : len(ids)] = torch.tensor(ids)
        return out


def clip_loss(clip: TinyCLIP, pix: torch.Tensor, scenes: np.ndarray, attrs: list[tuple],
              captions: list[list[str]], tb: TextBank) -> tuple[torch.Tensor, float]:
    """Multi-positive contrastive loss. scenes [I,5] (-1 row: negative only, -2 field: unknown)."""
    ei = clip.embed_image(pix)
    et = clip.embed_text(tb(captions))
    logits = ei @ et.T * clip.logit_scale.exp().clamp(max=100)
    comp = torch.from_numpy(world.compatible(np.array(attrs, dtype=np.int64), scenes))
    neg_inf = torch.finfo(logits.dtype).min
    has_i = comp.any(1)
    li = -(torch.logsumexp(logits.masked_fill(~comp, neg_inf), 1) - torch.logsumexp(logits, 1))[has_i].mean()
    has_t = comp.any(0)
    lt = -(torch.logsumexp(logits.T.masked_fill(~comp.T, neg_inf), 1) - torch.logsumexp(logits.T, 1))[has_t].mean()
    with torch.no_grad():
        acc = (comp[torch.arange(len(pix)), logits.argmax(1)])[has_i].float().mean().item()
    return (li + lt) / 2, acc


def clean_batch(rng: np.random.Generator, imgs: np.ndarray, scenes: np.ndarray, n: int):
    idx = rng.integers(0, len(imgs), n)
    return imgs[idx], scenes[idx]


def captions_for(scenes: np.ndarray, rng: np.random.Generator, hard: bool = True):
    attrs, caps = [], []
    for s in scenes:
        a = world.sample_caption_attrs(world.Scene(*s), rng)
        attrs.append(a)
        caps.append(world.caption_words(a, rng))
        if hard:
            h = world.hard_negative_attrs(a, rng)
            attrs.append(h)
            caps.append(world.caption_words(h, rng))
    return attrs, caps


def train_clip0(steps: int, batch: int, seed: int) -> None:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    imgs, scenes = world.make_pool(16000, seed + 1)
    clutter = world.make_clutter_pool(2000, seed + 2)
    clip = TinyCLIP(len(world.VOCAB), world.CONTEXT)
    opt = torch.optim.AdamW(clip.parameters(), lr=1.5e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.5e-3, total_steps=steps, pct_start=0.05)
    tb = TextBank()
    t0 = time.time()
    nclut = batch // 8
    for it in range(steps):
        im, sc = clean_batch(rng, imgs, scenes, batch - nclut)
        cl = clutter[rng.integers(0, len(clutter), nclut)]
        x = to_t(np.concatenate([im, cl]))
        pix = augment(x, g, cut_min=0.5, noise=0.1)
        sc_all = np.concatenate([sc, -np.ones((nclut, 5), np.int64)])
        attrs, caps = captions_for(sc, rng)
        loss, acc = clip_loss(clip, pix, sc_all, attrs, caps, tb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if it % 100 == 0 or it == steps - 1:
            log("clip0", f"step {it} loss {loss.item():.4f} acc {acc:.3f} scale {clip.logit_scale.exp().item():.1f} {time.time() - t0:.0f}s")
    torch.save(clip.state_dict(), os.path.join(WORK, "clip0.pt"))


# ---- the loop, batched (B independent renders) ---------------------------------------------

def batched_render(vq: TinyVQGAN, clip: TinyCLIP, targets: torch.Tensor, g: torch.Generator,
                   loop: dict, snapshots: tuple[int, ...]) -> dict[int, torch.Tensor]:
    """targets [B,D] -> {step: images [B,3,64,64]} (image before that step; `steps` = final)."""
    b = targets.shape[0]
    z = (torch.rand(b, 4, 8, 8, generator=g) * 2 - 1) * HALF
    z.requires_grad_(True)
    opt = torch.optim.Adam([z], lr=loop["lr"], betas=(0.9, 0.999), eps=1e-8)
    out = {}
    n = loop["cutn"]
    for i in range(loop["steps"] + 1):
        img = vq.decode01(z)
        if i in snapshots or i == loop["steps"]:
            out[i] = img.detach().clone()
        if i == loop["steps"]:
            break
        cuts = random_cuts(b * n, g, loop["cutMin"]).view(b, n, 4)
        c = make_cutouts(img, cuts, INPUT)                       # [B,N,3,S,S]
        nz = torch.rand(b, n, 1, 1, 1, generator=g) * loop["noise"]
        c = c + nz * torch.randn(c.shape, generator=g)
        e = clip.embed_image(c.flatten(0, 1)).view(b, n, -1)
        d = 2 * torch.asin(torch.clamp((e - targets[:, None]).norm(dim=-1) / 2, max=1.0)) ** 2
        loss = d.mean(1).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            z.clamp_(-HALF, HALF)
    return out


def test_prompt_attrs(rng: np.random.Generator, n: int) -> list[tuple]:
    out = []
    for _ in range(n):
        sc = world.sample_scene(rng)
        if rng.random() < 0.7:
            out.append((sc.colour, sc.shape, sc.bg, -1, -1))
        else:
            out.append(world.sample_caption_attrs(sc, rng, full_prob=0.0))
    return out


def to_u8(img: torch.Tensor) -> np.ndarray:
    return (img.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()


def read_render(u8: np.ndarray) -> tuple[int, int, int, int, int]:
    """judge a render -> scene tuple with unknown size/pos (-2), or all -1 when not clean."""
    j = judge(u8)
    if not j["clean"]:
        return (-1, -1, -1, -1, -1)
    return (world.COLOURS.index(j["colour"]), world.SHAPES.index(j["shape"]),
            world.COLOURS.index(j["background"]), -2, -2)


def train_adv(rounds: int, renders_per_round: int, steps_per_round: int, batch: int, seed: int,
              init: str) -> None:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    imgs, scenes = world.make_pool(16000, seed + 1)
    clutter = world.make_clutter_pool(2000, seed + 2)
    vq = TinyVQGAN()
    vq.load_state_dict(torch.load(os.path.join(WORK, "vqgan.pt")))
    vq.eval().requires_grad_(False)
    clip = TinyCLIP(len(world.VOCAB), world.CONTEXT)
    clip.load_state_dict(torch.load(os.path.join(WORK, init)))
    tb = TextBank()
    with torch.no_grad():  # reconstructions: the decoder's rendition of world images
        recon = np.concatenate([to_u8(vq(to_t(imgs[i:i + 500]))) for i in range(0, 4000, 500)])
    rsc = scenes[:4000]
    buf_imgs: list[np.ndarray] = []
    buf_scene: list[tuple] = []
    buf_prompt: list[tuple] = []
    snaps = (LOOP["steps"] // 3, 2 * LOOP["steps"] // 3)
    t0 = time.time()
    for r in range(rounds):
        clip.eval()
        stats = []
        for _ in range(renders_per_round // 32):
            attrs = test_prompt_attrs(rng, 32)
            caps = [world.caption_words(a, rng) for a in attrs]
            with torch.no_grad():
                t = clip.embed_text(tb(caps))
            for p in clip.parameters():
                p.requires_grad_(False)
            out = batched_render(vq, clip, t, g, LOOP, snaps)
            for p in clip.parameters():
                p.requires_grad_(True)
            for step, im in out.items():
                u8 = to_u8(im)
                for k in range(32):
                    rs = read_render(u8[k])
                    buf_imgs.append(u8[k]); buf_scene.append(rs); buf_prompt.append(attrs[k])
                    if step == LOOP["steps"]:
                        a = attrs[k]
                        stats.append(rs[0] == a[0] and rs[2] == a[2] and (a[2] < 0 or True) and rs[1] == a[1])
        log("adv", f"round {r}: renders right (clean judge reading == prompt, final) {np.mean(stats):.3f} "
                   f"of {len(stats)}; buffer {len(buf_imgs)}  {time.time() - t0:.0f}s")
        clip.train()
        opt = torch.optim.AdamW(clip.parameters(), lr=3e-4, weight_decay=0.01)
        bi = np.stack(buf_imgs); bs = np.array(buf_scene, np.int64); bp = buf_prompt
        # newest renders weigh more: sample from the whole buffer, half from this round
        n_new = len(stats) * (len(snaps) + 1)
        for it in range(steps_per_round):
            nr = batch // 4
            half = nr // 2
            ridx = np.concatenate([rng.integers(len(bi) - n_new, len(bi), half), rng.integers(0, len(bi), nr - half)])
            n_clean = batch // 2 - nr
            ci, cs = clean_batch(rng, imgs, scenes, n_clean)
            ki = rng.integers(0, len(recon), batch // 8)
            nclut = batch // 16
            cl = clutter[rng.integers(0, len(clutter), nclut)]
            # for each render: a clean world image of its prompt (so the prompt text has a positive)
            pim, psc = [], []
            for j in ridx:
                a = bp[j]
                full = tuple(int(v) if v >= 0 else int(rng.integers(2 if q == 3 else 9)) for q, v in enumerate(a))
                full = world.Scene(full[0], full[1], a[2] if a[2] >= 0 else int((a[0] + 1 + rng.integers(7)) % 8), full[3], full[4])
                pim.append(world.render(full, rng)); psc.append(full.as_tuple())
            x = to_t(np.concatenate([bi[ridx], np.stack(pim), ci, recon[ki], cl]))
            sc_all = np.concatenate([bs[ridx], np.array(psc, np.int64), cs, rsc[ki], -np.ones((nclut, 5), np.int64)])
            pix = augment(x, g, cut_min=0.5, noise=0.1)
            attrs, caps = captions_for(np.concatenate([cs, rsc[ki]]), rng)
            for j in ridx:  # the prompt itself + the render's own reading (if clean)
                attrs.append(bp[j]); caps.append(world.caption_words(bp[j], rng))
                if bs[j][0] >= 0:
                    a = (int(bs[j][0]), int(bs[j][1]), int(bs[j][2]), -1, -1)
                    attrs.append(a); caps.append(world.caption_words(a, rng))
            loss, acc = clip_loss(clip, pix, sc_all, attrs, caps, tb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if it % 50 == 0 or it == steps_per_round - 1:
                log("adv", f"round {r} step {it} loss {loss.item():.4f} acc {acc:.3f}  {time.time() - t0:.0f}s")
        torch.save(clip.state_dict(), os.path.join(WORK, f"clip_adv{r}.pt"))
    torch.save(clip.state_dict(), os.path.join(WORK, "clip.pt"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["vqgan", "clip0", "adv"])
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--renders", type=int, default=128)
    ap.add_argument("--init", default="clip0.pt")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(WORK, exist_ok=True)
    if a.stage == "vqgan":
        train_vqgan(a.steps or 900, a.batch or 32, a.seed)
    elif a.stage == "clip0":
        train_clip0(a.steps or 600, a.batch or 64, a.seed)
    else:
        train_adv(a.rounds, a.renders, a.steps or 300, a.batch or 128, a.seed, a.init)


if __name__ == "__main__":
    main()
