"""The host's side of Et and Ts in step interface 2 (refloop.py), in Python: the field that
renderer/src/engine/etts-draws.ts computes (tps_field), and draws of the same shapes for the parity
tests and the exporters' examples (from a torch generator, not the engine's mulberry32).

Et, kornia's RandomElasticTransform(p=0.7) as generate.py builds it: per cutout `on` (p 0.7) and,
where on, kornia's noise rand·2 − 1 [2,S,S]; the graph smooths it (Gaussian window 63, sigma 32,
zeros outside), scales it (alpha 1) and samples (`elastic`, `elastic_on`).
Ts, kornia's RandomThinPlateSpline(scale=0.8, same_on_batch=True, p=0.7): one decision and one
jitter for the whole batch, dst = src + U(−0.8, 0.8) for kornia's five control points src =
(−1,−1), (−1,1), (1,−1), (1,1), (0,0). Like kornia, the spline is fitted from dst to src
(get_tps_transform(dst, src): kernel U(r²) = ½·r²·log(r² + 1e-8) between dst_i and the centres
src_j, affine rows [1, dst]) and evaluated at kornia's corner-aligned grid linspace(−1, 1, S);
grid_sample(align_corners=False) reads normalised g at pixel ((g + 1)·S − 1)/2. The 8×8 solve has
no ONNX op, and the field is one per step, so the host computes it: `tps` [N,2,S,S] = the source
pixel (x, y) of each output pixel (the identity where Ts is off).
"""
from __future__ import annotations

import numpy as np
import torch

TPS_SRC = ((-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0), (0.0, 0.0))
TPS_SCALE = 0.8
ELASTIC_P = 0.7
TPS_P = 0.7


def tps_kernel(r2: np.ndarray) -> np.ndarray:
    """kornia's r²·log r, written as ½·r²·log(r² + 1e-8)."""
    return 0.5 * r2 * np.log(r2 + 1e-8)


def tps_weights(dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dst [5,2] -> (kernel weights [5,2], affine [3,2]) of the spline that maps dst_i to src_i."""
    src = np.array(TPS_SRC)
    L = np.zeros((8, 8))
    L[:5, :5] = tps_kernel(((dst[:, None, :] - src[None, :, :]) ** 2).sum(-1))
    L[:5, 5] = 1
    L[:5, 6:] = dst
    L[5:, :5] = L[:5, 5:].T
    rhs = np.zeros((8, 2))
    rhs[:5] = src
    sol = np.linalg.solve(L, rhs)
    return sol[:5], sol[5:]


def tps_field(dst: np.ndarray, S: int) -> np.ndarray:
    """The sampling field [2,S,S] (source pixel x, y of each output pixel) of kornia's TPS warp."""
    w, a = tps_weights(np.asarray(dst, dtype=np.float64))
    lin = np.linspace(-1, 1, S)
    gy, gx = np.meshgrid(lin, lin, indexing="ij")
    v = np.stack([gx.reshape(-1), gy.reshape(-1)], -1)                   # [S²,2]
    src = np.array(TPS_SRC)
    k = tps_kernel(((v[:, None, :] - src[None, :, :]) ** 2).sum(-1))     # [S²,5]
    f = k @ w + v @ a[1:] + a[0]                                         # [S²,2]
    return (((f + 1) * S - 1) / 2).T.reshape(2, S, S).astype(np.float32)


def etts_draws(d: dict, g: torch.Generator, n: int, S: int, augments: str) -> None:
    """Adds the Et ("L" in augments) and Ts ("T") draws to a random_draws dictionary: the graph's
    `elastic`, `elastic_on`, `tps`, and for the reference `tps_dst` [N,5,2] and `tps_on` [N]."""
    if "L" in augments:
        on = (torch.rand(n, generator=g) < ELASTIC_P).float()
        on[0] = 1.0  # at least one cutout warped in every case
        d["elastic_on"] = on
        d["elastic"] = (torch.rand(n, 2, S, S, generator=g) * 2 - 1) * on[:, None, None, None]
    if "T" in augments:
        dst = torch.tensor(TPS_SRC) + (torch.rand(5, 2, generator=g) * 2 - 1) * TPS_SCALE
        d["tps_on"] = torch.ones(n)  # a test case asks for it: always on (the engine draws p 0.7)
        d["tps_dst"] = dst[None].repeat(n, 1, 1)
        d["tps"] = torch.from_numpy(tps_field(dst.double().numpy(), S))[None].repeat(n, 1, 1, 1)
