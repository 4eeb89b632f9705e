"""Export the *gradient* of a PyTorch loss as a plain ONNX graph (DESIGN.md §2).

onnxruntime only runs inference, so dloss/dz has to be an ordinary graph: we trace
``torch.func.grad_and_value(loss_fn)`` with ``make_fx`` and a decomposition table that turns
every backward op into forward ops the TorchScript ONNX exporter knows, then export the traced
graph module with ``torch.onnx.export(..., dynamo=False)``.

Also here: ``make_cutouts``, the in-graph crop-and-resize used by every step graph
(BUNDLE.md: cuts [N,4] = x0, y0, size, flip), so all models build cutouts the same way.
"""
from __future__ import annotations

import os
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch._decomp import core_aten_decompositions
from torch.fx.experimental.proxy_tensor import make_fx

aten = torch.ops.aten

__all__ = [
    "grad_decompositions",
    "register_onnx_symbolics",
    "trace_grad",
    "export_grad_graph",
    "make_cutouts",
    "cutout_matrix",
    "spherical_loss",
]


# ---------------------------------------------------------------------------------------------
# Decompositions: backward ops -> forward ops with an ONNX form
# ---------------------------------------------------------------------------------------------

def _convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation,
                          transposed, output_padding, groups, output_mask):
    # Weights are frozen: only the input gradient is ever needed. It is the transposed
    # convolution of grad_output; output_padding restores sizes that a strided conv rounded down.
    # (torch.nn.grad.conv2d_input would call convolution_backward again: infinite recursion.)
    if transposed:
        raise NotImplementedError("export_grad: gradient through a transposed convolution")
    if output_mask[1] or output_mask[2]:
        raise NotImplementedError(
            "export_grad: a weight/bias gradient was requested; freeze the model's parameters "
            "(requires_grad_(False)) before tracing")
    grad_input = None
    if output_mask[0]:
        nd = weight.dim() - 2
        out_pad = []
        for i in range(nd):
            k = weight.shape[2 + i]
            produced = ((grad_output.shape[2 + i] - 1) * stride[i] - 2 * padding[i]
                        + dilation[i] * (k - 1) + 1)
            out_pad.append(input.shape[2 + i] - produced)
        grad_input = aten.convolution.default(grad_output, weight, None, stride, padding,
                                              dilation, True, out_pad, groups)
    return grad_input, None, None


def _upsample_nearest2d_backward(grad_output, output_size, input_size, scales_h=None,
                                 scales_w=None):
    n, c, h, w = input_size
    sh = output_size[0] // h
    sw = output_size[1] // w
    if sh * h != output_size[0] or sw * w != output_size[1]:
        raise NotImplementedError("export_grad: nearest upsampling by a non-integer factor")
    return grad_output.reshape(n, c, h, sh, w, sw).sum(dim=(3, 5))


def _empty_permuted(size, physical_layout, dtype=None, layout=None, device=None,
                    pin_memory=None):
    return torch.zeros(size, dtype=dtype, device=device)


def _native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    x = input.reshape(N, group, -1)
    mean = x.mean(dim=-1, keepdim=True)
    xc = x - mean
    var = (xc * xc).mean(dim=-1, keepdim=True)
    rstd = torch.rsqrt(var + eps)
    out = (xc * rstd).reshape(input.shape)
    bshape = [1, C] + [1] * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(bshape)
    if bias is not None:
        out = out + bias.reshape(bshape)
    return out, mean.reshape(N, group), rstd.reshape(N, group)


def _native_layer_norm(input, normalized_shape, weight, bias, eps):
    dims = list(range(input.dim() - len(normalized_shape), input.dim()))
    mean = input.mean(dim=dims, keepdim=True)
    xc = input - mean
    var = (xc * xc).mean(dim=dims, keepdim=True)
    rstd = torch.rsqrt(var + eps)
    out = xc * rstd
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out, mean, rstd


def _pad_into(grad, input_sizes, dim, start, stop):
    dim = dim % len(input_sizes)
    # F.pad lists pads from the last dimension backwards
    pads = [0, 0] * (len(input_sizes) - 1 - dim) + [start, input_sizes[dim] - stop]
    return F.pad(grad, pads)


