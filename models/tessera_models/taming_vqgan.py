"""The taming-transformers VQGAN (Esser et al. 2021) with the public checkpoint's parameter names.

Written from the architecture of CompVis/taming-transformers (``VQModel`` with its ``Encoder``,
``Decoder`` and ``VectorQuantizer2``) so that ``load_state_dict`` takes the ``state_dict`` of
``vqgan_imagenet_f16_16384/last.ckpt`` unchanged (minus the ``loss.*`` training entries). Module
names and shapes follow the original; the forward code is ours and sticks to ops that trace
shape-polymorphically (see export_grad): nearest upsampling as expand + reshape, attention as
plain matmuls + softmax.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from .export_grad import upsample_nearest

__all__ = ["VQGANConfig", "VQModel", "IMAGENET_F16_16384"]


@dataclass(frozen=True)
class VQGANConfig:
    """The ``ddconfig`` + quantiser sizes of a taming ``model.yaml``."""
    ch: int = 128
    ch_mult: tuple = (1, 1, 2, 2, 4)
    num_res_blocks: int = 2
    attn_resolutions: tuple = (16,)
    resolution: int = 256
    in_channels: int = 3
    out_ch: int = 3
    z_channels: int = 256
    double_z: bool = False
    embed_dim: int = 256
    n_embed: int = 16384
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def downsample(self) -> int:
        return 2 ** (len(self.ch_mult) - 1)

    @classmethod
    def from_yaml_dict(cls, cfg: dict) -> "VQGANConfig":
        """Accepts the parsed ``model.yaml`` (``{model: {params: {...}}}``) or its ``params``."""
        params = cfg.get("model", cfg).get("params", cfg.get("model", cfg))
        dd = dict(params.get("ddconfig", {}))
        known = {f.name for f in fields(cls)} - {"extra"}
        kw = {k: v for k, v in dd.items() if k in known}
        for k in ("embed_dim", "n_embed"):
            if k in params:
                kw[k] = params[k]
        for k in ("ch_mult", "attn_resolutions"):
            if k in kw:
                kw[k] = tuple(kw[k])
        target = cfg.get("model", {}).get("target", "taming.models.vqgan.VQModel")
        return cls(**kw, extra={"target": target})


IMAGENET_F16_16384 = VQGANConfig()


def _norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(32, c, eps=1e-6, affine=True)


def _swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


class ResnetBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.norm1 = _norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm2 = _norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        h = self.conv1(_swish(self.norm1(x)))
        h = self.conv2(_swish(self.norm2(h)))
        if hasattr(self, "nin_shortcut"):
            x = self.nin_shortcut(x)
        return x + h


class AttnBlock(nn.Module):
    """Single-head spatial self-attention with 1×1 conv projections."""

    def __init__(self, c: int):
        super().__init__()
        self.norm = _norm(c)
        self.q = nn.Conv2d(c, c, 1)
        self.k = nn.Conv2d(c, c, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        y = self.norm(x)
        q = self.q(y).reshape(b, c, h * w)
        k = self.k(y).reshape(b, c, h * w)
        v = self.v(y).reshape(b, c, h * w)
        att = torch.softmax(torch.matmul(q.transpose(1, 2), k) * (c ** -0.5), dim=2)  # [b, i, j]
        out = torch.matmul(v, att.transpose(1, 2)).reshape(b, c, h, w)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 2, 0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))   # asymmetric padding, as the original


class Upsample(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return self.conv(upsample_nearest(x, 2))


class _Level(nn.Module):
    """One resolution level: ``block`` (ModuleList), ``attn`` (ModuleList), and optionally
    ``downsample`` / ``upsample``, named as in the checkpoint."""

    def __init__(self):
        super().__init__()
        self.block = nn.ModuleList()
        self.attn = nn.ModuleList()

    def run(self, h):
        for i, blk in enumerate(self.block):
            h = blk(h)
            if len(self.attn) > 0:
                h = self.attn[i](h)
        return h


class _Mid(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.block_1 = ResnetBlock(c, c)
        self.attn_1 = AttnBlock(c)
        self.block_2 = ResnetBlock(c, c)

    def forward(self, h):
        return self.block_2(self.attn_1(self.block_1(h)))


class Encoder(nn.Module):
    def __init__(self, cfg: VQGANConfig):
        super().__init__()
        mult = (1,) + tuple(cfg.ch_mult)
        self.conv_in = nn.Conv2d(cfg.in_channels, cfg.ch, 3, 1, 1)
        res = cfg.resolution
        self.down = nn.ModuleList()
        cin = cfg.ch
        for lvl in range(len(cfg.ch_mult)):
            level = _Level()
            cin, cout = cfg.ch * mult[lvl], cfg.ch * cfg.ch_mult[lvl]
            for _ in range(cfg.num_res_blocks):
                level.block.append(ResnetBlock(cin, cout))
                cin = cout
                if res in cfg.attn_resolutions:
                    level.attn.append(AttnBlock(cin))
            if lvl != len(cfg.ch_mult) - 1:
                level.downsample = Downsample(cin)
                res //= 2
            self.down.append(level)
        self.mid = _Mid(cin)
        self.norm_out = _norm(cin)
        self.conv_out = nn.Conv2d(cin, 2 * cfg.z_channels if cfg.double_z else cfg.z_channels,
                                  3, 1, 1)

    def forward(self, x):
        # the original keeps every level's output for a U-Net; the encoder only needs the last
        h = self.conv_in(x)
        for level in self.down:
            h = level.run(h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)
        h = self.mid(h)
        return self.conv_out(_swish(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, cfg: VQGANConfig):
        super().__init__()
        n = len(cfg.ch_mult)
        cin = cfg.ch * cfg.ch_mult[-1]
        res = cfg.resolution // 2 ** (n - 1)
        self.conv_in = nn.Conv2d(cfg.z_channels, cin, 3, 1, 1)
        self.mid = _Mid(cin)
        levels = [None] * n
        for lvl in reversed(range(n)):
            level = _Level()
            cout = cfg.ch * cfg.ch_mult[lvl]
            for _ in range(cfg.num_res_blocks + 1):
                level.block.append(ResnetBlock(cin, cout))
                cin = cout
                if res in cfg.attn_resolutions:
                    level.attn.append(AttnBlock(cin))
            if lvl != 0:
                level.upsample = Upsample(cin)
                res *= 2
            levels[lvl] = level
        self.up = nn.ModuleList(levels)
        self.norm_out = _norm(cin)
        self.conv_out = nn.Conv2d(cin, cfg.out_ch, 3, 1, 1)

    def forward(self, z):
        h = self.mid(self.conv_in(z))
        for lvl in reversed(range(len(self.up))):
            level = self.up[lvl]
            h = level.run(h)
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.conv_out(_swish(self.norm_out(h)))


class VectorQuantizer(nn.Module):
    """Nearest codebook entry per latent cell (taming's VectorQuantizer2, no remap)."""

    def __init__(self, n_embed: int, embed_dim: int):
        super().__init__()
        self.embedding = nn.Embedding(n_embed, embed_dim)

    def indices(self, z: torch.Tensor) -> torch.Tensor:
        """z [B,C,h,w] -> int64 [B,h,w]."""
        b, c, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, c)
        e = self.embedding.weight
        d = (flat * flat).sum(1, keepdim=True) + (e * e).sum(1) - 2 * torch.matmul(flat, e.t())
        return torch.argmin(d, dim=1).reshape(b, h, w)

    def lookup(self, idx: torch.Tensor) -> torch.Tensor:
        """int64 [B,h,w] -> [B,C,h,w]."""
        return self.embedding(idx).permute(0, 3, 1, 2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Quantise with the straight-through estimator: value zq, gradient identity."""
        zq = self.lookup(self.indices(z))
        return z + (zq - z).detach()


class VQModel(nn.Module):
    """``encoder``, ``decoder``, ``quantize``, ``quant_conv``, ``post_quant_conv``."""

    def __init__(self, cfg: VQGANConfig = IMAGENET_F16_16384):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.quantize = VectorQuantizer(cfg.n_embed, cfg.embed_dim)
        self.quant_conv = nn.Conv2d(cfg.z_channels, cfg.embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(cfg.embed_dim, cfg.z_channels, 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """image in [-1,1] -> pre-quantisation latent [B,embed_dim,H/f,W/f]."""
        return self.quant_conv(self.encoder(x))

    def decode(self, zq: torch.Tensor) -> torch.Tensor:
        """quantised latent -> image in about [-1,1]."""
        return self.decoder(self.post_quant_conv(zq))

    @staticmethod
    def checkpoint_state(sd: dict) -> dict:
        """The entries of a taming ``state_dict`` that this module holds (drops ``loss.*``)."""
        return {k: v for k, v in sd.items() if not k.startswith("loss.")}
