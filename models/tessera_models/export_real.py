"""Export the public VQGAN (taming-transformers) + CLIP (OpenAI) checkpoints as a tessera bundle.

    python -m tessera_models.export_real --vqgan-ckpt last.ckpt --vqgan-config model.yaml \\
        --clip ViT-B-32.pt --vocab bpe_simple_vocab_16e6.txt.gz --out models/vqgan-imagenet-f16-16384

Writes the bundle of models/BUNDLE.md: step (loss + dloss/dz + image), decoder, encoder, text,
image and codes graphs, manifest.json and the CLIP BPE vocabulary. Every graph has dynamic
height/width (and batch/cutout/prompt counts), so one export serves every size from 128 to 512
in steps of 16, any aspect ratio. The weights live once, in ``weights.bin``, shared by all graphs
as ONNX external data (tensors that several graphs use are stored once). See REAL_MODELS.md.

``export_step_reference`` exports generate.py's step (step interface 2, refloop.py) for these
modules; models/tests/test_reference_step.py checks it against the eager reference. It is not
part of ``export_bundle`` yet: its pooled cutouts are traced at one image size (sides that are
multiples of CLIP's 224), while a bundle's graphs serve every size from 128 to 512.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile

import torch

from .export_grad import export_grad_graph, fix_reshape_chains, make_cutouts, spherical_loss
from .openai_clip import CLIP, CLIPConfig
from .taming_vqgan import VQGANConfig, VQModel

__all__ = ["CheckpointError", "load_vqgan", "load_clip", "export_bundle", "main"]

OPSET = 17
SIZES = list(range(128, 513, 16))


class CheckpointError(Exception):
    """A checkpoint that cannot be read or does not match the model it claims to be."""

    def __init__(self, message: str, path: str, missing=(), misshaped=()):
        super().__init__(message)
        self.path = path
        self.missing = list(missing)
        self.misshaped = list(misshaped)


# ---------------------------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------------------------

class Progress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, total: float, stream=sys.stderr, enabled: bool = True):
        self.total, self.done, self.stream, self.enabled = total, 0.0, stream, enabled
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.t0 = time.monotonic()

    def step(self, what: str, amount: float = 0.0):
        self.done = min(self.total, self.done + amount)
        if not self.enabled:
            return
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(frac * 30)
        line = f"[{bar:<30}] {frac * 100:5.1f}% {time.monotonic() - self.t0:6.0f}s  {what}"
        if self.tty:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self):
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------------------------------------
# Loading and checking checkpoints
# ---------------------------------------------------------------------------------------------

def _is_torchscript(path: str) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("/constants.pkl") or "/code/" in n for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _torch_load(path: str, unsafe_pickle: bool):
    if _is_torchscript(path):  # (load_clip reads those itself)
        raise CheckpointError(f"{path}: is a TorchScript archive (like OpenAI's CLIP files), not "
                              "a taming-transformers checkpoint: are --vqgan-ckpt and --clip "
                              "swapped?", path)
    try:
        return torch.load(path, map_location="cpu", weights_only=not unsafe_pickle)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file", path) from None
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a bad file
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if "weights_only" in str(e) or "Unsupported global" in str(e):
            raise CheckpointError(
                f"{path}: the checkpoint pickles Python objects besides tensors ({msg}). If you "
                "trust the file, rerun with --unsafe-pickle.", path) from e
        raise CheckpointError(
            f"{path}: cannot read it as a PyTorch checkpoint ({msg}); the file may be truncated "
            "or not a checkpoint", path) from e


def check_state(what: str, path: str, expected: dict, got: dict, hint: str = "") -> None:
    """Raise CheckpointError naming every missing and mis-shaped tensor."""
    missing = [k for k in expected if k not in got]
    misshaped = [(k, tuple(expected[k].shape), tuple(got[k].shape)) for k in expected
                 if k in got and tuple(got[k].shape) != tuple(expected[k].shape)]
    if not missing and not misshaped:
        return
    lines = [f"{path}: not a usable {what} checkpoint: {len(missing)} of {len(expected)} "
             f"tensors missing, {len(misshaped)} with the wrong shape."]
    if missing:
        shown = ", ".join(missing[:12]) + (f", … ({len(missing) - 12} more)"
                                             if len(missing) > 12 else "")
        lines.append(f"  missing: {shown}")
    for k, want, have in misshaped[:12]:
        lines.append(f"  wrong shape: {k} is {list(have)}, expected {list(want)}")
    if len(misshaped) > 12:
        lines.append(f"  … and {len(misshaped) - 12} more with the wrong shape")
    if hint:
        lines.append("  " + hint)
    raise CheckpointError("\n".join(lines), path, missing, [m[0] for m in misshaped])


def load_vqgan(ckpt_path: str, config_path: str | None = None,
               unsafe_pickle: bool = False) -> VQModel:
    """A taming-transformers VQModel from ``last.ckpt`` (+ ``model.yaml``; without it the
    vqgan_imagenet_f16_16384 config is assumed)."""
    cfg = VQGANConfig()
    if config_path:
        try:
            import yaml
        except ImportError:
            raise CheckpointError(f"{config_path}: reading model.yaml needs PyYAML (pip install "
                                  "pyyaml); without --vqgan-config the vqgan_imagenet_f16_16384 "
                                  "config is used", config_path) from None
        try:
            with open(config_path) as f:
                cfg = VQGANConfig.from_yaml_dict(yaml.safe_load(f))
        except (OSError, yaml.YAMLError, AttributeError, TypeError) as e:
            raise CheckpointError(f"{config_path}: cannot read the model config ({e})",
                                  config_path) from e
        target = cfg.extra.get("target", "")
        if not target.endswith("VQModel"):
            raise CheckpointError(f"{config_path}: model target {target!r} is not a taming "
                                  "VQModel (Gumbel and EMA quantisers are not supported)",
                                  config_path)
    obj = _torch_load(ckpt_path, unsafe_pickle)
    sd = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(sd, dict):
        raise CheckpointError(f"{ckpt_path}: expected a Lightning checkpoint with a "
                              "'state_dict'", ckpt_path)
    model = VQModel(cfg)
    check_state("taming VQGAN", ckpt_path, model.state_dict(), sd,
                hint="Is model.yaml the one that came with this checkpoint?" if config_path
                else "Pass the checkpoint's model.yaml with --vqgan-config.")
    model.load_state_dict({k: v.float() for k, v in VQModel.checkpoint_state(sd).items()},
                          strict=True)
    return model.eval()


def load_clip(path: str, unsafe_pickle: bool = False) -> CLIP:
    """OpenAI CLIP (ViT) from ``ViT-B-32.pt`` (TorchScript archive) or a plain state dict."""
    if _is_torchscript(path):
        try:
            sd = torch.jit.load(path, map_location="cpu").state_dict()
        except Exception as e:  # noqa: BLE001 - torch raises many kinds for a bad archive
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise CheckpointError(f"{path}: cannot read this TorchScript archive ({msg}); the "
                                  "file may be truncated", path) from e
    else:
        obj = _torch_load(path, unsafe_pickle)
        sd = obj.get("state_dict", obj) if isinstance(obj, dict) else None
        if not isinstance(sd, dict):
            raise CheckpointError(f"{path}: expected a CLIP state dict or TorchScript archive",
                                  path)
    sd = {k: v for k, v in sd.items() if k not in ("input_resolution", "context_length",
                                                    "vocab_size")}
    sizing = ("visual.proj", "visual.conv1.weight", "visual.positional_embedding",
              "text_projection", "positional_embedding", "token_embedding.weight",
              "ln_final.weight")
    if any(k not in sd for k in sizing):
        # cannot infer the sizes: report against ViT-B/32
        check_state("OpenAI CLIP ViT-B/32", path, CLIP(CLIPConfig()).state_dict(), sd)
    try:
        cfg = CLIPConfig.from_state_dict(sd)
    except (ValueError, IndexError) as e:
        raise CheckpointError(f"{path}: {e}", path) from e
    model = CLIP(cfg)
    check_state(f"OpenAI CLIP ViT (inferred {cfg.vision_layers}-layer, width "
                f"{cfg.vision_width}, patch {cfg.vision_patch_size})", path,
                model.state_dict(), sd)
    model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    return model.eval()


# ---------------------------------------------------------------------------------------------
# Graphs
# ---------------------------------------------------------------------------------------------

def _freeze(*mods):
    for m in mods:
        m.eval()
        for p in m.parameters():
            p.requires_grad_(False)


class _Decoder(torch.nn.Module):
    def __init__(self, vq):
        super().__init__()
        self.vq = vq

    def forward(self, z):
        zq = self.vq.quantize.lookup(self.vq.quantize.indices(z))
        return torch.clamp((self.vq.decode(zq) + 1) / 2, 0, 1)


class _Encoder(torch.nn.Module):
    def __init__(self, vq):
        super().__init__()
        self.vq = vq

    def forward(self, image):
        return self.vq.encode(image * 2 - 1)


class _Codes(torch.nn.Module):
    def __init__(self, vq):
        super().__init__()
        self.vq = vq

    def forward(self, indices):
        return self.vq.quantize.lookup(indices)


class _Text(torch.nn.Module):
    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, tokens):
        return self.clip.encode_text(tokens)


class _Image(torch.nn.Module):
    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, pixels):
        return self.clip.encode_pixels(pixels)


def make_step_loss(vq: VQModel, clip: CLIP, with_noise: bool):
    """The step function of BUNDLE.md as a PyTorch function of z (plus the other inputs)."""
    S = clip.cfg.image_resolution

    def loss_fn(z, targets, weights, stops, cuts, *noise_eps):
        img = torch.clamp((vq.decode(vq.quantize(z)) + 1) / 2, 0, 1)
        cut = make_cutouts(img, cuts, S)
        if with_noise:
            noise, eps = noise_eps
            cut = cut + noise * eps
        e = clip.encode_pixels(cut)
        return spherical_loss(e, targets, weights, stops), img
    return loss_fn


def step_example(vq: VQModel, clip: CLIP, with_noise: bool, h: int = 8, w: int = 10, n: int = 3,
                 p: int = 2, seed: int = 0):
    """Tracing example: every dynamic dim > 1 and unlike the others (symbols are not shared)."""
    g = torch.Generator().manual_seed(seed)
    C = vq.cfg.embed_dim
    f = vq.cfg.downsample
    H, W = h * f, w * f
    S = clip.cfg.image_resolution
    emb = vq.quantize.embedding.weight
    z = emb[torch.randint(0, emb.shape[0], (h * w,), generator=g)].t().reshape(1, C, h, w)
    z = z + 0.01 * torch.randn(z.shape, generator=g)
    t = torch.nn.functional.normalize(torch.randn(p, clip.cfg.embed_dim, generator=g), dim=-1)
    weights = torch.linspace(1.0, -0.5, p)
    stops = torch.full((p,), -1.0)
    side = min(H, W)
    size = torch.randint(side // 2, side + 1, (n,), generator=g).float()
    x0 = (torch.rand(n, generator=g) * (W - size + 1)).floor()
    y0 = (torch.rand(n, generator=g) * (H - size + 1)).floor()
    flip = (torch.rand(n, generator=g) < 0.5).float()
    cuts = torch.stack([x0, y0, size, flip], 1)
    xs = [z.contiguous(), t, weights, stops, cuts]
    if with_noise:
        xs += [torch.rand(n, 1, 1, 1, generator=g) * 0.1, torch.randn(n, 3, S, S, generator=g)]
    return tuple(xs)


STEP_INPUTS = ["z", "targets", "weights", "stops", "cuts"]


def make_step_reference(vq: VQModel, clip: CLIP):
    """generate.py's step (step interface 2, BUNDLE.md) on the real modules: the same builder as
    tiny-shapes' step-reference.onnx (refloop.make_step_v2), with taming's decode(quantize(z))
    and CLIP's image tower (normalisation inside)."""
    from .refloop import make_step_v2
    return make_step_v2(lambda z: vq.decode(vq.quantize(z)), clip.encode_pixels, clip.cfg.image_resolution)


