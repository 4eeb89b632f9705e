"""Export the *gradient* of a PyTorch loss as a plain ONNX graph (DESIGN.md §2).

onnxruntime only runs inference, so dloss/dz has to be an ordinary graph: we trace
``torch.func.grad_and_value(loss_fn)`` with ``make_fx`` and a decomposition table that turns
every backward op into forward ops the TorchScript ONNX exporter knows, then export the traced
graph module with ``torch.onnx.export(..., dynamo=False)``.

Models meant for shape-polymorphic (dynamic H/W/batch) export must avoid two PyTorch helpers
whose symbolic-shape paths pin sizes or export badly: use ``linear`` instead of ``F.linear`` /
``nn.Linear`` on inputs of rank > 2, and ``upsample_nearest`` instead of ``F.interpolate``.

Also here: ``make_cutouts``, the in-graph crop-and-resize used by every step graph
(BUNDLE.md: cuts [N,4] = x0, y0, size, flip), so all models build cutouts the same way.
"""
from __future__ import annotations

import contextlib
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
    "fix_reshape_chains",
    "check_dynamic_axes",
    "export_grad_graph",
    "make_cutouts",
    "linear",
    "upsample_nearest",
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
            # int(): under symbolic tracing, specialise (ONNX wants a constant attribute)
            out_pad.append(int(input.shape[2 + i] - produced))
        grad_input = aten.convolution.default(grad_output, weight, None, stride, padding,
                                              dilation, True, out_pad, groups)
    return grad_input, None, None


