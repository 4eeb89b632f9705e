"""Random-weight stand-ins for the public checkpoints, in the public file formats.

- VQGAN: a Lightning-style ``last.ckpt`` (``{"state_dict": ..., "epoch", "global_step"}`` with a few
  ``loss.*`` entries like the real file) plus the ``model.yaml`` that ships with it.
- CLIP: OpenAI's ``ViT-B-32.pt`` is a TorchScript archive whose ``state_dict()`` holds the
  parameters (mostly fp16) plus ``input_resolution``, ``context_length`` and ``vocab_size``; we
  write the same names into a TorchScript archive, or a plain state dict.

Names and shapes come from our module definitions, which tests check against
``public_checkpoint_keys.json``. Weights are initialised as the originals initialise them (so that
activations have sensible scales); they carry no knowledge.

CLI: python -m tessera_models.synthetic_checkpoints OUT_DIR [--small] [--clip-format torchscript|state_dict]
"""
from __future__ import annotations

import argparse
import os
import sys

import torch
import torch.nn as nn

from .openai_clip import CLIP, CLIPConfig, VIT_B_32
from .taming_vqgan import IMAGENET_F16_16384, VQGANConfig, VQModel

__all__ = ["random_vqgan", "random_clip", "write_vqgan_checkpoint", "write_clip_checkpoint",
           "model_yaml"]


def random_vqgan(cfg: VQGANConfig = IMAGENET_F16_16384, seed: int = 0) -> VQModel:
    torch.manual_seed(seed)
    model = VQModel(cfg)
    # taming initialises the codebook uniform in ±1/n_embed; a trained one spreads far wider.
    # Unit-scale codes keep the random decoder's input (and so its image) away from zero.
    nn.init.uniform_(model.quantize.embedding.weight, -1.0, 1.0)
    return model.eval()


def random_clip(cfg: CLIPConfig = VIT_B_32, seed: int = 0) -> CLIP:
    """openai/CLIP's initialize_parameters, plus the ViT's own scale·randn parameters."""
    torch.manual_seed(seed)
    m = CLIP(cfg)
    nn.init.normal_(m.token_embedding.weight, std=0.02)
    nn.init.normal_(m.positional_embedding, std=0.01)
    v = m.visual
    scale = cfg.vision_width ** -0.5
    with torch.no_grad():
        v.class_embedding.copy_(scale * torch.randn(cfg.vision_width))
        v.positional_embedding.copy_(scale * torch.randn_like(v.positional_embedding))
        v.proj.copy_(scale * torch.randn_like(v.proj))
        m.logit_scale.fill_(float(torch.log(torch.tensor(1 / 0.07))))
    for tf in (m.transformer, v.transformer):
        width = tf.resblocks[0].ln_1.weight.shape[0]
        proj_std = width ** -0.5 * (2 * len(tf.resblocks)) ** -0.5
        for blk in tf.resblocks:
            nn.init.normal_(blk.attn.in_proj_weight, std=width ** -0.5)
            nn.init.zeros_(blk.attn.in_proj_bias)
            nn.init.normal_(blk.attn.out_proj.weight, std=proj_std)
            nn.init.zeros_(blk.attn.out_proj.bias)
            nn.init.normal_(blk.mlp.c_fc.weight, std=(2 * width) ** -0.5)
            nn.init.normal_(blk.mlp.c_proj.weight, std=proj_std)
    nn.init.normal_(m.text_projection, std=cfg.transformer_width ** -0.5)
    return m.eval()


def model_yaml(cfg: VQGANConfig = IMAGENET_F16_16384) -> str:
    """The model.yaml that accompanies a taming checkpoint (same layout as the public one)."""
    lst = lambda xs: "[" + ", ".join(str(x) for x in xs) + "]"  # noqa: E731
    return f"""model:
  base_learning_rate: 4.5e-06
  target: taming.models.vqgan.VQModel
  params:
    embed_dim: {cfg.embed_dim}
    n_embed: {cfg.n_embed}
    monitor: val/rec_loss
    ddconfig:
      double_z: {str(cfg.double_z).lower()}
      z_channels: {cfg.z_channels}
      resolution: {cfg.resolution}
      in_channels: {cfg.in_channels}
      out_ch: {cfg.out_ch}
      ch: {cfg.ch}
      ch_mult: {lst(cfg.ch_mult)}
      num_res_blocks: {cfg.num_res_blocks}
      attn_resolutions: {lst(cfg.attn_resolutions)}
      dropout: 0.0
    lossconfig:
      target: taming.modules.losses.vqperceptual.VQLPIPSWithDiscriminator
      params:
        disc_conditional: false
        disc_in_channels: 3
        disc_start: 0
        disc_weight: 0.75
        disc_num_layers: 2
        codebook_weight: 1.0
"""


