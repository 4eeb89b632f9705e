"""A small VQGAN-style autoencoder for the tiny-shapes world with an FSQ latent.

Encoder 64x64 -> 4 x 8 x 8 (downsample 8) or 8 x 4 x 4 (downsample 16, the bundle's), bounded to [-h, h] per channel; quantise = round
(finite scalar quantisation, Mentzer et al. 2023) with the straight-through estimator; the
decoder maps the integer grid (scaled to [-1, 1]) back to an image in [-1, 1].
BatchNorm after each inner conv (it trains much faster); in eval mode it is a per-channel affine
map, so the exported graphs hold only Conv, Mul/Add, Sigmoid (SiLU), Resize and their backward.
"""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

LATENT_CHANNELS = 4
LEVELS = 7           # odd: codes are the integers -3..3 per channel
HALF = (LEVELS - 1) // 2
DOWNSAMPLE = 8


def fsq(z: torch.Tensor) -> torch.Tensor:
    """round with straight-through gradient (forward: integers, backward: identity)."""
    return z + (torch.round(z) - z).detach()


class Encoder(nn.Module):
    def __init__(self, c: int = LATENT_CHANNELS, ds: int = DOWNSAMPLE):
        super().__init__()
        def cb(i, o, k, s, p):
            return [nn.Conv2d(i, o, k, stride=s, padding=p), nn.BatchNorm2d(o), nn.SiLU()]
        deep = [*cb(96, 128, 4, 2, 1), *cb(128, 128, 3, 1, 1)] if ds == 16 else [*cb(96, 96, 3, 1, 1)]
        self.net = nn.Sequential(
            *cb(3, 16, 3, 1, 1),
            *cb(16, 32, 4, 2, 1),    # 32
            *cb(32, 64, 4, 2, 1),    # 16
            *cb(64, 96, 4, 2, 1),    # 8
            *deep,                   # (ds 16: 4)
            nn.Conv2d(deep[-3].out_channels, c, 1),
        )

    def forward(self, image01: torch.Tensor) -> torch.Tensor:
        """image in [0,1] -> continuous latent in (-HALF-0.5, HALF+0.5)."""
        return (HALF + 0.49) * torch.tanh(self.net(image01 * 2 - 1))


class Decoder(nn.Module):
    def __init__(self, c: int = LATENT_CHANNELS, ds: int = DOWNSAMPLE):
        super().__init__()
        w = 128 if ds == 16 else 96
        self.inp = nn.Conv2d(c, w, 3, padding=1)
        self.res1 = nn.Conv2d(w, w, 3, padding=1)
        self.res2 = nn.Conv2d(w, w, 3, padding=1)
        self.up0 = nn.Conv2d(w, 96, 3, padding=1) if ds == 16 else None   # 8 (ds 16 only)
        self.up1 = nn.Conv2d(96, 64, 3, padding=1)   # 16
        self.up2 = nn.Conv2d(64, 32, 3, padding=1)   # 32
        self.up3 = nn.Conv2d(32, 24, 3, padding=1)   # 64
        self.out = nn.Conv2d(24, 3, 3, padding=1)
        self.bn = nn.ModuleList([nn.BatchNorm2d(c) for c in (w, w, w, 64, 32, 24)])
        self.bn0 = nn.BatchNorm2d(96) if ds == 16 else None

    def forward(self, zq: torch.Tensor) -> torch.Tensor:
        """quantised latent (integers in [-HALF, HALF]) -> image in about [-1, 1]."""
        b = self.bn
        h = F.silu(b[0](self.inp(zq / HALF)))
        h = h + b[2](self.res2(F.silu(b[1](self.res1(h)))))
        if self.up0 is not None:
            h = F.silu(self.bn0(self.up0(F.interpolate(h, scale_factor=2.0, mode="nearest"))))
        h = F.silu(b[3](self.up1(F.interpolate(h, scale_factor=2.0, mode="nearest"))))
        h = F.silu(b[4](self.up2(F.interpolate(h, scale_factor=2.0, mode="nearest"))))
        h = F.silu(b[5](self.up3(F.interpolate(h, scale_factor=2.0, mode="nearest"))))
        return self.out(h)


class TinyVQGAN(nn.Module):
    """ds 8: latent 4 x 8 x 8 at 64 px; ds 16: a coarser 8 x 4 x 4 latent (a stronger prior)."""
    def __init__(self, ds: int = DOWNSAMPLE, channels: int | None = None):
        super().__init__()
        self.ds = ds
        self.channels = channels or (8 if ds == 16 else LATENT_CHANNELS)
        self.encoder = Encoder(self.channels, ds)
        self.decoder = Decoder(self.channels, ds)

    @classmethod
    def from_state_dict(cls, sd: dict) -> "TinyVQGAN":
        """The architecture a checkpoint was trained with (read from its tensors)."""
        vq = cls(16 if "decoder.up0.weight" in sd else 8, sd["decoder.inp.weight"].shape[1])
        vq.load_state_dict(sd)
        return vq

    def decode01(self, z: torch.Tensor) -> torch.Tensor:
        """continuous latent -> image in [0,1] (quantises with straight-through)."""
        return torch.clamp((self.decoder(fsq(z)) + 1) / 2, 0, 1)

    def forward(self, image01: torch.Tensor) -> torch.Tensor:
        return self.decode01(self.encoder(image01))


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv.weight.data = conv.weight.data * scale[:, None, None, None]
    conv.bias.data = (conv.bias.data - bn.running_mean) * scale + bn.bias


@torch.no_grad()
def fold_batchnorm(vq: "TinyVQGAN") -> "TinyVQGAN":
    """Fold each eval-mode BatchNorm into the conv before it (exact), leaving Identity: the
    exported graphs then hold plain convs."""
    net = vq.encoder.net
    for i, m in enumerate(net):
        if isinstance(m, nn.BatchNorm2d):
            _fold(net[i - 1], m)
            net[i] = nn.Identity()
    d = vq.decoder
    for conv, k in [(d.inp, 0), (d.res1, 1), (d.res2, 2), (d.up1, 3), (d.up2, 4), (d.up3, 5)]:
        if isinstance(d.bn[k], nn.BatchNorm2d):
            _fold(conv, d.bn[k])
            d.bn[k] = nn.Identity()
    if isinstance(d.bn0, nn.BatchNorm2d):
        _fold(d.up0, d.bn0)
        d.bn0 = nn.Identity()
    return vq


class DecoderGraph(nn.Module):
    """BUNDLE `decoder`: z -> image in [0,1]."""
    def __init__(self, vq: TinyVQGAN):
        super().__init__()
        self.vq = vq

    def forward(self, z):
        return torch.clamp((self.vq.decoder(torch.round(z)) + 1) / 2, 0, 1)


class EncoderGraph(nn.Module):
    def __init__(self, vq: TinyVQGAN):
        super().__init__()
        self.vq = vq

    def forward(self, image):
        return self.vq.encoder(image)