def _slice_backward(grad_output, input_sizes, dim, start, end, step):
    size = input_sizes[dim]
    if start < 0:
        start += size
    if end < 0:
        end += size
    start = max(0, min(start, size))
    end = max(start, min(end, size))
    if step != 1:
        raise NotImplementedError("export_grad: gradient of a strided slice")
    return _pad_into(grad_output, input_sizes, dim, start, end)


def _select_backward(grad_output, input_sizes, dim, index):
    dim = dim % len(input_sizes)
    if index < 0:
        index += input_sizes[dim]
    return _pad_into(grad_output.unsqueeze(dim), input_sizes, dim, index, index + 1)


def grad_decompositions() -> dict:
    """core ATen decompositions plus the hand-written entries of DESIGN.md §2."""
    table = dict(core_aten_decompositions().items())
    # keep nearest upsampling as one op (ONNX Resize) instead of index arithmetic
    for op in (aten.upsample_nearest2d.default, aten.upsample_nearest2d.vec):
        table.pop(op, None)
    table.update({
        aten.convolution_backward.default: _convolution_backward,
        aten.upsample_nearest2d_backward.default: _upsample_nearest2d_backward,
        aten.empty_permuted.default: _empty_permuted,
        aten.native_group_norm.default: _native_group_norm,
        aten.native_layer_norm.default: _native_layer_norm,
        aten.slice_backward.default: _slice_backward,
        aten.select_backward.default: _select_backward,
    })
    return table


# ---------------------------------------------------------------------------------------------
# ONNX symbolics
# ---------------------------------------------------------------------------------------------

_registered: set[int] = set()


def register_onnx_symbolics(opset: int = 17) -> None:
    """Map ``aten::_softmax`` (what make_fx leaves behind) to ONNX ``Softmax`` and
    ``aten::_to_copy`` (dtype casts) to ``Cast``."""
    if opset in _registered:
        return
    from torch.onnx import _type_utils, symbolic_helper

    @symbolic_helper.parse_args("v", "i", "i")
    def _softmax(g, x, dim, half_to_float):
        return g.op("Softmax", x, axis_i=dim)

    def _to_copy(g, x, dtype=None, *rest):
        # make_fx turns every .to(dtype) into aten::_to_copy, which the exporter lacks
        dt = symbolic_helper._maybe_get_const(dtype, "i")
        if dt is None or symbolic_helper._is_none(dtype):
            return g.op("Identity", x)
        return g.op("Cast", x, to_i=_type_utils.JitScalarType(dt).onnx_type())

    torch.onnx.register_custom_op_symbolic("aten::_softmax", _softmax, opset)
    torch.onnx.register_custom_op_symbolic("aten::_to_copy", _to_copy, opset)
    _registered.add(opset)


# ---------------------------------------------------------------------------------------------
# Tracing and export
# ---------------------------------------------------------------------------------------------

def trace_grad(loss_fn: Callable, example_inputs: Sequence[torch.Tensor],
               has_aux: bool = False) -> torch.fx.GraphModule:
    """Trace ``(*inputs) -> (loss, grad wrt inputs[0], *aux)`` into an FX graph of forward ops.

    ``loss_fn(*inputs)`` returns the scalar loss, or ``(loss, aux)`` with ``has_aux`` where aux
    is a tensor or a tuple of tensors (e.g. the decoded image) returned as extra outputs.
    Model parameters must not require grad.
    """
    gv = torch.func.grad_and_value(loss_fn, argnums=0, has_aux=has_aux)

    def flat(*inputs):
        grad, value = gv(*inputs)
        if has_aux:
            loss, aux = value
            aux = aux if isinstance(aux, (tuple, list)) else (aux,)
            return (loss, grad, *aux)
        return (value, grad)

    gm = make_fx(flat, decomposition_table=grad_decompositions(),
                 tracing_mode="real")(*example_inputs)
    _fix_full_reductions(gm)
    return gm


def _fix_full_reductions(gm: torch.fx.GraphModule) -> None:
    """``sum(x, dim=[])`` means "all dims" to ATen but exports as a broken ReduceSum with a
    float axes tensor: rewrite it as ``sum(x)``."""
    for node in gm.graph.nodes:
        if node.target is aten.sum.dim_IntList and len(node.args) > 1 and not node.args[1]:
            keepdim = node.args[2] if len(node.args) > 2 else node.kwargs.get("keepdim", False)
            if keepdim:
                continue
            node.target = aten.sum.default
            node.args = (node.args[0],)
            node.kwargs = {k: v for k, v in node.kwargs.items() if k == "dtype"}
    gm.graph.lint()
    gm.recompile()


