"""Import this before torch in anything that trains on CPU (DESIGN.md §7, models/train-tiny.sh).

On the project's virtualised AMD EPYC (family 26) CPUs, oneDNN's vector convolution kernels give
wrong numbers, measured against float64 (2026-12-04):
- AVX-512: NaN or 12–14 % relative error in the forward, input and weight gradients of a 24→48
  4×4 stride-2 conv (the tiny image tower's);
- AVX2 (and AVX2_VNNI): that conv is right (3e-7), but the *input gradient* of a 3×3 conv with
  ≤ 4 output channels (the tiny VQGAN decoder's last conv, 32→3) is 70–76 % wrong or NaN, so every
  render that backpropagates through the decoder went wrong;
- SSE4.1: both agree with float64 to 1e-7, and it is as fast as AVX2 here (a 64-cutout image-tower
  conv plus a decoder-sized 32→3 conv, forward + backward: 74 ms against 80 ms AVX2 and 593 ms
  with oneDNN off).
Hence training keeps oneDNN on with ONEDNN_MAX_CPU_ISA=SSE41 instead of `mkldnn.enabled = False`.
oneDNN reads the variable once, when it creates its first primitive, hence: before torch.
Reproduce: models/tests/test_onednn_isa.py.
"""
import os

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "SSE41")


def _rel(got, ref) -> float:
    return ((got.double() - ref).norm() / ref.norm()).item()


def check() -> dict[str, float]:
    """Relative errors against float64 of the two convs that went wrong (above), oneDNN on;
    raises if either is still wrong on this CPU."""
    import torch
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(0)
    errs = {}
    with torch.backends.mkldnn.flags(enabled=True):
        # the image tower's 24→48 4×4 stride-2 conv, forward
        x = torch.randn(16, 24, 32, 32, generator=g, dtype=torch.float64)
        w = torch.randn(48, 24, 4, 4, generator=g, dtype=torch.float64) * 0.1
        ref = F.conv2d(x, w, stride=2, padding=1)
        errs["tower conv forward"] = _rel(F.conv2d(x.float(), w.float(), stride=2, padding=1), ref)
        # the decoder's last conv, 32→3 3×3, input gradient
        x = torch.randn(2, 32, 64, 64, generator=g, dtype=torch.float64)
        w = torch.randn(3, 32, 3, 3, generator=g, dtype=torch.float64) * 0.1
        go = torch.randn(2, 3, 64, 64, generator=g, dtype=torch.float64)
        ref = torch.autograd.grad(F.conv2d(x.requires_grad_(), w, padding=1), x, go)[0]
        xf = x.detach().float().requires_grad_()
        got = torch.autograd.grad(F.conv2d(xf, w.float(), padding=1), xf, go.float())[0]
        errs["decoder conv input gradient"] = _rel(got, ref)
    bad = {k: v for k, v in errs.items() if not v < 1e-5}
    if bad:
        raise RuntimeError(f"oneDNN convolution is wrong on this CPU ({bad}); "
                           f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA')}")
    return errs