def reference_example(vq: VQModel, clip: CLIP, size: tuple[int, int], n: int = 3, p: int = 2, seed: int = 0):
    """Tracing example of step interface 2 at ``size`` (W, H): every augmentation active."""
    from .reference_gen import random_draws
    from .refloop import STEP2_INPUTS
    W, H = size
    f = vq.cfg.downsample
    z, t, w, stops, _ = step_example(vq, clip, False, H // f, W // f, n, p, seed)
    d = random_draws(n, clip.cfg.image_resolution, min(W, H), "WJSGELT", "latest", seed)
    d["pool"] = torch.tensor([0.5])
    return (z, t, w, stops, *[d[k] for k in STEP2_INPUTS[4:]])


REFERENCE_DYNAMIC = {"targets": {0: "P"}, "weights": {0: "P"}, "stops": {0: "P"}, "cuts": {0: "N"},
                     "warps": {1: "N"}, "jitter": {0: "N"}, "sharp": {0: "N"}, "gnoise": {0: "N"},
                     "erase": {0: "N"}, "noise": {0: "N"}, "eps": {0: "N"},
                     "elastic": {0: "N"}, "elastic_on": {0: "N"}, "tps": {0: "N"}}


def export_step_reference(vq: VQModel, clip: CLIP, path: str, size: tuple[int, int] = (224, 224),
                          conv_grad: str = "transpose") -> str:
    """generate.py's step as an ONNX graph of loss, dloss/dz and the image (step interface 2).
    Cutout and prompt counts are dynamic; the image size is fixed to ``size`` (W, H), whose
    sides must be multiples of CLIP's input size (224 for ViT-B/32): the pooled cutouts
    (adaptive avg + max pooling) are traced as reshapes of whole blocks."""
    from .refloop import STEP2_INPUTS
    S = clip.cfg.image_resolution
    if size[0] % S or size[1] % S:
        raise ValueError(f"the reference step needs sides that are multiples of {S} (got {size[0]}x{size[1]})")
    return export_grad_graph(make_step_reference(vq, clip), reference_example(vq, clip, size),
                             STEP2_INPUTS, ["loss", "grad", "image"], path,
                             dynamic_axes=REFERENCE_DYNAMIC, opset=OPSET, has_aux=True,
                             conv_grad=conv_grad)


def export_step(vq, clip, path: str, with_noise: bool = False,
                conv_grad: str = "transpose", loss_scale: float = 1.0) -> str:
    """The step graph. ``loss_scale`` != 1 traces the gradient of ``loss * loss_scale`` (both
    outputs come out scaled; ``unscale_outputs`` divides them back after the float16
    conversion), so that float16 backward values stay above float16's smallest normals."""
    names = STEP_INPUTS + (["noise", "eps"] if with_noise else [])
    dyn = {"z": {2: "h", 3: "w"}, "targets": {0: "P"}, "weights": {0: "P"}, "stops": {0: "P"},
           "cuts": {0: "N"}, "image": {2: "H", 3: "W"}, "grad": {2: "h", 3: "w"}}
    if with_noise:
        dyn.update({"noise": {0: "N"}, "eps": {0: "N"}})
    loss_fn = make_step_loss(vq, clip, with_noise)
    if loss_scale != 1.0:
        unscaled = loss_fn

        def loss_fn(*inputs):
            loss, img = unscaled(*inputs)
            return loss * loss_scale, img
    return export_grad_graph(loss_fn, step_example(vq, clip, with_noise),
                             names, ["loss", "grad", "image"], path, dynamic_axes=dyn,
                             opset=OPSET, has_aux=True, conv_grad=conv_grad)


def _export(module, args, path, inputs, outputs, dyn):
    torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs,
                      dynamic_axes=dyn, opset_version=OPSET, dynamo=False,
                      do_constant_folding=True)
    import onnx
    m = onnx.load(path)
    fix_reshape_chains(m)
    # batch-1 graphs: the exporter names the outputs' leading dim instead of fixing it to 1
    if all(i.type.tensor_type.shape.dim[0].dim_value == 1 for i in m.graph.input):
        for o in m.graph.output:
            d = o.type.tensor_type.shape.dim
            if len(d) and d[0].dim_param:
                d[0].dim_value = 1
    onnx.save(m, path)
    return path