def export_grad_graph(loss_fn: Callable, example_inputs: Sequence[torch.Tensor],
                      input_names: Sequence[str], output_names: Sequence[str], path: str,
                      dynamic_axes: dict | None = None, opset: int = 17,
                      has_aux: bool = False) -> str:
    """Export ``loss_fn`` and its gradient wrt ``example_inputs[0]`` as one ONNX graph.

    Outputs, in order: loss, grad, then aux outputs when ``has_aux``; ``output_names`` names
    them. Shapes are traced concretely (real tracing), so only axes whose size the traced ops do
    not depend on may be listed in ``dynamic_axes`` (e.g. the number of prompts or cutouts).
    Returns ``path``.
    """
    register_onnx_symbolics(opset)
    gm = trace_grad(loss_fn, example_inputs, has_aux=has_aux)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.onnx.export(gm, tuple(example_inputs), path, input_names=list(input_names),
                      output_names=list(output_names), dynamic_axes=dynamic_axes or {},
                      opset_version=opset, dynamo=False, do_constant_folding=True)
    return path


# ---------------------------------------------------------------------------------------------
# Cutouts and the spherical loss shared by the step graphs
# ---------------------------------------------------------------------------------------------

def cutout_matrix(start: torch.Tensor, size: torch.Tensor, flip: torch.Tensor, length: int,
                  S: int) -> torch.Tensor:
    """[N,S,length] resampling matrices: row i reads output pixel i of the crop
    [start, start+size) resized to S (triangle filter widened when shrinking, like an
    antialiased bilinear resize; weights restricted to the crop and normalised to sum 1);
    rows reversed where ``flip`` is 1."""
    n = start.shape[0]
    dt = start.dtype
    i = torch.arange(S, dtype=dt, device=start.device).reshape(1, S)
    flip = flip.reshape(n, 1)
    i = flip * (S - 1 - i) + (1 - flip) * i
    start = start.reshape(n, 1, 1)
    size = size.reshape(n, 1, 1)
    scale = size / S
    centre = start + (i.reshape(n, S, 1) + 0.5) * scale - 0.5            # [N,S,1]
    j = torch.arange(length, dtype=dt, device=start.device).reshape(1, 1, length)
    support = torch.clamp(scale, min=1.0)
    w = torch.clamp(1.0 - (j - centre).abs() / support, min=0.0)
    inside = (j >= start).to(dt) * (j < start + size).to(dt)
    w = w * inside
    return w / w.sum(dim=-1, keepdim=True)


def make_cutouts(img: torch.Tensor, cuts: torch.Tensor, S: int) -> torch.Tensor:
    """img [1,C,H,W], cuts [N,4] (x0, y0, size, flip) -> [N,C,S,S]: cut = Ry · img · Rxᵀ."""
    _, _, H, W = img.shape
    x0, y0, size, flip = cuts[:, 0], cuts[:, 1], cuts[:, 2], cuts[:, 3]
    ry = cutout_matrix(y0, size, torch.zeros_like(flip), H, S)          # [N,S,H]
    rx = cutout_matrix(x0, size, flip, W, S)                            # [N,S,W]
    rows = torch.matmul(ry.unsqueeze(1), img)                           # [N,C,S,W]
    return torch.matmul(rows, rx.transpose(1, 2).unsqueeze(1))          # [N,C,S,S]


def spherical_loss(e: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor,
                   stops: torch.Tensor) -> torch.Tensor:
    """e [N,D] and targets [P,D] unit-norm -> scalar loss per BUNDLE.md:
    d = 2·asin(|e − t|/2)², loss = Σ_p |w_p| · mean_k(sign(w_p)·d_pk), gradient of d_pk zeroed
    where d_pk < stop_p (forward unchanged)."""
    dist = (e.unsqueeze(0) - targets.unsqueeze(1)).norm(dim=-1)        # [P,N]
    d = 2.0 * torch.asin(torch.clamp(dist / 2.0, max=1.0)) ** 2
    keep = (d >= stops.unsqueeze(1)).to(d.dtype)
    d = d * keep + (d * (1.0 - keep)).detach()                          # value d, grad only where kept
    return (weights.abs() * (torch.sign(weights).unsqueeze(1) * d).mean(dim=1)).sum()
