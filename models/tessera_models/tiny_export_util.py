"""Export the tiny model's step graph: dloss/dz as plain ONNX with dynamic P and N.

Self-contained (export_grad.py, the real-model exporter's copy of the DESIGN §2 recipe, was
changing while this was written). A real-mode trace with concrete shapes (make_fx tracing_mode="real"), which bakes the
example's N and P into Reshape/Expand/ConstantOfShape shape constants and into the 1/N of a
mean's backward (a Div by N). We trace at unusual sizes (P = 5, N = 7, which divide no other
axis of the tiny model) and rewrite, in the ONNX graph, every such constant as a product of
Shape(cuts)[0] / Shape(targets)[0]. The parity test checks the graph at several other N and P.
"""
from __future__ import annotations

import os
from typing import Callable, Sequence

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch._decomp import core_aten_decompositions
from torch.fx.experimental.proxy_tensor import make_fx

aten = torch.ops.aten

TRACE_P, TRACE_N = 5, 7
# inputs that carry shapes (Where/Equal: how the exporter writes expand's -1 handling)
_SHAPE_INPUT = {"Reshape": (1,), "Expand": (1,), "ConstantOfShape": (0,), "Tile": (1,),
                "Where": (1, 2), "Equal": (0, 1)}


# ---- tracing dloss/dz into forward ops (DESIGN.md §2; the few entries the tiny model needs) ----

