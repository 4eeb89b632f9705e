"""Why the reference loop gets a tiny-shapes prompt wrong: the tower or the optimisation?

Run from models/ (pytorch-env; no renders leave the process):

    pytorch-env python -m tessera_models.diagnose_ref prefer [--bundle tiny-shapes]
        Under the loop's own views (generate.py `latest` cutouts), which of the 168 clean scenes does
        the reference tower score best for each template prompt? Prints the prompts whose own scene
        loses and by how much. (Committed tower, 2026-12-04: 152/168, colour+background 163/168.)
    pytorch-env python -m tessera_models.diagnose_ref stuck --seed 77 [--n 32]
        Renders n template prompts with the batched PyTorch reference loop, judges them, and compares
        each render's loss with the loss of a clean image of its prompt (same views): a wrong render
        with the higher loss is stuck (the optimiser missed a better image the tower would prefer);
        with the lower loss the tower is fooled. (2026-12-04: all 7 wrong of 32 were stuck, 6 of them
        white-background prompts.)
    pytorch-env python -m tessera_models.diagnose_ref background --bg white --seed 11 [--variant noEr]
        32 prompts on one background under a loop variant (default, noEr: RandomErasing off, noWarp:
        Af and Pe off, lr4: lr 0.4): how many come out with the right colour and background.
        (2026-12-04, white, seed 11: default 19/32, noEr 15, noWarp 8, lr4 19.)
    pytorch-env python -m tessera_models.diagnose_ref barrier [--clip .work/X.pt]
        Why it gets stuck: 8 scenes on a wrong background repainted in white one 16x16 token patch
        at a time; prints the white prompt's loss (32 views) at 0, 1, ..., 16 patches. (2026-12-05,
        committed tower: the loss first rises, e.g. 0.78 0.79 0.92 0.85 1.07 ... 0.41 0.35, and
        falls below the start only past half the patches: a barrier; see path_rank.py.)
"""
from __future__ import annotations

import argparse

import numpy as np

from . import onednn_isa  # before torch: oneDNN's AVX-512/AVX2 kernels are wrong on this CPU
import torch

from . import train_ref, world
from .from_bundle import load_tiny
from .judge import judge
from .train_ref import REF_LOOP, ref_render, ref_views, template_prompts, template_words
from .train_tiny import TextBank, to_t, to_u8

C, S = world.COLOURS, world.SHAPES


def view_loss(clip, t: torch.Tensor, u8: np.ndarray, views: int, seed: int = 1) -> np.ndarray:
    """[P,D] prompts × [I,64,64,3] images -> [P,I] loss (spherical distance², mean over views)."""
    with torch.no_grad():
        e = clip.embed_image(ref_views(to_t(u8), views, torch.Generator().manual_seed(seed)))
        e = e.view(len(u8), views, -1)
        d = (e[None] - t[:, None, None]).norm(dim=-1)
        return (2 * torch.asin(torch.clamp(d / 2, max=1)) ** 2).mean(-1).numpy()


def clean(attrs: list[tuple], rng: np.random.Generator) -> np.ndarray:
    return np.stack([world.render(world.Scene(a[0], a[1], a[2], 1, 0), rng) for a in attrs])


def prefer(bundle: str) -> None:
    clip = load_tiny(bundle, reference=True)[1]
    trip = [(c, s, b, -1, -1) for c in range(8) for s in range(3) for b in range(8) if b != c]
    with torch.no_grad():
        t = clip.embed_text(TextBank()([template_words(a) for a in trip]))
    loss = view_loss(clip, t, clean(trip, np.random.default_rng(0)), 16, 0)
    best = loss.argmin(1)
    for p in np.nonzero(best != np.arange(len(trip)))[0]:
        a, q = trip[p], trip[best[p]]
        print(f"  {C[a[0]]} {S[a[1]]} on {C[a[2]]} -> prefers {C[q[0]]} {S[q[1]]} on {C[q[2]]}"
              f"  by {loss[p, p] - loss[p, best[p]]:.4f}")
    own = int((best == np.arange(len(trip))).sum())
    okc = sum(trip[best[p]][0] == trip[p][0] and trip[best[p]][2] == trip[p][2] for p in range(len(trip)))
    print(f"{bundle}: own scene best {own}/{len(trip)}; colour+background of the best right {okc}/{len(trip)}")


def render(bundle: str, attrs: list[tuple], seed: int, loop: dict) -> tuple:
    vq, _ = load_tiny(bundle)
    clip = load_tiny(bundle, reference=True)[1]
    with torch.no_grad():
        t = clip.embed_text(TextBank()([template_words(a) for a in attrs]))
    img = ref_render(vq, clip, t, torch.Generator().manual_seed(seed), loop, ())[loop["steps"]]
    return clip, t, to_u8(img)


