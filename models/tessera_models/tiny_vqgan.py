"""A small VQGAN-style autoencoder for the tiny-shapes world with an FSQ latent.

Encoder 64x64 -> C x 8 x 8 (downsample 8), bounded to [-h, h] per channel; quantise = round
(finite scalar quantisation, Mentzer et al. 2023) with the straight-through estimator; the
decoder maps the integer grid (scaled to [-1, 1]) back to an image in [-1, 1].
No normalisation layers, SiLU activations: every op has a plain ONNX form and a simple backward.
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
    def __init__(self, c: int = LATENT_CHANNELS):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.SiLU(),
            nn.Conv2d(16, 32, 4, stride=2, padding=1), nn.SiLU(),   # 32
            nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.SiLU(),   # 16
            nn.Conv2d(64, 96, 4, stride=2, padding=1), nn.SiLU(),   # 8
            nn.Conv2d(96, 96, 3, padding=1), nn.SiLU(),
            nn.Conv2d(96, c, 1),
        )

    def forward(self, image01: torch.Tensor) -> torch.Tensor:
        """image in [0,1] -> continuous latent in (-HALF-0.5, HALF+0.5)."""
        return (HALF + 0.49) * torch.tanh(self.net(image01 * 2 - 1))


class Decoder(nn.Module):
    def __init__(self, c: int = LATENT_CHANNELS):
        super().__init__()
        self.inp = nn.Conv2d(c, 96, 3, padding=1)
        self.res1 = nn.Conv2d(96, 96, 3, padding=1)
        self.res2 = nn.Conv2d(96, 96, 3, padding=1)
        self.up1 = nn.Conv2d(96, 64, 3, padding=1)   # 16
        self.up2 = nn.Conv2d(64, 32, 3, padding=1)   # 32
        self.up3 = nn.Conv2d(32, 24, 3, padding=1)   # 64
        self.out = nn.Conv2d(24, 3, 3, padding=1)

    def forward(self, zq: torch.Tensor) -> torch.Tensor:
        """quantised latent (integers in [-HALF, HALF]) -> image in about [-1, 1]."""
        h = F.silu(self.inp(zq / HALF))
        h = h + self.res2(F.silu(self.res1(h)))
        h = F.silu(self.up1(F.interpolate(h, scale_factor=2.0, mode="nearest")))
        h = F.silu(self.up2(F.interpolate(h, scale_factor=2.0, mode="nearest")))
        h = F.silu(self.up3(F.interpolate(h, scale_factor=2.0, mode="nearest")))
        return self.out(h)


class TinyVQGAN(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()

    def decode01(self, z: torch.Tensor) -> torch.Tensor:
        """continuous latent -> image in [0,1] (quantises with straight-through)."""
        return torch.clamp((self.decoder(fsq(z)) + 1) / 2, 0, 1)

    def forward(self, image01: torch.Tensor) -> torch.Tensor:
        return self.decode01(self.encoder(image01))


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