def _convolution_backward_as_conv(grad_output, input, weight, bias_sizes, stride, padding,
                                  dilation, transposed, output_padding, groups, output_mask):
    """Input gradient of a stride-1, dilation-1 convolution as a plain convolution with the
    kernel flipped and its in/out channels swapped (same numbers as conv_transpose2d; some
    providers run Conv much faster than ConvTranspose). Strided convolutions fall back to
    conv_transpose2d."""
    if transposed or any(s != 1 for s in stride) or any(d != 1 for d in dilation):
        return _convolution_backward(grad_output, input, weight, bias_sizes, stride, padding,
                                     dilation, transposed, output_padding, groups, output_mask)
    if output_mask[1] or output_mask[2]:
        return _convolution_backward(grad_output, input, weight, bias_sizes, stride, padding,
                                     dilation, transposed, output_padding, groups, output_mask)
    if not output_mask[0]:
        return None, None, None
    nd = weight.dim() - 2
    cout, cin_g = weight.shape[0], weight.shape[1]
    w = weight.reshape(groups, cout // groups, cin_g, *weight.shape[2:]).transpose(1, 2)
    w = w.reshape(groups * cin_g, cout // groups, *weight.shape[2:]).flip(list(range(2, 2 + nd)))
    pad = [int(weight.shape[2 + i]) - 1 - padding[i] for i in range(nd)]
    if any(p < 0 for p in pad):
        return _convolution_backward(grad_output, input, weight, bias_sizes, stride, padding,
                                     dilation, transposed, output_padding, groups, output_mask)
    return (aten.convolution.default(grad_output, w, None, [1] * nd, pad, [1] * nd, False,
                                     [0] * nd, groups), None, None)


def _upsample_nearest2d_backward(grad_output, output_size, input_size, scales_h=None,
                                 scales_w=None):
    n, c, h, w = input_size
    sh = int(output_size[0] // h)
    sw = int(output_size[1] // w)
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


def grad_decompositions(conv_grad: str = "transpose") -> dict:
    """core ATen decompositions plus the hand-written entries of DESIGN.md §2.

    ``conv_grad``: how input gradients of convolutions are written — "transpose"
    (ConvTranspose, the recipe measured in DESIGN.md) or "conv" (stride-1 convolutions as a Conv
    with the flipped kernel)."""
    if conv_grad not in ("transpose", "conv"):
        raise ValueError(f"conv_grad must be 'transpose' or 'conv', not {conv_grad!r}")
    table = dict(core_aten_decompositions().items())
    # keep nearest upsampling as one op (ONNX Resize) instead of index arithmetic
    for op in (aten.upsample_nearest2d.default, aten.upsample_nearest2d.vec):
        table.pop(op, None)
    table.update({
        aten.convolution_backward.default: (_convolution_backward if conv_grad == "transpose"
                                            else _convolution_backward_as_conv),
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
    try:  # torch 2.6
        from torch.onnx import _type_utils, symbolic_helper
    except ImportError:  # later releases moved the TorchScript exporter's helpers
        from torch.onnx._internal.torchscript_exporter import _type_utils, symbolic_helper
    register = getattr(torch.onnx, "register_custom_op_symbolic", None)
    if register is None:
        from torch.onnx._internal.torchscript_exporter.utils import (
            register_custom_op_symbolic as register)

    @symbolic_helper.parse_args("v", "i", "i")
    def _softmax(g, x, dim, half_to_float):
        return g.op("Softmax", x, axis_i=dim)

    def _to_copy(g, x, dtype=None, *rest):
        # make_fx turns every .to(dtype) into aten::_to_copy, which the exporter lacks
        dt = symbolic_helper._maybe_get_const(dtype, "i")
        if dt is None or symbolic_helper._is_none(dtype):
            return g.op("Identity", x)
        return g.op("Cast", x, to_i=_type_utils.JitScalarType(dt).onnx_type())

    register("aten::_softmax", _softmax, opset)
    register("aten::_to_copy", _to_copy, opset)
    _registered.add(opset)


# ---------------------------------------------------------------------------------------------
# Tracing and export
# ---------------------------------------------------------------------------------------------

def trace_grad(loss_fn: Callable, example_inputs: Sequence[torch.Tensor],
               has_aux: bool = False, symbolic: bool = False,
               conv_grad: str = "transpose") -> torch.fx.GraphModule:
    """Trace ``(*inputs) -> (loss, grad wrt inputs[0], *aux)`` into an FX graph of forward ops.

    ``loss_fn(*inputs)`` returns the scalar loss, or ``(loss, aux)`` with ``has_aux`` where aux
    is a tensor or a tuple of tensors (e.g. the decoded image) returned as extra outputs.
    Model parameters must not require grad.

    ``symbolic``: trace with symbolic sizes (every input dim > 1 becomes a symbol, no two dims
    share one), so that the graph can be exported with dynamic axes. Sizes that the model
    branches on are specialised (guarded) to the example's values.
    """
    gv = torch.func.grad_and_value(loss_fn, argnums=0, has_aux=has_aux)

    def flat(*inputs):
        grad, value = gv(*inputs)
        if has_aux:
            loss, aux = value
            aux = aux if isinstance(aux, (tuple, list)) else (aux,)
            return (loss, grad, *aux)
        return (value, grad)

    if symbolic:
        from torch.fx.experimental import _config as fx_config
        # without this, two inputs dims that happen to be equal in the example (H == W,
        # cutn == prompts) would be traced as one symbol (examples should avoid that anyway)
        no_duck = (fx_config.patch(use_duck_shape=False) if hasattr(fx_config, "use_duck_shape")
                   else contextlib.nullcontext())
        with no_duck:
            gm = make_fx(flat, decomposition_table=grad_decompositions(conv_grad), tracing_mode="symbolic",
                         _allow_non_fake_inputs=True)(*example_inputs)
    else:
        gm = make_fx(flat, decomposition_table=grad_decompositions(conv_grad),
                     tracing_mode="real")(*example_inputs)
    _fix_full_reductions(gm)
    if symbolic:
        _make_jit_traceable(gm)
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


# Symbolic FX graphs compute sizes with aten.sym_size and Python arithmetic on SymInts. The
# TorchScript tracer (what torch.onnx.export(dynamo=False) runs) records sizes only when they are
# read with Tensor.size() (it then hands out 0-dim tensors, so arithmetic is recorded too) and
# passed to Python-level torch functions. So: rewrite those nodes into the Python-level calls.

def _size(x, d):
    return x.size(d)


def _sym_float(v):
    return v.to(torch.float32) if isinstance(v, torch.Tensor) else float(v)


def _sym_int(v):
    return v.to(torch.int64) if isinstance(v, torch.Tensor) else int(v)


def _full(size, value, dtype=None, layout=None, device=None, pin_memory=None):
    return torch.full(size, value, dtype=dtype, device=device)


def _zeros(size, dtype=None, layout=None, device=None, pin_memory=None):
    return torch.zeros(size, dtype=dtype, device=device)


def _arange_start_step(start, end, step=1, dtype=None, layout=None, device=None,
                       pin_memory=None):
    return torch.arange(start, end, step, dtype=dtype, device=device)


def _arange(end, dtype=None, layout=None, device=None, pin_memory=None):
    return torch.arange(end, dtype=dtype, device=device)


def _slice(x, dim=0, start=None, end=None, step=1):
    idx = [slice(None)] * x.dim()
    idx[dim] = slice(start, end, step)
    return x[tuple(idx)]


def _pad(x, pad, value=0.0):
    return F.pad(x, list(pad), value=value)


_PY_LEVEL = {
    aten.sym_size.int: _size,
    torch.sym_float: _sym_float,
    torch.sym_int: _sym_int,
    aten.view.default: torch.Tensor.reshape,
    aten.reshape.default: torch.Tensor.reshape,
    aten._unsafe_view.default: torch.Tensor.reshape,
    aten.expand.default: torch.Tensor.expand,
    aten.full.default: _full,
    aten.zeros.default: _zeros,
    aten.arange.start_step: _arange_start_step,
    aten.arange.default: _arange,
    aten.slice.Tensor: _slice,
    aten.constant_pad_nd.default: _pad,
    aten.mul.Scalar: torch.mul,
    aten.mul.Tensor: torch.mul,
    aten.add.Tensor: torch.add,
    aten.add.Scalar: torch.add,
    aten.sub.Tensor: torch.sub,
    aten.div.Tensor: torch.div,
    aten.div.Scalar: torch.div,
    aten.sub.Scalar: torch.sub,
    aten.rsub.Scalar: torch.rsub,
    aten.rsub.Tensor: torch.rsub,
    aten.sum.dim_IntList: torch.sum,
    aten.mean.dim: torch.mean,
}


def _is_sym(a) -> bool:
    if isinstance(a, torch.fx.Node):
        return isinstance(a.meta.get("val"), (torch.SymInt, torch.SymFloat, torch.SymBool))
    if isinstance(a, (list, tuple)):
        return any(_is_sym(x) for x in a)
    return False


def _drop_noop_slices(gm: torch.fx.GraphModule) -> None:
    """``x[:, i]`` traces as slice(x, 0, 0, INT64_MAX) + select; the exporter's shape inference
    can then pin the sliced dim to its traced size. The full slice is a no-op: drop it."""
    for node in list(gm.graph.nodes):
        if node.op == "call_function" and node.target is aten.slice.Tensor:
            args = list(node.args) + [None] * (5 - len(node.args))
            x, _, start, end, step = args[:5]
            if (start in (None, 0) and isinstance(end, int) and end >= 2 ** 62
                    and step in (None, 1)):
                node.replace_all_uses_with(x)
                gm.graph.erase_node(node)


def _make_jit_traceable(gm: torch.fx.GraphModule) -> None:
    _drop_noop_slices(gm)
    gm.graph.eliminate_dead_code()
    bad = set()
    for node in gm.graph.nodes:
        if node.op != "call_function":
            continue
        if node.target in (aten.sym_size.int, torch.sym_float, torch.sym_int):
            node.target = _PY_LEVEL[node.target]
        elif isinstance(node.target, torch._ops.OpOverload) and (
                _is_sym(list(node.args)) or _is_sym(list(node.kwargs.values()))):
            if node.target not in _PY_LEVEL:
                bad.add(str(node.target))
            else:
                node.target = _PY_LEVEL[node.target]
    if bad:
        raise NotImplementedError(
            f"export_grad: no shape-polymorphic rewrite for {sorted(bad)}; add one to _PY_LEVEL "
            "or trace with symbolic=False")
    gm.graph.lint()
    gm.recompile()
    # tensors created while tracing and then left unused can be fake tensors that the
    # TorchScript tracer cannot read: drop every attribute no node reads
    used = {n.target for n in gm.graph.nodes if n.op == "get_attr"}
    for name in list(gm.state_dict(keep_vars=True)):
        if name not in used and "." not in name:
            delattr(gm, name)


def check_dynamic_axes(gm: torch.fx.GraphModule, input_names: Sequence[str],
                       dynamic_axes: dict) -> None:
    """Raise if tracing fixed an axis that should stay dynamic (the graph would then fail, or
    silently use the traced size, at other sizes)."""
    env = getattr(gm, "shape_env", None)
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    fixed = []
    for name, axes in dynamic_axes.items():
        if name not in input_names:
            continue
        val = placeholders[list(input_names).index(name)].meta.get("val")
        if val is None:
            continue
        for dim, label in (axes.items() if isinstance(axes, dict) else
                           ((d, f"{name}_{d}") for d in axes)):
            size = val.shape[dim]
            if isinstance(size, torch.SymInt) and env is not None:
                size = env.replace(size.node.expr)
                if not getattr(size, "is_number", False):
                    continue
            elif isinstance(size, torch.SymInt):
                continue
            fixed.append(f"{name}[{dim}] ({label}) = {int(size)}")
    if fixed:
        raise ValueError(
            "export_grad: tracing fixed dynamic axes to their example sizes: " + ", ".join(fixed)
            + ". Something reads those sizes as Python ints: F.linear on an input of rank > 2 "
            "(use export_grad.linear), F.interpolate (use upsample_nearest), a Python `if` on "
            "a size, or an example size of 0 or 1.")


class _Wrapper(torch.nn.Module):
    def __init__(self, gm: torch.fx.GraphModule):
        super().__init__()
        self.gm = gm

    def forward(self, *inputs):
        return self.gm(*inputs)


def fix_reshape_chains(model) -> int:
    """Rewire ``Reshape(Reshape(x, live_shape), const_shape)`` to ``Reshape(x, const_shape)``.

    onnxruntime's ReshapeFusion (FuseContiguousReshapes, seen in 1.21) crashes session
    creation on that pattern ("Attempting to get index by a name which does not exist ...
    _new_reshape"); group norm written for dynamic sizes produces it. The rewrite is exact when
    the constant shape has no 0 (copy-this-dim) entry. Returns how many nodes were rewired."""
    from onnx import numpy_helper

    consts = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    consts[n.output[0]] = numpy_helper.to_array(a.t)
    producer = {o: n for n in model.graph.node for o in n.output}
    changed = 0
    for n in model.graph.node:
        if n.op_type != "Reshape" or n.input[1] not in consts:
            continue
        shape = consts[n.input[1]]
        if (shape == 0).any():
            continue
        src = producer.get(n.input[0])
        while src is not None and src.op_type == "Reshape":
            n.input[0] = src.input[0]
            changed += 1
            src = producer.get(n.input[0])
    return changed


def export_grad_graph(loss_fn: Callable, example_inputs: Sequence[torch.Tensor],
                      input_names: Sequence[str], output_names: Sequence[str], path: str,
                      dynamic_axes: dict | None = None, opset: int = 17,
                      has_aux: bool = False, symbolic: bool | None = None,
                      external_data: bool = False, conv_grad: str = "transpose") -> str:
    """Export ``loss_fn`` and its gradient wrt ``example_inputs[0]`` as one ONNX graph.

    Outputs, in order: loss, grad, then aux outputs when ``has_aux``; ``output_names`` names
    them. With ``dynamic_axes`` the function is traced with symbolic sizes (``symbolic``
    defaults to ``bool(dynamic_axes)``): give an example whose dynamic dims are all > 1; dims
    the model branches on are fixed to the example's values. Returns ``path``.
    """
    import onnx

    register_onnx_symbolics(opset)
    if symbolic is None:
        symbolic = bool(dynamic_axes)
    gm = trace_grad(loss_fn, example_inputs, has_aux=has_aux, symbolic=symbolic,
                    conv_grad=conv_grad)
    if symbolic and dynamic_axes:
        check_dynamic_axes(gm, input_names, dynamic_axes)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.onnx.export(_Wrapper(gm), tuple(example_inputs), path, input_names=list(input_names),
                      output_names=list(output_names), dynamic_axes=dynamic_axes or {},
                      opset_version=opset, dynamo=False, do_constant_folding=True)
    model = onnx.load(path)
    if fix_reshape_chains(model):
        onnx.save(model, path, save_as_external_data=external_data)
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


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
           ) -> torch.Tensor:
    """``F.linear`` for any rank, as a 2-D matmul. (F.linear on a 3-D input reads concrete
    sizes under symbolic tracing, which pins the batch size into the graph.)"""
    lead = x.shape[:-1]
    y = x.reshape(-1, x.shape[-1])
    y = torch.mm(y, weight.t()) if bias is None else torch.addmm(bias, y, weight.t())
    return y.reshape(*lead, weight.shape[0])


def upsample_nearest(x: torch.Tensor, s: int) -> torch.Tensor:
    """Nearest-neighbour upsampling by an integer factor written as expand + reshape, so that
    both it and its gradient (a reshape + sum) stay shape-polymorphic in ONNX."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h, 1, w, 1).expand(n, c, h, s, w, s).reshape(n, c, h * s, w * s)


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