def write_vqgan_checkpoint(out_dir: str, cfg: VQGANConfig = IMAGENET_F16_16384, seed: int = 0,
                           model: VQModel | None = None) -> tuple[str, str]:
    """Writes ``last.ckpt`` and ``model.yaml`` into out_dir; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    model = model or random_vqgan(cfg, seed)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    # the real file also carries the training losses' weights; the exporter must ignore them
    sd["loss.logvar"] = torch.zeros(())
    sd["loss.discriminator.main.0.weight"] = torch.randn(64, 3, 4, 4)
    ckpt = os.path.join(out_dir, "last.ckpt")
    torch.save({"epoch": 4, "global_step": 123456, "state_dict": sd}, ckpt)
    yml = os.path.join(out_dir, "model.yaml")
    with open(yml, "w") as f:
        f.write(model_yaml(cfg))
    return ckpt, yml


_FP16_SUFFIXES = ("conv1.weight", "in_proj_weight", "in_proj_bias", "out_proj.weight",
                  "out_proj.bias", "c_fc.weight", "c_fc.bias", "c_proj.weight", "c_proj.bias")


def _public_clip_state(model: CLIP, fp16: bool) -> dict:
    """The state dict as OpenAI ships it: Linear/Conv/attention weights and the projections in
    fp16 (their convert_weights), plus three int entries."""
    sd = {}
    for k, v in model.state_dict().items():
        v = v.detach().clone()
        if fp16 and (k.endswith(_FP16_SUFFIXES) or k in ("text_projection", "visual.proj")):
            v = v.half()
        sd[k] = v
    cfg = model.cfg
    sd["input_resolution"] = torch.tensor(cfg.image_resolution)
    sd["context_length"] = torch.tensor(cfg.context_length)
    sd["vocab_size"] = torch.tensor(cfg.vocab_size)
    return sd


class _Holder(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _holder_tree(sd: dict) -> nn.Module:
    """Nested modules whose state_dict() has exactly the keys of sd."""
    root = _Holder()
    for key, value in sd.items():
        *path, leaf = key.split(".")
        mod = root
        for part in path:
            if not hasattr(mod, part):
                mod.add_module(part, _Holder())
            mod = getattr(mod, part)
        if value.is_floating_point():
            mod.register_parameter(leaf, nn.Parameter(value, requires_grad=False))
        else:
            mod.register_buffer(leaf, value)
    return root


def write_clip_checkpoint(path: str, cfg: CLIPConfig = VIT_B_32, seed: int = 0,
                          fmt: str = "torchscript", fp16: bool = True,
                          model: CLIP | None = None) -> str:
    """Writes a ViT CLIP checkpoint: ``fmt`` torchscript (like ViT-B-32.pt) or state_dict."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    sd = _public_clip_state(model or random_clip(cfg, seed), fp16)
    if fmt == "torchscript":
        torch.jit.script(_holder_tree(sd)).save(path)
    elif fmt == "state_dict":
        torch.save(sd, path)
    else:
        raise ValueError(f"unknown CLIP checkpoint format {fmt!r}")
    return path


# Small configs with the same structure, for quick tests of the exporter's plumbing.
SMALL_VQGAN = VQGANConfig(ch=32, ch_mult=(1, 1, 2, 2, 4), num_res_blocks=1,
                          attn_resolutions=(16,), z_channels=32, embed_dim=32, n_embed=512)
SMALL_CLIP = CLIPConfig(embed_dim=64, image_resolution=224, vision_layers=2, vision_width=128,
                        vision_patch_size=32, context_length=77, vocab_size=49408,
                        transformer_width=128, transformer_heads=2, transformer_layers=2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--small", action="store_true", help="small configs (same structure)")
    ap.add_argument("--clip-format", default="torchscript", choices=["torchscript", "state_dict"])
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    vq = SMALL_VQGAN if a.small else IMAGENET_F16_16384
    cl = SMALL_CLIP if a.small else VIT_B_32
    ckpt, yml = write_vqgan_checkpoint(os.path.join(a.out_dir, "vqgan"), vq, a.seed)
    ext = ".pt"
    clip = write_clip_checkpoint(os.path.join(a.out_dir, "clip", "ViT-B-32" + ext), cl, a.seed,
                                 a.clip_format)
    print(f"wrote {ckpt}\n      {yml}\n      {clip}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