def export_decoder(vq, path):
    z = torch.randn(1, vq.cfg.embed_dim, 8, 10)
    return _export(_Decoder(vq), (z,), path, ["z"], ["image"],
                   {"z": {2: "h", 3: "w"}, "image": {2: "H", 3: "W"}})


def export_encoder(vq, path):
    x = torch.rand(1, 3, 128, 160)
    return _export(_Encoder(vq), (x,), path, ["image"], ["z"],
                   {"image": {2: "H", 3: "W"}, "z": {2: "h", 3: "w"}})


def export_codes(vq, path):
    idx = torch.randint(0, vq.cfg.n_embed, (1, 8, 10))
    return _export(_Codes(vq), (idx,), path, ["indices"], ["z"],
                   {"indices": {1: "h", 2: "w"}, "z": {2: "h", 3: "w"}})


def export_text(clip, path):
    tok = torch.zeros(2, clip.cfg.context_length, dtype=torch.long)
    tok[:, 0] = 49406
    tok[0, 1:4] = torch.tensor([320, 3086, 49407])
    tok[1, 1:3] = torch.tensor([539, 49407])
    return _export(_Text(clip), (tok,), path, ["tokens"], ["embedding"],
                   {"tokens": {0: "B"}, "embedding": {0: "B"}})


