"""Train the bundled tiny-shapes model (small FSQ-VQGAN + small CLIP) from scratch.

Regenerate the whole bundle (about an hour and a quarter on 2 free CPU cores; seeded):

    bash models/train-tiny.sh

which runs these stages (from models/, with ../../shared/tools/pytorch-env python -m ...):

    train_tiny vqgan --ds 16                 # the bundle's FSQ autoencoder, latent 8x4x4
    train_tiny vqgan (+ --init, 2nd phase)   # a 4x8x8 one, only to blur some CLIP training images
    train_tiny shape --init none ...         # CLIP from scratch: hard-negative captions + shape triples
    train_tiny adv --init clip_s2.pt ...     # 6 CLIP rounds on the loop's own renders
    export_tiny --clip .work/clip.pt         # -> models/tiny-shapes/

Checkpoints and logs go to models/.work/ (git-ignored). The two `vqgan` runs are independent
and run in parallel, one thread each (`clip0` and `clip1` are the first session's CLIP stages,
kept for comparison). The `adv` stage renders prompts with the same VQGAN-CLIP
loop the engine runs (batched, in PyTorch), reads each render with the quality judge's pixel
rules and trains CLIP further: a render is a negative for the prompt that produced it unless it
shows that prompt, and a clean render (one shape on a plain background) is a positive for the
caption that describes it; decoded perturbed/random latents are labelled the same way.
`evalclip --init X.pt` prints zero-shot accuracy over the 168 "a <c> <s> on a <bg> background"
captions.
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
# the VQGAN checkpoint (in .work/) the CLIP stages render with (--vqgan)
VQGAN_CKPT = "vqgan.pt"

LOOP = {"steps": 100, "cutn": 8, "cutPow": 1.0, "cutMin": 0.75, "lr": 0.25, "noise": 0.05}


def log(stage: str, msg: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} [{stage}] {msg}"
    print(line, flush=True)


def to_t(imgs: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0


# ---- stage 1: VQGAN ------------------------------------------------------------------------

def train_vqgan(steps: int, batch: int, seed: int, init: str | None = None, ds: int = 8,
                out: str = "vqgan.pt") -> None:
    torch.manual_seed(seed)
    imgs, _ = world.make_pool(12000, seed)
    data = to_t(imgs)
    vq = TinyVQGAN(ds)
    lr = 3e-3
    if init:  # a second phase from a checkpoint, lower peak rate
        vq = TinyVQGAN.from_state_dict(torch.load(os.path.join(WORK, init)))
        lr = 1.5e-3
    opt = torch.optim.Adam(vq.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.05)
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
        if (it + 1) % 500 == 0:
            torch.save(vq.state_dict(), os.path.join(WORK, out))
    torch.save(vq.state_dict(), os.path.join(WORK, out))
    with torch.no_grad():
        vq.eval()
        x = data[:512]
        log("vqgan", f"eval psnr {-10 * math.log10(F.mse_loss(vq(x), x).item()):.1f} dB")


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
              captions: list[list[str]], tb: TextBank, emb: list | None = None) -> tuple[torch.Tensor, float]:
    """Multi-positive contrastive loss. scenes [I,5] (-1 row: negative only, -2 field: unknown).
    `emb`, when given, receives the image and text embeddings."""
    ei = clip.embed_image(pix)
    et = clip.embed_text(tb(captions))
    if emb is not None:
        emb.extend([ei, et])
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
        a = tuple(-1 if v == -2 else v for v in a)  # unknown size/position: not mentioned
        attrs.append(a)
        caps.append(world.caption_words(a, rng))
        if hard:
            h = world.hard_negative_attrs(a, rng)
            attrs.append(h)
            caps.append(world.caption_words(h, rng))
    return attrs, caps


def train_clip0(steps: int, batch: int, seed: int, init: str | None = None, out: str = "clip0.pt") -> None:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    imgs, scenes = world.make_pool(16000, seed + 1)
    clutter = world.make_clutter_pool(2000, seed + 2)
    clip = TinyCLIP(len(world.VOCAB), world.CONTEXT)
    if init:
        clip.load_state_dict(torch.load(os.path.join(WORK, init)))
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
    torch.save(clip.state_dict(), os.path.join(WORK, out))


# ---- the loop, batched (B independent renders) ---------------------------------------------

def batched_render(vq: TinyVQGAN, clip: TinyCLIP, targets: torch.Tensor, g: torch.Generator,
                   loop: dict, snapshots: tuple[int, ...]) -> dict[int, torch.Tensor]:
    """targets [B,D] -> {step: images [B,3,64,64]} (image before that step; `steps` = final)."""
    b = targets.shape[0]
    hw = world.SIZE // vq.ds
    z = (torch.rand(b, vq.channels, hw, hw, generator=g) * 2 - 1) * HALF * loop.get("init", 1.0)
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
        if loop.get("tv", 0):
            loss = loss + loop["tv"] * tv_loss(img).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            z.clamp_(-HALF, HALF)
    return out


def tv_loss(img: torch.Tensor) -> torch.Tensor:
    """[B,3,H,W] -> [B] mean absolute difference of neighbouring pixels (total variation)."""
    dx = (img[..., :, 1:] - img[..., :, :-1]).abs().mean((1, 2, 3))
    dy = (img[..., 1:, :] - img[..., :-1, :]).abs().mean((1, 2, 3))
    return dx + dy


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


def aux_loss(heads: torch.nn.Linear, clip: TinyCLIP, pix: torch.Tensor, scenes: np.ndarray) -> torch.Tensor:
    """Cross-entropy of linear read-outs (colour, shape, background) of the image embedding, on
    images with a known scene: makes the embedding carry shape, which contrast alone learnt slowly."""
    known = torch.from_numpy(scenes[:, 0] >= 0)
    if not known.any():
        return pix.new_zeros(())
    sc = torch.from_numpy(scenes[known.numpy()])
    out = heads(10.0 * clip.embed_image(pix[known]))
    return (F.cross_entropy(out[:, :8], sc[:, 0]) + 2 * F.cross_entropy(out[:, 8:11], sc[:, 1])
            + F.cross_entropy(out[:, 11:], sc[:, 2]))


def train_adv(rounds: int, renders_per_round: int, steps_per_round: int, batch: int, seed: int,
              init: str, aux: float = 0.0, out: str = "clip.pt") -> None:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    imgs, scenes = world.make_pool(16000, seed + 1)
    clutter = world.make_clutter_pool(2000, seed + 2)
    vq = TinyVQGAN.from_state_dict(torch.load(os.path.join(WORK, VQGAN_CKPT)))
    vq.eval().requires_grad_(False)
    clip = TinyCLIP(len(world.VOCAB), world.CONTEXT)
    clip.load_state_dict(torch.load(os.path.join(WORK, init)))
    tb = TextBank()
    heads = torch.nn.Linear(clip.image.fc2.out_channels, 8 + 3 + 8)
    di, ds = decoded_pool(vq, imgs, scenes, 4000, rng, g)
    log("adv", f"decoded pool {len(di)}: labelled {int((ds[:, 0] >= 0).sum())}")
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
            rendered = batched_render(vq, clip, t, g, LOOP, snaps)
            for p in clip.parameters():
                p.requires_grad_(True)
            for step, im in rendered.items():
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
        opt = torch.optim.AdamW([{"params": clip.parameters()},
                                 {"params": heads.parameters(), "lr": 3e-3}], lr=3e-4, weight_decay=0.01)
        bi = np.stack(buf_imgs); bs = np.array(buf_scene, np.int64); bp = buf_prompt
        # newest renders weigh more: sample from the whole buffer, half from this round
        n_new = len(stats) * (len(snaps) + 1)
        for it in range(steps_per_round):
            nr = batch // 4
            half = nr // 2
            ridx = np.concatenate([rng.integers(len(bi) - n_new, len(bi), half), rng.integers(0, len(bi), nr - half)])
            nd, nclut = batch // 4, batch // 16
            n_clean = batch - 2 * nr - nd - nclut
            ci, cs = clean_batch(rng, imgs, scenes, n_clean)
            ki = rng.integers(0, len(di), nd)
            cl = clutter[rng.integers(0, len(clutter), nclut)]
            # for each render: a clean world image of its prompt (so the prompt text has a positive)
            pim, psc = [], []
            for j in ridx:
                a = bp[j]
                full = tuple(int(v) if v >= 0 else int(rng.integers(2 if q == 3 else 9)) for q, v in enumerate(a))
                full = world.Scene(full[0], full[1], a[2] if a[2] >= 0 else int((a[0] + 1 + rng.integers(7)) % 8), full[3], full[4])
                pim.append(world.render(full, rng)); psc.append(full.as_tuple())
            x = to_t(np.concatenate([bi[ridx], np.stack(pim), ci, di[ki], cl]))
            sc_all = np.concatenate([bs[ridx], np.array(psc, np.int64), cs, ds[ki], -np.ones((nclut, 5), np.int64)])
            pix = augment(x, g, cut_min=0.5, noise=0.1)
            dk = ds[ki]
            attrs, caps = captions_for(np.concatenate([cs, dk[dk[:, 0] >= 0]]), rng)
            for j in ridx:  # the prompt itself + the render's own reading (if clean)
                attrs.append(bp[j]); caps.append(world.caption_words(bp[j], rng))
                if bs[j][0] >= 0:
                    a = (int(bs[j][0]), int(bs[j][1]), int(bs[j][2]), -1, -1)
                    attrs.append(a); caps.append(world.caption_words(a, rng))
            loss, acc = clip_loss(clip, pix, sc_all, attrs, caps, tb)
            if aux:
                loss = loss + aux * aux_loss(heads, clip, pix, sc_all)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if it % 50 == 0 or it == steps_per_round - 1:
                log("adv", f"round {r} step {it} loss {loss.item():.4f} acc {acc:.3f}  {time.time() - t0:.0f}s")
        torch.save(clip.state_dict(), os.path.join(WORK, f"{out[:-3]}_r{r}.pt"))
    torch.save(clip.state_dict(), os.path.join(WORK, out))


# ---- stage 2b: CLIP on the decoder's own outputs, read with the judge's pixel rules ----------

def judged_scene(u8: np.ndarray, scene: tuple | None) -> tuple:
    """Label a decoded image: the world scene when the judge reads it as that scene, else the
    judge's own reading when the image is clean (size/pos unknown = -2), else a pure negative."""
    j = judge(u8)
    if j["clean"]:
        read = (world.COLOURS.index(j["colour"]), world.SHAPES.index(j["shape"]), world.COLOURS.index(j["background"]))
        if scene is not None and tuple(scene[:3]) == read:
            return tuple(int(v) for v in scene)
        return (*read, -2, -2)
    return (-1, -1, -1, -1, -1)