def _convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation,
                          transposed, output_padding, groups, output_mask):
    # frozen weights: only the input gradient, as a transposed convolution
    assert not transposed and not output_mask[1] and not output_mask[2]
    out_pad = []
    for i in range(weight.dim() - 2):
        k = weight.shape[2 + i]
        produced = (grad_output.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (k - 1) + 1
        out_pad.append(input.shape[2 + i] - produced)
    gi = aten.convolution.default(grad_output, weight, None, stride, padding, dilation, True, out_pad, groups)
    return gi, None, None


def _upsample_nearest2d_backward(grad_output, output_size, input_size, scales_h=None, scales_w=None):
    n, c, h, w = input_size
    sh, sw = output_size[0] // h, output_size[1] // w
    return grad_output.reshape(n, c, h, sh, w, sw).sum(dim=(3, 5))


def _empty_permuted(size, physical_layout, dtype=None, layout=None, device=None, pin_memory=None):
    return torch.zeros(size, dtype=dtype, device=device)


def _pad_into(grad, input_sizes, dim, start, stop):
    dim = dim % len(input_sizes)
    pads = [0, 0] * (len(input_sizes) - 1 - dim) + [start, input_sizes[dim] - stop]
    return torch.nn.functional.pad(grad, pads)


def _slice_backward(grad_output, input_sizes, dim, start, end, step):
    size = input_sizes[dim]
    start = start + size if start < 0 else start
    end = end + size if end < 0 else end
    start = max(0, min(start, size))
    end = max(start, min(end, size))
    assert step == 1
    return _pad_into(grad_output, input_sizes, dim, start, end)


def _select_backward(grad_output, input_sizes, dim, index):
    dim = dim % len(input_sizes)
    index = index + input_sizes[dim] if index < 0 else index
    return _pad_into(grad_output.unsqueeze(dim), input_sizes, dim, index, index + 1)


def decompositions() -> dict:
    table = dict(core_aten_decompositions().items())
    for op in (aten.upsample_nearest2d.default, aten.upsample_nearest2d.vec):
        table.pop(op, None)  # keep nearest upsampling as one Resize
    table.update({
        aten.convolution_backward.default: _convolution_backward,
        aten.upsample_nearest2d_backward.default: _upsample_nearest2d_backward,
        aten.empty_permuted.default: _empty_permuted,
        aten.slice_backward.default: _slice_backward,
        aten.select_backward.default: _select_backward,
    })
    return table


_registered: set = set()


def _register_symbolics(opset: int) -> None:
    if opset in _registered:
        return
    from torch.onnx import _type_utils, symbolic_helper

    def _to_copy(g, x, dtype=None, *rest):
        dt = symbolic_helper._maybe_get_const(dtype, "i")
        if dt is None or symbolic_helper._is_none(dtype):
            return g.op("Identity", x)
        return g.op("Cast", x, to_i=_type_utils.JitScalarType(dt).onnx_type())

    torch.onnx.register_custom_op_symbolic("aten::_to_copy", _to_copy, opset)
    _registered.add(opset)


def _fix_full_reductions(gm: torch.fx.GraphModule) -> None:
    """sum(x, dim=[]) means all dims to ATen but exports as a broken ReduceSum: use sum(x)."""
    for node in gm.graph.nodes:
        if node.target is aten.sum.dim_IntList and len(node.args) > 1 and not node.args[1]:
            if (node.args[2] if len(node.args) > 2 else node.kwargs.get("keepdim", False)):
                continue
            node.target = aten.sum.default
            node.args = (node.args[0],)
            node.kwargs = {k: v for k, v in node.kwargs.items() if k == "dtype"}
    gm.graph.lint()
    gm.recompile()


def export_grad_graph(loss_fn, example_inputs, input_names, output_names, path, dynamic_axes, opset):
    """(inputs) -> (loss, aux) traced as (loss, dloss/dinputs[0], aux) and exported."""
    _register_symbolics(opset)
    gv = torch.func.grad_and_value(loss_fn, argnums=0, has_aux=True)

    def flat(*inputs):
        grad, (loss, aux) = gv(*inputs)
        return (loss, grad, aux)

    gm = make_fx(flat, decomposition_table=decompositions(), tracing_mode="real")(*example_inputs)
    _fix_full_reductions(gm)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.onnx.export(gm, tuple(example_inputs), path, input_names=list(input_names),
                      output_names=list(output_names), dynamic_axes=dynamic_axes,
                      opset_version=opset, dynamo=False, do_constant_folding=True)


# ---- making N and P dynamic in the exported graph ----

def _const_value(graph, name, producers, inits):
    if name in inits:
        return inits[name]
    p = producers.get(name)
    if p is not None and p.op_type == "Constant":
        return numpy_helper.to_array(p.attribute[0].t)
    return None


def dynamize(path: str, p_input: str, n_input: str) -> int:
    """Rewrite constants that encode N or P in the ONNX file at `path`; returns how many."""
    m = onnx.load(path)
    g = m.graph
    producers = {o: n for n in g.node for o in n.output}
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    new_nodes: list = []
    counter = [0]

    def uid(s):
        counter[0] += 1
        return f"dyn_{s}_{counter[0]}"

    def const(arr, dtype=np.int64):
        name = uid("c")
        new_nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(arr, dtype=dtype), name)))
        return name

    def dim0(inp):
        s, d = uid("shape"), uid("dim")
        new_nodes.append(helper.make_node("Shape", [inp], [s]))
        new_nodes.append(helper.make_node("Slice", [s, const([0]), const([1])], [d]))
        return d

    n1, p1 = dim0(n_input), dim0(p_input)
    n_f = uid("nf"); new_nodes.append(helper.make_node("Cast", [n1], [n_f], to=onnx.TensorProto.FLOAT))
    p_f = uid("pf"); new_nodes.append(helper.make_node("Cast", [p1], [p_f], to=onnx.TensorProto.FLOAT))
    n_fs = uid("nfs"); new_nodes.append(helper.make_node("Squeeze", [n_f, const([0])], [n_fs]))
    p_fs = uid("pfs"); new_nodes.append(helper.make_node("Squeeze", [p_f, const([0])], [p_fs]))

    def elem(v):
        v = int(v)
        if v > 0 and v % (TRACE_N * TRACE_P) == 0:
            raise NotImplementedError(f"dynamize: N*P literal {v}")
        if v > 0 and v % TRACE_N == 0:
            base, k = n1, v // TRACE_N
        elif v > 0 and v % TRACE_P == 0:
            base, k = p1, v // TRACE_P
        else:
            return const([v])
        if k == 1:
            return base
        out = uid("mul")
        new_nodes.append(helper.make_node("Mul", [base, const([k])], [out]))
        return out

    def is_dyn(v):
        return v > 0 and (v % TRACE_N == 0 or v % TRACE_P == 0)

    patched = 0
    for node in g.node:
        if node.op_type in _SHAPE_INPUT:
            for k in _SHAPE_INPUT[node.op_type]:
                if k >= len(node.input):
                    continue
                val = _const_value(g, node.input[k], producers, inits)
                if val is not None and val.dtype == np.int64 and val.ndim == 1 and any(is_dyn(v) for v in val):
                    parts = [elem(v) for v in val]
                    out = uid("shape")
                    new_nodes.append(helper.make_node("Concat", parts, [out], axis=0))
                    node.input[k] = out
                    patched += 1
        elif node.op_type in ("Div", "Mul"):
            for k in (0, 1):
                val = _const_value(g, node.input[k], producers, inits)
                if val is not None and val.dtype == np.float32 and val.size == 1 and val.ndim == 0:
                    v = float(val)
                    if v in (float(TRACE_N), float(TRACE_P)):
                        node.input[k] = n_fs if v == TRACE_N else p_fs
                        patched += 1
                    elif any(abs(v - 1 / s) < 1e-7 for s in (TRACE_N, TRACE_P)):
                        raise NotImplementedError(f"dynamize: 1/N constant in {node.name}")
    patched += _dynamize_filled(g, new_nodes, elem, is_dyn, uid)
    # prepend the helper nodes (they only read graph inputs and constants)
    nodes = new_nodes + list(g.node)
    while True:  # drop constants nothing reads any more
        used = {i for n in nodes for i in n.input} | {o.name for o in g.output}
        keep = [n for n in nodes if n.op_type != "Constant" or n.output[0] in used]
        if len(keep) == len(nodes):
            break
        nodes = keep
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return patched


