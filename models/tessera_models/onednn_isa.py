"""Import this before torch in anything that trains on CPU (DESIGN.md §7, models/train-tiny.sh).

On the project's virtualised AMD EPYC (family 26) CPUs, oneDNN's AVX-512 convolution kernels
give wrong numbers: NaN or 12–14 % relative error in the forward, input and weight gradients of
a 24→48 4×4 stride-2 conv, measured against float64 (2026-12-04). Capped at AVX2 they agree to
3e-7 and stay ~11× faster than torch's non-oneDNN path (64 cutouts: 24 ms against 270 ms), so
training keeps oneDNN on with ONEDNN_MAX_CPU_ISA=AVX2 instead of `mkldnn.enabled = False`.
oneDNN reads the variable once, when it creates its first primitive, hence: before torch.
"""
import os

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")


def check() -> float:
    """Relative error of a oneDNN conv's forward against float64 (the 24→48 4×4 stride-2 conv
    of the tiny image tower); raises if oneDNN is still wrong on this CPU."""
    import torch
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 24, 32, 32, generator=g, dtype=torch.float64)
    w = torch.randn(48, 24, 4, 4, generator=g, dtype=torch.float64) * 0.1
    ref = F.conv2d(x, w, stride=2, padding=1)
    with torch.backends.mkldnn.flags(enabled=True):
        got = F.conv2d(x.float(), w.float(), stride=2, padding=1).double()
    err = ((got - ref).norm() / ref.norm()).item()
    if not err < 1e-5:
        raise RuntimeError(f"oneDNN convolution is wrong on this CPU (relative error {err}); "
                           f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA')}")
    return err