def export_image(clip, path):
    S = clip.cfg.image_resolution
    return _export(_Image(clip), (torch.rand(2, 3, S, S),), path, ["pixels"], ["embedding"],
                   {"pixels": {0: "B"}, "embedding": {0: "B"}})


# ---------------------------------------------------------------------------------------------
# Shared external weights
# ---------------------------------------------------------------------------------------------

def share_weights(graph_paths: dict, out_dir: str, weights_name: str = "weights.bin",
                  min_bytes: int = 1024, align: int = 4096) -> dict:
    """Move every initializer of at least ``min_bytes`` of the graphs into one external-data file;
    identical tensors (same dtype and bytes) are stored once. Writes ``<name>.onnx`` into
    out_dir. Returns {name: file} plus stats."""
    import onnx
    from onnx import numpy_helper

    wpath = os.path.join(out_dir, weights_name)
    seen: dict[str, tuple[int, int]] = {}
    total = stored = 0
    files = {}
    with open(wpath, "wb") as wf:
        for name, src in graph_paths.items():
            model = onnx.load(src)
            _constants_to_initializers(model, min_bytes)
            for init in model.graph.initializer:
                arr = numpy_helper.to_array(init)
                data = arr.tobytes()
                if len(data) < min_bytes:
                    continue
                total += len(data)
                key = hashlib.sha256(str(arr.dtype).encode() + data).hexdigest()
                if key not in seen:
                    pad = (-wf.tell()) % align
                    wf.write(b"\0" * pad)
                    seen[key] = (wf.tell(), len(data))
                    wf.write(data)
                    stored += len(data)
                offset, length = seen[key]
                dims, dtype, iname = list(init.dims), init.data_type, init.name
                init.Clear()
                init.name, init.data_type = iname, dtype
                init.dims.extend(dims)
                init.data_location = onnx.TensorProto.EXTERNAL
                for k, v in (("location", weights_name), ("offset", str(offset)),
                             ("length", str(length))):
                    e = init.external_data.add()
                    e.key, e.value = k, v
            dst = os.path.join(out_dir, f"{name}.onnx")
            with open(dst, "wb") as f:
                f.write(model.SerializeToString())
            files[name] = f"{name}.onnx"
    return {"files": files, "weights": weights_name, "bytes_referenced": total,
            "bytes_stored": stored}