def _dynamize_filled(g, new_nodes, elem, is_dyn, uid) -> int:
    """Constant folding turns a batch-shaped fill (the zeros a gather's scatter-add gradient
    starts from) into a constant: rebuild it as ConstantOfShape of the dynamic shape."""
    def filled(arr):
        # float tensors of rank ≥ 2 only: a rank-1 int64 fill is a shape helper (Expand's −1s)
        if arr.ndim < 2 or arr.dtype != np.float32 or not any(is_dyn(d) for d in arr.shape):
            return False
        flat = arr.reshape(-1)
        return bool((flat == flat[0]).all())

    def rebuild(arr, name):
        shape = uid("fillshape")
        new_nodes.append(helper.make_node("Concat", [elem(d) for d in arr.shape], [shape], axis=0))
        value = numpy_helper.from_array(np.array([arr.reshape(-1)[0]], dtype=arr.dtype), uid("fillvalue"))
        new_nodes.append(helper.make_node("ConstantOfShape", [shape], [name], value=value))

    patched = 0
    for init in list(g.initializer):
        arr = numpy_helper.to_array(init)
        if filled(arr):
            rebuild(arr, init.name)
            g.initializer.remove(init)
            patched += 1
    for node in list(g.node):
        if node.op_type == "Constant" and node.attribute[0].name == "value":
            arr = numpy_helper.to_array(node.attribute[0].t)
            if filled(arr):
                rebuild(arr, node.output[0])
                g.node.remove(node)
                patched += 1
    return patched


def export_grad_graph_dynamic(loss_fn: Callable, example_inputs: Sequence, input_names: Sequence[str],
                              output_names: Sequence[str], path: str, dynamic_axes: dict,
                              p_input: str, n_input: str, opset: int = 17) -> str:
    """export_grad_graph(has_aux=True) traced at P = 5, N = 7, then dynamize()."""
    export_grad_graph(loss_fn, example_inputs, input_names, output_names, path, dynamic_axes, opset)
    dynamize(path, p_input, n_input)
    return path
