"""A small CLIP for the tiny-shapes world plus the VQGAN-CLIP guide (cutouts + loss).

Image tower: a convnet on 32x32 cutouts (CLIP-normalises its [0,1] input itself).
Text tower: word embeddings + a 2-layer transformer (attention written as softmax(q k^T) v),
pooled at the <eot> token like CLIP.
"""
from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F

EMBED = 128
INPUT = 32
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)


class ImageTower(nn.Module):
    def __init__(self, d: int = EMBED):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 24, 3, padding=1), nn.SiLU(),
            nn.Conv2d(24, 48, 4, stride=2, padding=1), nn.SiLU(),    # 16
            nn.Conv2d(48, 96, 4, stride=2, padding=1), nn.SiLU(),    # 8
            nn.Conv2d(96, 96, 3, padding=1), nn.SiLU(),
            nn.Conv2d(96, 128, 4, stride=2, padding=1), nn.SiLU(),   # 4
        )
        self.fc1 = nn.Conv2d(128, 256, 4)   # a dense layer over the 4x4 map, as a conv (no reshape)
        self.fc2 = nn.Conv2d(256, d, 1)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, pixels01: torch.Tensor) -> torch.Tensor:
        """[B,3,32,32] in [0,1] -> unnormalised embedding [B,D]."""
        h = self.net((pixels01 - self.mean) / self.std)
        return self.fc2(F.silu(self.fc1(h))).mean((2, 3))


class Linear(nn.Linear):
    """nn.Linear that, in training mode, runs as a 1x1 convolution: the CPU matmul of the
    pytorch-env's torch build is ~20x slower than its oneDNN convolution (measured: 4096x128 @
    128x384 forward+backward 268 ms vs 17 ms). Same parameters and maths; eval mode (export,
    parity tests, the reference loop) is the plain Linear."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        lead = x.shape[:-1]
        y = F.conv2d(x.reshape(-1, x.shape[-1]).T[None, :, :, None], self.weight[:, :, None, None], self.bias)
        return y[0, :, :, 0].T.reshape(*lead, -1)


class Block(nn.Module):
    def __init__(self, w: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(w)
        self.qkv = Linear(w, 3 * w)
        self.proj = Linear(w, w)
        self.ln2 = nn.LayerNorm(w)
        self.mlp = nn.Sequential(Linear(w, 2 * w), nn.GELU(), Linear(2 * w, w))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, l, w = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, l, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(w // self.heads) + mask, dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, l, w))
        return x + self.mlp(self.ln2(x))


class TextTower(nn.Module):
    def __init__(self, vocab_size: int, context: int, d: int = EMBED, w: int = 128, layers: int = 2):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, w)
        self.pos = nn.Parameter(torch.randn(context, w) * 0.02)
        self.blocks = nn.ModuleList([Block(w, 4) for _ in range(layers)])
        self.ln = nn.LayerNorm(w)
        self.out = Linear(w, d)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """int64 [B,L] -> unnormalised embedding [B,D]."""
        x = self.tok(tokens) + self.pos[: tokens.shape[1]]
        pad = (tokens == 0).to(x.dtype)
        mask = (pad * -1e4)[:, None, None, :]
        for blk in self.blocks:
            x = blk(x, mask)
        eot = torch.argmax((tokens == 2).to(torch.int64), dim=1)
        x = x[torch.arange(tokens.shape[0]), eot]
        return self.out(self.ln(x))


class TinyCLIP(nn.Module):
    def __init__(self, vocab_size: int, context: int):
        super().__init__()
        self.image = ImageTower()
        self.text = TextTower(vocab_size, context)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))

    def embed_image(self, pixels01):
        return F.normalize(self.image(pixels01), dim=-1)

    def embed_text(self, tokens):
        return F.normalize(self.text(tokens), dim=-1)


class TextGraph(nn.Module):
    def __init__(self, clip: TinyCLIP):
        super().__init__()
        self.clip = clip

    def forward(self, tokens):
        return self.clip.embed_text(tokens)


class ImageGraph(nn.Module):
    def __init__(self, clip: TinyCLIP):
        super().__init__()
        self.clip = clip

    def forward(self, pixels):
        return self.clip.embed_image(pixels)


# ---- the guide: cutouts and loss (shared by the step graph, the eager loop and training) ----

def area_matrix(offset: torch.Tensor, size: torch.Tensor, flip: torch.Tensor, n_in: int, n_out: int) -> torch.Tensor:
    """[..] offsets/sizes (pixels) -> [.., n_out, n_in] area-resampling matrix of the crop
    [offset, offset+size) to n_out samples, rows reversed where flip = 1."""
    i = torch.arange(n_out, dtype=offset.dtype, device=offset.device)
    j = torch.arange(n_in, dtype=offset.dtype, device=offset.device)
    o, s, f = offset[..., None], size[..., None], flip[..., None]
    ie = i + f * (n_out - 1 - 2 * i)                     # mirrored output index
    step = s / n_out
    lo = (o + ie * step)[..., None]                      # [.., n_out, 1]
    hi = lo + step[..., None]
    ov = torch.clamp(torch.minimum(j + 1, hi) - torch.maximum(j, lo), min=0.0)
    return ov / step[..., None]


def make_cutouts(img: torch.Tensor, cuts: torch.Tensor, s: int = INPUT) -> torch.Tensor:
    """img [1,3,H,W] (or [B,3,H,W] with cuts [B,N,4]), cuts [N,4] (x0, y0, size, flip) -> [N,3,s,s]."""
    h, w = img.shape[-2], img.shape[-1]
    x0, y0, size, flip = cuts.unbind(-1)
    zero = torch.zeros_like(flip)
    ry = area_matrix(y0, size, zero, h, s)               # [..N, s, H]
    rx = area_matrix(x0, size, flip, w, s)               # [..N, s, W]
    if cuts.dim() == 2:
        return ry[:, None] @ img[0][None] @ rx[:, None].transpose(-1, -2)   # [N,3,s,s]
    return ry[:, :, None] @ img[:, None] @ rx[:, :, None].transpose(-1, -2)  # [B,N,3,s,s]


def spherical_dist(e: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """e [..,N,D], t [P,D] unit -> [..,N,P] = 2 asin(|e-t|/2)^2."""
    diff = e[..., :, None, :] - t
    return 2 * torch.asin(torch.clamp(torch.sqrt((diff * diff).sum(-1) + 1e-12) / 2, max=1.0)) ** 2


def guide_loss(d: torch.Tensor, weights: torch.Tensor, stops: torch.Tensor) -> torch.Tensor:
    """d [N,P] -> Σ_p |w_p| mean_k(sign(w_p) d_pk); the gradient of d_pk is zero where d_pk < stop_p."""
    m = torch.maximum(d, stops)
    d = d.detach() + (m - m.detach())
    return (weights.abs() * (torch.sign(weights) * d).mean(0)).sum()