def _constants_to_initializers(model, min_bytes: int) -> None:
    """Large Constant nodes become initializers so they can live in the shared file."""
    from onnx import numpy_helper

    keep = []
    for node in model.graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1 \
                and node.attribute[0].name == "value":
            t = node.attribute[0].t
            if len(numpy_helper.to_array(t).tobytes()) >= min_bytes:
                t.name = node.output[0]
                model.graph.initializer.append(t)
                continue
        keep.append(node)
    if len(keep) != len(model.graph.node):
        del model.graph.node[:]
        model.graph.node.extend(keep)


def to_fp16(model) -> int:
    """Convert a float32 graph to compute in float16 while keeping its float32 interface:
    float initializers and constants become float16, casts to float become casts to float16,
    and Cast nodes are added after each float input and before each float output. Returns the
    number of tensors converted. (GPU providers only: onnxruntime's CPU provider lacks most
    float16 kernels on x86.)"""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    F32, F16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16
    g = model.graph
    count = 0
    # element types before conversion, for the ops that have no float16 form
    inferred = onnx.shape_inference.infer_shapes(model)
    f32_values = {v.name for v in list(inferred.graph.value_info) + list(g.input) +
                  list(g.output) if v.type.tensor_type.elem_type == F32}
    f32_values |= {i.name for i in g.initializer if i.data_type == F32}

    def conv_tensor(t):
        nonlocal count
        if t.data_type == F32:
            arr = numpy_helper.to_array(t).astype(np.float16)
            t.CopyFrom(numpy_helper.from_array(arr, t.name))
            count += 1

    for init in g.initializer:
        conv_tensor(init)
    for node in g.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                conv_tensor(a.t)
            if node.op_type == "Cast" and a.name == "to" and a.i == F32:
                a.i = F16
    nodes = list(g.node)
    for inp in g.input:
        if inp.type.tensor_type.elem_type == F32:
            cast_out = inp.name + "_fp16"
            for node in nodes:
                for i, x in enumerate(node.input):
                    if x == inp.name:
                        node.input[i] = cast_out
            nodes.insert(0, helper.make_node("Cast", [inp.name], [cast_out], to=F16,
                                             name=inp.name + "_to_fp16"))
    for out in g.output:
        if out.type.tensor_type.elem_type == F32:
            inner = out.name + "_fp16"
            for node in nodes:
                for i, x in enumerate(node.output):
                    if x == out.name:
                        node.output[i] = inner
                for i, x in enumerate(node.input):
                    if x == out.name:
                        node.input[i] = inner
            nodes.append(helper.make_node("Cast", [inner], [out.name], to=F32,
                                          name=out.name + "_to_fp32"))
    # Some nodes compute in float32 inside the float16 graph (casts at the region's edges):
    # Range (no float16 form), and the reductions and squares of the norms' statistics. GPU
    # providers accumulate a ReduceMean in the element type: summing a group norm's 65 536
    # values (4 channels x 128 x 128) overflows float16 (seen on WebGPU: inf, then NaN everywhere),
    # and a square overflows from |x| > 256.
    f16_values = set(f32_values) | {i.name + "_fp16" for i in g.input} \
        | {o.name + "_fp16" for o in g.output}

    def in_f32(node) -> bool:
        if node.op_type in _FP32_ONLY_OPS or node.op_type in _FP32_ACCUMULATE_OPS:
            return True
        return node.op_type == "Mul" and len(node.input) == 2 and node.input[0] == node.input[1]

    region = [n for n in nodes if in_f32(n)]
    region_ids = {id(n) for n in region}
    as_f32: dict[str, str] = {}      # float16 name -> its float32 twin
    for node in region:
        for i, y in enumerate(node.output):
            if y in f16_values:
                as_f32[y] = y + "_f32"
                node.output[i] = y + "_f32"
    outputs = {o.name for o in g.output}
    consumers_outside = {x for n in nodes if id(n) not in region_ids for x in n.input} | outputs
    wrapped, cast_in = [], {}
    for node in nodes:
        if id(node) not in region_ids:
            wrapped.append(node)
            continue
        for i, x in enumerate(node.input):
            if x in as_f32 and not x.endswith("_f32"):
                node.input[i] = as_f32[x]            # a region neighbour: stays float32
            elif x in f16_values and x not in as_f32:
                if x not in cast_in:
                    cast_in[x] = x + "_to32"
                    wrapped.append(helper.make_node("Cast", [x], [cast_in[x]], to=F32,
                                                    name=x + "_to32"))
                node.input[i] = cast_in[x]
        wrapped.append(node)
        for y32 in node.output:
            y = y32[:-len("_f32")] if y32.endswith("_f32") else None
            if y is not None and as_f32.get(y) == y32 and y in consumers_outside:
                wrapped.append(helper.make_node("Cast", [y32], [y], to=F16, name=y + "_to16"))
    del g.node[:]
    g.node.extend(wrapped)
    del g.value_info[:]   # stale float32 annotations; onnxruntime infers them again
    return count