def decoded_pool(vq: TinyVQGAN, imgs: np.ndarray, scenes: np.ndarray, n: int, rng: np.random.Generator,
                 g: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n/2 reconstructions, n/3 latents with a rectangle of cells replaced (random codes or another
    image's), n/6 random latents; each decoded and labelled with judged_scene."""
    out_i, out_s = [], []
    with torch.no_grad():
        for start in range(0, n, 256):
            k = min(256, n - start)
            idx = rng.integers(0, len(imgs), k)
            z = vq.encoder(to_t(imgs[idx]))
            kind = rng.random(k)
            other = vq.encoder(to_t(imgs[rng.integers(0, len(imgs), k)]))
            rnd = (torch.rand(z.shape, generator=g) * 2 - 1) * HALF
            for b in range(k):
                if kind[b] < 0.5:
                    continue
                if kind[b] < 0.84:
                    cells = world.SIZE // vq.ds
                    y0, x0 = rng.integers(0, cells, 2)
                    hh, ww = rng.integers(1, cells // 2 + 1, 2)
                    src = rnd if rng.random() < 0.5 else other
                    z[b, :, y0:y0 + hh, x0:x0 + ww] = src[b, :, y0:y0 + hh, x0:x0 + ww]
                else:
                    z[b] = rnd[b]
            u8 = to_u8(vq.decode01(z))
            for b in range(k):
                out_i.append(u8[b])
                out_s.append(judged_scene(u8[b], scenes[idx[b]] if kind[b] < 0.84 else None))
    return np.stack(out_i), np.array(out_s, np.int64)


def train_clip1(steps: int, batch: int, seed: int) -> None:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    imgs, scenes = world.make_pool(16000, seed + 1)
    clutter = world.make_clutter_pool(2000, seed + 2)
    vq = TinyVQGAN.from_state_dict(torch.load(os.path.join(WORK, VQGAN_CKPT)))
    vq.eval().requires_grad_(False)
    clip = TinyCLIP(len(world.VOCAB), world.CONTEXT)
    clip.load_state_dict(torch.load(os.path.join(WORK, "clip0b.pt")))
    t0 = time.time()
    di, ds = decoded_pool(vq, imgs, scenes, 6000, rng, g)
    log("clip1", f"decoded pool {len(di)}: labelled {int((ds[:, 0] >= 0).sum())}, "
                 f"negatives {int((ds[:, 0] < 0).sum())}  {time.time() - t0:.0f}s")
    opt = torch.optim.AdamW(clip.parameters(), lr=6e-4, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=6e-4, total_steps=steps, pct_start=0.1)
    tb = TextBank()
    nd, nclut = batch // 2, batch // 16
    for it in range(steps):
        ci, cs = clean_batch(rng, imgs, scenes, batch - nd - nclut)
        k = rng.integers(0, len(di), nd)
        x = to_t(np.concatenate([ci, di[k], clutter[rng.integers(0, len(clutter), nclut)]]))
        sc_all = np.concatenate([cs, ds[k], -np.ones((nclut, 5), np.int64)])
        pix = augment(x, g, cut_min=0.5, noise=0.1)
        attrs, caps = captions_for(np.concatenate([cs, ds[k][ds[k][:, 0] >= 0]]), rng)
        loss, acc = clip_loss(clip, pix, sc_all, attrs, caps, tb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if it % 50 == 0 or it == steps - 1:
            log("clip1", f"step {it} loss {loss.item():.4f} acc {acc:.3f}  {time.time() - t0:.0f}s")
    torch.save(clip.state_dict(), os.path.join(WORK, "clip1.pt"))
    torch.save(clip.state_dict(), os.path.join(WORK, "clip.pt"))


# ---- stage 2c: shape fine-tune (triplets that differ only in shape) ------------------------

def shape_triplets(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n scenes, each rendered as circle, square and triangle with the same colours, size,
    position and jitter: uint8 [n*3,64,64,3], scenes [n*3,5] (row 3k+s has shape s)."""
    rng = np.random.default_rng(seed)
    imgs = np.empty((n * 3, world.SIZE, world.SIZE, 3), np.uint8)
    scenes = np.empty((n * 3, 5), np.int64)
    for i in range(n):
        c, _, b, z, p = world.sample_scene(rng).as_tuple()
        jseed = int(rng.integers(1 << 31))
        for s in range(3):
            sc = world.Scene(c, s, b, z, p)
            imgs[3 * i + s] = world.render(sc, np.random.default_rng(jseed))
            scenes[3 * i + s] = sc.as_tuple()
    return imgs, scenes


def train_shape(steps: int, batch: int, seed: int, init: str, out: str, shape_w: float, recon: float,
                stop: int = 0) -> None:
    """Continue a CLIP with batches of shape triplets (captions of the siblings are the hard
    negatives), some reconstructed by the fixed VQGAN decoder, plus a shape-only 3-way
    cross-entropy term weighted `shape_w`, and a quarter of ordinary clean images."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    timgs, tscenes = shape_triplets(4000, seed + 1)
    imgs, scenes = world.make_pool(4000, seed + 2)
    vq = TinyVQGAN.from_state_dict(torch.load(os.path.join(WORK, VQGAN_CKPT)))
    vq.eval().requires_grad_(False)
    clip = TinyCLIP(len(world.VOCAB), world.CONTEXT)
    if init != "none":  # "none": from scratch
        clip.load_state_dict(torch.load(os.path.join(WORK, init)))
    lr = 1e-3 if init != "none" else 1.5e-3
    opt = torch.optim.AdamW(clip.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.05)
    tb = TextBank()
    t0 = time.time()
    ntrip = (batch * 3 // 4) // 3
    nclean = batch - 3 * ntrip
    for it in range(stop or steps):  # `stop`: end early on the `steps`-long schedule
        k = rng.integers(0, len(timgs) // 3, ntrip)
        tidx = (3 * k[:, None] + np.arange(3)[None]).reshape(-1)
        im, sc = clean_batch(rng, imgs, scenes, nclean)
        x = to_t(np.concatenate([timgs[tidx], im]))
        sc_all = np.concatenate([tscenes[tidx], sc])
        if recon > 0:
            m = torch.from_numpy(np.repeat(rng.random(ntrip) < recon, 3))
            with torch.no_grad():
                xr = vq.decode01(vq.encoder(x[: 3 * ntrip]))
            x = torch.cat([torch.where(m[:, None, None, None], xr, x[: 3 * ntrip]), x[3 * ntrip:]])
        pix = augment(x, g, cut_min=0.6, noise=0.08)
        # triplet captions: one truthful caption per scene, asked for all three shapes
        attrs, caps = [], []
        for j in range(ntrip):
            a = world.sample_caption_attrs(world.Scene(*tscenes[tidx[3 * j]]), rng)
            a = tuple(-1 if v == -2 else v for v in a)
            for s in range(3):
                ai = (a[0], s, *a[2:])
                attrs.append(ai)
                caps.append(world.caption_words(ai, rng))
        a2, c2 = captions_for(sc, rng)
        emb: list = []
        loss, acc = clip_loss(clip, pix, sc_all, attrs + a2, caps + c2, tb, emb)
        ei = emb[0][: 3 * ntrip].view(ntrip, 3, -1)
        et = emb[1][: 3 * ntrip].view(ntrip, 3, -1)
        sl = torch.einsum("nid,ntd->nit", ei, et) * clip.logit_scale.exp().clamp(max=100)
        tgt = torch.arange(3).repeat(ntrip)
        lshape = F.cross_entropy(sl.reshape(-1, 3), tgt)
        sacc = (sl.reshape(-1, 3).argmax(1) == tgt).float().mean().item()
        total = loss + shape_w * lshape
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        sched.step()
        if it % 50 == 0 or it == steps - 1:
            log("shape", f"step {it} loss {loss.item():.4f} acc {acc:.3f} shape-ce {lshape.item():.4f} "
                         f"shape-acc {sacc:.3f} {time.time() - t0:.0f}s")
        if (it + 1) % 500 == 0 or it == (stop or steps) - 1:
            clip.eval()
            log("shape", f"step {it} zero-shot {json.dumps(eval_clip(clip, 256))}")
            clip.train()
            torch.save(clip.state_dict(), os.path.join(WORK, out))
    torch.save(clip.state_dict(), os.path.join(WORK, out))


def eval_clip(clip: TinyCLIP, n: int = 512, seed: int = 77, cut_min: float = 1.0) -> dict:
    """Zero-shot: each image against all 168 "a <c> <s> on a <bg> background" captions."""
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    imgs, scenes = world.make_pool(n, seed)
    attrs = [(c, s, b, -1, -1) for c in range(8) for s in range(3) for b in range(8) if b != c]
    tb = TextBank()
    with torch.no_grad():
        t = clip.embed_text(tb([["a", world.COLOURS[c], world.SHAPES[s], "on", "a", world.COLOURS[b], "background"]
                                for c, s, b, _, _ in attrs]))
        x = to_t(imgs)
        pix = augment(x, g, cut_min=cut_min, noise=0.0) if cut_min < 1 else F.interpolate(x, size=INPUT, mode="area")
        best = (clip.embed_image(pix) @ t.T).argmax(1).numpy()
    got = np.array([attrs[b][:3] for b in best])
    return {"colour": float((got[:, 0] == scenes[:, 0]).mean()), "shape": float((got[:, 1] == scenes[:, 1]).mean()),
            "bg": float((got[:, 2] == scenes[:, 2]).mean()), "all": float((got == scenes[:, :3]).all(1).mean())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["vqgan", "clip0", "clip1", "adv", "shape", "evalclip"])
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--renders", type=int, default=64)
    ap.add_argument("--init", default="clip0.pt")
    ap.add_argument("--aux", type=float, default=0.0)
    ap.add_argument("--shape-w", type=float, default=1.0)
    ap.add_argument("--stop", type=int, default=0, help="shape stage: stop after this many steps of the schedule")
    ap.add_argument("--recon", type=float, default=0.5)
    ap.add_argument("--out", default="clip.pt")
    ap.add_argument("--vqgan", default="vqgan.pt", help="VQGAN checkpoint in .work/ (vqgan stage: the output)")
    ap.add_argument("--ds", type=int, default=8, choices=[8, 16], help="vqgan stage: latent downsampling")
    a = ap.parse_args()
    global VQGAN_CKPT
    VQGAN_CKPT = a.vqgan
    torch.set_num_threads(a.threads)
    os.makedirs(WORK, exist_ok=True)
    if a.stage == "vqgan":
        if a.init != "clip0.pt":
            train_vqgan(a.steps or 600, a.batch or 32, a.seed + 1, a.init, out=a.vqgan)
        else:
            train_vqgan(a.steps or 700, a.batch or 32, a.seed, ds=a.ds, out=a.vqgan)
    elif a.stage == "clip0":
        if a.init != "clip0.pt":  # continue a checkpoint (second clean-image phase)
            train_clip0(a.steps or 400, a.batch or 64, a.seed + 1, a.init, "clip0b.pt")
        else:
            train_clip0(a.steps or 650, a.batch or 64, a.seed)
    elif a.stage == "evalclip":
        from .export_tiny import load_clip
        c = load_clip(os.path.join(WORK, a.init))
        print(json.dumps({"full": eval_clip(c), "cut0.75": eval_clip(c, cut_min=0.75)}))
    elif a.stage == "shape":
        train_shape(a.steps or 300, a.batch or 96, a.seed, a.init, a.out, a.shape_w, a.recon, a.stop)
    elif a.stage == "clip1":
        train_clip1(a.steps or 400, a.batch or 64, a.seed)
    else:
        train_adv(a.rounds, a.renders, a.steps or 200, a.batch or 96, a.seed, a.init, a.aux, a.out)


if __name__ == "__main__":
    main()