def stuck(bundle: str, seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    attrs = template_prompts(rng, n, [])
    clip, t, u8 = render(bundle, attrs, seed, REF_LOOP)
    lr = np.diag(view_loss(clip, t, u8, 64))
    lc = np.diag(view_loss(clip, t, clean(attrs, rng), 64))
    right = 0
    for k, a in enumerate(attrs):
        j = judge(u8[k])
        ok = j["colour"] == C[a[0]] and j["background"] == C[a[2]]
        right += ok
        verdict = "" if ok else "fooled" if lr[k] < lc[k] else "stuck"
        print(f"{'  ' if ok else 'X '}{C[a[0]]} {S[a[1]]} on {C[a[2]]} -> {j['colour']} {j['shape']} on "
              f"{j['background']}  loss render {lr[k]:.4f} clean {lc[k]:.4f}  {verdict}")
    print(f"colour+background right {right}/{n}")


def background(bundle: str, bg: str, seed: int, variant: str) -> None:
    rng = np.random.default_rng(seed)
    b = C.index(bg)
    trip = [(c, s, b, -1, -1) for c in range(8) if c != b for s in range(3)]
    attrs = [trip[k % len(trip)] for k in rng.permutation(32)]
    loop = {**REF_LOOP, "lr": 0.4} if variant == "lr4" else dict(REF_LOOP)
    draws = train_ref.ref_draws
    if variant in ("noEr", "noWarp"):
        def patched(*a, **k):
            d = draws(*a, **k)
            if variant == "noEr":
                d["erase"] = torch.ones_like(d["erase"])
            else:
                d["warps"] = torch.eye(3).expand_as(d["warps"]).clone()
            return d
        train_ref.ref_draws = patched
    try:
        _, _, u8 = render(bundle, attrs, seed, loop)
    finally:
        train_ref.ref_draws = draws
    read = [judge(u8[k]) for k in range(len(attrs))]
    right = sum(j["colour"] == C[a[0]] and j["background"] == bg for a, j in zip(attrs, read))
    got = [j["background"] for j in read]
    print(f"{variant} seed {seed} on {bg}: colour+background right {right}/32; backgrounds read: "
          + ", ".join(f"{x} {got.count(x)}" for x in sorted(set(got))))


def barrier(bundle: str, clip_path: str | None) -> None:
    from .export_tiny import load_clip
    clip = load_clip(clip_path) if clip_path else load_tiny(bundle, reference=True)[1]
    rng = np.random.default_rng(1)
    pal, white = world.PALETTE_ARRAY, C.index("white")
    for c, s, w in [("orange", "square", "green"), ("red", "square", "green"), ("purple", "circle", "blue"),
                    ("blue", "circle", "purple"), ("black", "circle", "purple"), ("yellow", "square", "green"),
                    ("green", "circle", "purple"), ("red", "triangle", "orange")]:
        ci, si, wi = C.index(c), S.index(s), C.index(w)
        img = world.render(world.Scene(ci, si, wi, 1, 0), rng)
        wrong_bg = np.all(np.abs(img.astype(int) - pal[wi].astype(int)) < 40, -1)
        seq, cur = [img], img.copy()
        for t in rng.permutation(16):
            sl = (slice(16 * (t // 4), 16 * (t // 4) + 16), slice(16 * (t % 4), 16 * (t % 4) + 16))
            patch = cur[sl]
            patch[wrong_bg[sl]] = pal[white]
            seq.append(cur.copy())
        with torch.no_grad():
            t = clip.embed_text(TextBank()([template_words((ci, si, white, -1, -1))]))
        loss = view_loss(clip, t, np.stack(seq), 32)[0]
        print(f"{c} {s} on white, from {w}: " + " ".join(f"{v:.2f}" for v in loss))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["prefer", "stuck", "background", "barrier"])
    ap.add_argument("--clip", default=None, help="barrier: a CLIP checkpoint instead of the bundle's reference tower")
    ap.add_argument("--bundle", default=train_ref.BUNDLE)
    ap.add_argument("--seed", type=int, default=77)
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--bg", default="white", choices=C)
    ap.add_argument("--variant", default="default", choices=["default", "noEr", "noWarp", "lr4"])
    ap.add_argument("--steps", type=int, default=200, help="steps of each render")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    onednn_isa.check()
    torch.set_num_threads(a.threads)
    REF_LOOP["steps"] = a.steps
    if a.cmd == "prefer":
        prefer(a.bundle)
    elif a.cmd == "stuck":
        stuck(a.bundle, a.seed, a.n)
    elif a.cmd == "barrier":
        barrier(a.bundle, a.clip)
    else:
        background(a.bundle, a.bg, a.seed, a.variant)


if __name__ == "__main__":
    main()