_FP32_ONLY_OPS = {"Range"}
# Static loss scale of the float16 step graph. Its gradient at z is ~1e-4 and the values deep in
# the backward pass far smaller, below float16's smallest normal (6e-5); scaled by 2^10 they are
# resolved, and the loss (at most ~5 per unit of prompt weight) stays far below float16's 65504.
FP16_LOSS_SCALE = 1024.0


def unscale_outputs(model, names, scale: float) -> None:
    """Divide the named (float32) graph outputs by ``scale``, in float32 after the graph."""
    from onnx import helper, numpy_helper
    import numpy as np

    g = model.graph
    const = f"unscale_{int(scale)}"
    g.initializer.append(numpy_helper.from_array(np.array(1.0 / scale, np.float32), const))
    for name in names:
        scaled = name + "_scaled"
        for node in g.node:
            for i, y in enumerate(node.output):
                if y == name:
                    node.output[i] = scaled
            for i, x in enumerate(node.input):
                if x == name:
                    node.input[i] = scaled
        g.node.append(helper.make_node("Mul", [scaled, const], [name], name=name + "_unscale"))
_FP32_ACCUMULATE_OPS = {"ReduceMean", "ReduceSum", "ReduceL2", "ReduceL1", "ReduceSumSquare"}


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Bundle
# ---------------------------------------------------------------------------------------------

