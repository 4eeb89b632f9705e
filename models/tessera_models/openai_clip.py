"""OpenAI CLIP (Radford et al. 2021), ViT variant, with the public checkpoint's parameter names.

Module names and shapes follow openai/CLIP's ``model.py`` so that the state dict of
``ViT-B-32.pt`` loads unchanged. The forward code is ours: batch-first tensors, attention written
as ``softmax(q·kᵀ·scale)·v`` from ``in_proj_weight`` (nn.MultiheadAttention's fused kernels have no
ONNX gradient), and ``linear`` instead of ``F.linear`` so it traces shape-polymorphically.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .export_grad import linear

__all__ = ["CLIPConfig", "CLIP", "VIT_B_32", "CLIP_MEAN", "CLIP_STD"]

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class CLIPConfig:
    embed_dim: int = 512
    image_resolution: int = 224
    vision_layers: int = 12
    vision_width: int = 768
    vision_patch_size: int = 32
    context_length: int = 77
    vocab_size: int = 49408
    transformer_width: int = 512
    transformer_heads: int = 8
    transformer_layers: int = 12

    @property
    def vision_heads(self) -> int:
        return self.vision_width // 64

    @classmethod
    def from_state_dict(cls, sd: dict) -> "CLIPConfig":
        """Infer the sizes from a ViT CLIP state dict, as openai/CLIP's build_model does."""
        if "visual.proj" not in sd:
            raise ValueError("not a ViT CLIP state dict (no visual.proj; ResNet CLIPs are not "
                             "supported)")
        conv = sd["visual.conv1.weight"].shape
        grid = round((sd["visual.positional_embedding"].shape[0] - 1) ** 0.5)
        width = sd["ln_final.weight"].shape[0]

        def count(prefix):
            at = len(prefix.split("."))
            return len({k.split(".")[at] for k in sd
                        if k.startswith(prefix + ".") and k.endswith("attn.in_proj_weight")})
        return cls(
            embed_dim=sd["text_projection"].shape[1],
            image_resolution=conv[-1] * grid,
            vision_layers=count("visual.transformer.resblocks"),
            vision_width=conv[0],
            vision_patch_size=conv[-1],
            context_length=sd["positional_embedding"].shape[0],
            vocab_size=sd["token_embedding.weight"].shape[0],
            transformer_width=width,
            transformer_heads=width // 64,
            transformer_layers=count("transformer.resblocks"),
        )


VIT_B_32 = CLIPConfig()


class LayerNorm(nn.LayerNorm):
    """Computes in float32 whatever the input dtype, as CLIP's own LayerNorm."""

    def forward(self, x):
        return super().forward(x.float()).to(x.dtype)


class Attention(nn.Module):
    """Parameters named like nn.MultiheadAttention's (``in_proj_weight``, ``in_proj_bias``,
    ``out_proj``); forward is explicit matmuls + softmax."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * width))
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, n, d = x.shape
        hd = d // self.heads
        qkv = linear(x, self.in_proj_weight, self.in_proj_bias)
        qkv = qkv.reshape(b, n, 3, self.heads, hd).permute(2, 0, 3, 1, 4)   # [3, b, heads, n, hd]
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.matmul(q, k.transpose(-1, -2)) * (hd ** -0.5)
        if mask is not None:
            att = att + mask
        att = torch.softmax(att, dim=-1)
        out = torch.matmul(att, v).permute(0, 2, 1, 3).reshape(b, n, d)
        return linear(out, self.out_proj.weight, self.out_proj.bias)


class MLP(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.c_proj = nn.Linear(4 * width, width)

    def forward(self, x):
        h = linear(x, self.c_fc.weight, self.c_fc.bias)
        h = h * torch.sigmoid(1.702 * h)                                      # QuickGELU
        return linear(h, self.c_proj.weight, self.c_proj.bias)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = Attention(width, heads)
        self.ln_1 = LayerNorm(width)
        self.mlp = MLP(width)
        self.ln_2 = LayerNorm(width)

    def forward(self, x, mask=None):
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int):
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads)
                                        for _ in range(layers)])

    def forward(self, x, mask=None):
        for blk in self.resblocks:
            x = blk(x, mask)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, cfg: CLIPConfig):
        super().__init__()
        w, p = cfg.vision_width, cfg.vision_patch_size
        self.conv1 = nn.Conv2d(3, w, p, p, bias=False)
        self.class_embedding = nn.Parameter(torch.empty(w))
        self.positional_embedding = nn.Parameter(
            torch.empty((cfg.image_resolution // p) ** 2 + 1, w))
        self.ln_pre = LayerNorm(w)
        self.transformer = Transformer(w, cfg.vision_layers, cfg.vision_heads)
        self.ln_post = LayerNorm(w)
        self.proj = nn.Parameter(torch.empty(w, cfg.embed_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised pixels [B,3,R,R] -> image features [B,embed_dim] (not unit norm)."""
        x = self.conv1(x)
        b, w = x.shape[0], x.shape[1]
        x = x.reshape(b, w, -1).transpose(1, 2)                             # [B, grid², w]
        cls = self.class_embedding.reshape(1, 1, w).expand(b, 1, w)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.transformer(self.ln_pre(x))
        return torch.matmul(self.ln_post(x[:, 0, :]), self.proj)


class CLIP(nn.Module):
    def __init__(self, cfg: CLIPConfig = VIT_B_32):
        super().__init__()
        self.cfg = cfg
        self.visual = VisionTransformer(cfg)
        self.transformer = Transformer(cfg.transformer_width, cfg.transformer_layers,
                                       cfg.transformer_heads)
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.transformer_width)
        self.positional_embedding = nn.Parameter(
            torch.empty(cfg.context_length, cfg.transformer_width))
        self.ln_final = LayerNorm(cfg.transformer_width)
        self.text_projection = nn.Parameter(torch.empty(cfg.transformer_width, cfg.embed_dim))
        self.logit_scale = nn.Parameter(torch.ones([]))
        mean = torch.tensor(CLIP_MEAN).reshape(1, 3, 1, 1)
        std = torch.tensor(CLIP_STD).reshape(1, 3, 1, 1)
        self.register_buffer("pixel_mean", mean, persistent=False)
        self.register_buffer("pixel_std", std, persistent=False)

    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels [B,3,R,R] in [0,1] -> unit-norm embeddings [B,embed_dim]."""
        e = self.visual((pixels - self.pixel_mean) / self.pixel_std)
        return e / e.norm(dim=-1, keepdim=True)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """int64 tokens [B,L] (SOT … EOT, zero padded) -> unit-norm embeddings [B,embed_dim]."""
        n = tokens.shape[1]
        x = self.token_embedding(tokens) + self.positional_embedding[:n]
        mask = torch.full((n, n), float("-inf"), device=x.device).triu(1)   # causal
        x = self.ln_final(self.transformer(x, mask))
        # features at the EOT token: the highest id in each sequence
        eot = tokens.argmax(dim=-1)
        x = x[torch.arange(x.shape[0], device=x.device), eot]
        e = torch.matmul(x, self.text_projection)
        return e / e.norm(dim=-1, keepdim=True)