def find_vocab(explicit: str | None) -> str:
    """The CLIP BPE vocabulary: --vocab, else the installed ``clip`` package's copy."""
    if explicit:
        if not os.path.isfile(explicit):
            raise FileNotFoundError(f"--vocab {explicit}: no such file")
        return explicit
    try:
        import clip  # type: ignore  # openai/CLIP, if installed
        p = os.path.join(os.path.dirname(clip.__file__), "bpe_simple_vocab_16e6.txt.gz")
        if os.path.isfile(p):
            return p
    except ImportError:
        pass
    raise FileNotFoundError("no CLIP vocabulary: pass --vocab PATH/bpe_simple_vocab_16e6.txt.gz "
                            "(it ships with openai/CLIP as clip/bpe_simple_vocab_16e6.txt.gz)")


def check_vocab(path: str) -> int:
    """A BPE merges file has a version line then merge pairs; CLIP uses 48894 merges."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not CLIP's bpe_simple_vocab_16e6.txt.gz ({e})") from e
    merges = [ln for ln in lines[1:49152 - 256 - 2 + 1] if ln]
    if len(merges) < 48894 or any(len(m.split(" ")) != 2 for m in merges[:100]):
        raise ValueError(f"{path}: does not look like CLIP's bpe_simple_vocab_16e6.txt.gz")
    return len(merges)


def manifest(vq: VQModel, clip: CLIP, graphs: dict, name: str, weights: dict | None,
             with_noise: bool) -> dict:
    emb = vq.quantize.embedding.weight.detach()
    return {
        "v": 1,
        "name": name,
        "description": "VQGAN ImageNet f16 16384 (taming-transformers) guided by OpenAI CLIP "
                       f"ViT-B/{clip.cfg.vision_patch_size}, exported by tessera_models.export_real",
        "image": {"sizes": [[w, h] for h in SIZES for w in SIZES], "defaultSize": [256, 256]},
        "latent": {
            "channels": vq.cfg.embed_dim, "downsample": vq.cfg.downsample,
            "min": [float(x) for x in emb.min(0).values],
            "max": [float(x) for x in emb.max(0).values],
            "init": {"kind": "codes", "numCodes": vq.cfg.n_embed, "graph": "codes"},
        },
        "clip": {"inputSize": clip.cfg.image_resolution, "embedDim": clip.cfg.embed_dim},
        "tokenizer": {"kind": "clip-bpe", "file": "bpe_simple_vocab_16e6.txt.gz",
                      "contextLength": clip.cfg.context_length},
        "graphs": graphs,
        **({"weights": weights} if weights else {}),
        "defaults": {"steps": 300, "cutn": 32, "cutPow": 1.0, "cutMin": 0.5, "lr": 0.1,
                     "frameEvery": 10, "noise": 0.1 if with_noise else 0.0},
    }


def export_bundle(vq: VQModel, clip: CLIP, out_dir: str, vocab: str, name: str,
                  with_noise: bool = False, progress: Progress | None = None,
                  work_dir: str | None = None, fp16: bool = False,
                  conv_grad: str = "transpose") -> dict:
    """Export every graph, share their weights, write manifest.json. Returns the manifest."""
    progress = progress or Progress(1, enabled=False)
    _freeze(vq, clip)
    os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tessera-export-", dir=work_dir)
    try:
        jobs = [("codes", lambda p: export_codes(vq, p), 1),
                ("text", lambda p: export_text(clip, p), 4),
                ("image", lambda p: export_image(clip, p), 4),
                ("encoder", lambda p: export_encoder(vq, p), 6),
                ("decoder", lambda p: export_decoder(vq, p), 6),
                ("step", lambda p: export_step(vq, clip, p, with_noise, conv_grad,
                                               FP16_LOSS_SCALE if fp16 else 1.0), 40)]
        raw = {}
        for gname, fn, cost in jobs:
            progress.step(f"exporting {gname} graph")
            raw[gname] = fn(os.path.join(tmp, f"{gname}.onnx"))
            progress.step(f"exported {gname} graph", cost)
        if fp16:
            import onnx
            progress.step("converting to float16")
            for gname, path in raw.items():
                m = onnx.load(path)
                to_fp16(m)
                if gname == "step":
                    unscale_outputs(m, ["loss", "grad"], FP16_LOSS_SCALE)
                onnx.save(m, path)
        progress.step("writing shared weights")
        shared = share_weights(raw, out_dir)
        progress.step("hashing", 8)
        graphs = {g: {"file": f, "sha256": _sha256(os.path.join(out_dir, f))}
                  for g, f in shared["files"].items()}
        weights = {"file": shared["weights"],
                   "sha256": _sha256(os.path.join(out_dir, shared["weights"])),
                   "bytes": os.path.getsize(os.path.join(out_dir, shared["weights"]))}
        shutil.copyfile(vocab, os.path.join(out_dir, "bpe_simple_vocab_16e6.txt.gz"))
        man = manifest(vq, clip, graphs, name, weights, with_noise)
        man["precision"] = "float16" if fp16 else "float32"
        if fp16:
            man["fp16LossScale"] = FP16_LOSS_SCALE
        with open(os.path.join(out_dir, "manifest.json"), "w") as f:
            json.dump(man, f, indent=2)
            f.write("\n")
        progress.step("done", progress.total)
        return man
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="export-real", description="Export taming VQGAN + OpenAI CLIP checkpoints as a "
        "tessera model bundle (see models/REAL_MODELS.md).")
    ap.add_argument("--vqgan-ckpt", required=True, help="taming-transformers last.ckpt")
    ap.add_argument("--vqgan-config", help="its model.yaml (default: the imagenet f16 16384 "
                    "config)")
    ap.add_argument("--clip", required=True, help="OpenAI ViT-B-32.pt (TorchScript archive) or "
                    "a state dict")
    ap.add_argument("--vocab", help="bpe_simple_vocab_16e6.txt.gz (default: from an installed "
                    "'clip' package)")
    ap.add_argument("--out", required=True, help="bundle folder to write")
    ap.add_argument("--name", help="bundle name (default: the folder's name)")
    ap.add_argument("--noise-input", action="store_true",
                    help="give the step graph 'noise' and 'eps' inputs (per-cutout Gaussian noise "
                    "fed from the host: N·3·S·S floats per step)")
    ap.add_argument("--fp16", action="store_true",
                    help="graphs compute in float16 (GPU providers; inputs and outputs stay "
                    "float32); halves weights.bin")
    ap.add_argument("--conv-grad", choices=["transpose", "conv"], default="transpose",
                    help="write the step graph's convolution input-gradients as ConvTranspose "
                    "(default) or, for stride-1 convolutions, as Conv with flipped kernels "
                    "(faster on some execution providers; same numbers)")
    ap.add_argument("--unsafe-pickle", action="store_true",
                    help="allow checkpoints that pickle Python objects (only for files you trust)")
    ap.add_argument("--work-dir", help="folder for intermediate graphs (default: system temp)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    a = ap.parse_args(argv)
    prog = Progress(100, enabled=not a.quiet)
    try:
        vocab = find_vocab(a.vocab)
        check_vocab(vocab)
        prog.step("loading VQGAN")
        vq = load_vqgan(a.vqgan_ckpt, a.vqgan_config, a.unsafe_pickle)
        prog.step("loading CLIP", 10)
        clip = load_clip(a.clip, a.unsafe_pickle)
        prog.step("loaded checkpoints", 10)
        man = export_bundle(vq, clip, a.out, vocab, a.name or os.path.basename(
            os.path.abspath(a.out)), a.noise_input, prog, a.work_dir, a.fp16, a.conv_grad)
    except (CheckpointError, FileNotFoundError, ValueError) as e:
        prog.close()
        print(f"export-real: {e}", file=sys.stderr)
        return 2
    prog.close()
    total = sum(os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out))
    print(f"export-real: wrote {a.out} ({total / 2**20:.0f} MiB; graphs "
          f"{', '.join(man['graphs'])})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
