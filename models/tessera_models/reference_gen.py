"""An eager, generate.py-style PyTorch reference of one VQGAN-CLIP step (DESIGN.md §7), for the
parity tests of the exported step graph (refloop.py). Written independently of refloop.py:
torch's own adaptive pooling and grid_sample, an HSV conversion with argmax/gather as kornia
does it, slicing crops area-resampled by running integrals, an autograd.Function for the clamp,
and the Prompt module's formula. Augmentations reach only the cutouts drawn for them (kornia's
random apply): a warp left at the identity is not resampled at all.

Where float32 rounding decides a non-differentiable point (which channel is the maximum, which
side of an HSV sector boundary a hue falls on, which side of the image clamp a pixel is on), both
one-sided derivatives are right, and two float32 programs may pick different ones; a single such
pixel moved dloss/dz by up to 2 % at 224 px. So the reference computes in float64 (the saturation
and hue ops, the warp sampling, the area crops) but takes the graph's side at those points: it
samples the warps at the same float32 points (_grid_warp), reads the HSV sector from the graph's
float32 formula (_graph_sector) and, when given the graph's image, its clamp side
(reference_step). Everything else stays in the model's float32.

Draws (the same dictionary the step graph takes) come from `random_draws`; `reference_step`
returns (loss, dloss/dz) by plain autograd.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


class ClampWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return x.clamp(lo, hi)

    @staticmethod
    def backward(ctx, grad_in):
        (x,) = ctx.saved_tensors
        return grad_in * (grad_in * (x - x.clamp(ctx.lo, ctx.hi)) >= 0), None, None


class ReplaceGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_forward, x_backward):
        ctx.shape = x_backward.shape
        return x_forward

    @staticmethod
    def backward(ctx, grad_in):
        return None, grad_in.sum_to_size(ctx.shape)


def prompt_loss(embeds: torch.Tensor, target: torch.Tensor, weight: float, stop: float) -> torch.Tensor:
    """generate.py's Prompt.forward for one prompt."""
    input_normed = F.normalize(embeds.unsqueeze(1), dim=2)
    embed_normed = F.normalize(target.reshape(1, -1).unsqueeze(0), dim=2)
    dists = input_normed.sub(embed_normed).norm(dim=2).div(2).arcsin().pow(2).mul(2)
    dists = dists * torch.sign(torch.as_tensor(weight))
    stop_t = torch.as_tensor(stop)
    return abs(weight) * ReplaceGrad.apply(dists, torch.maximum(dists, stop_t)).mean()


# ---- colour (kornia 0.6 style: hue in radians, argmax + gather) ----

def _rgb_to_hsv(image: torch.Tensor, eps: float = 1e-8):
    maxc, idx = image.max(dim=1)
    minc = image.min(dim=1)[0]
    v = maxc
    deltac = maxc - minc
    s = deltac / (v + eps)
    deltac = torch.where(deltac == 0, torch.ones_like(deltac), deltac)
    rc, gc, bc = torch.unbind(maxc.unsqueeze(1) - image, dim=1)
    h1 = bc - gc
    h2 = (rc - bc) + 2.0 * deltac
    h3 = (gc - rc) + 4.0 * deltac
    h = torch.stack((h1, h2, h3), dim=1)
    h = torch.gather(h, dim=1, index=idx.unsqueeze(1)).squeeze(1) / deltac
    h = (h / 6.0) % 1.0
    h = torch.where(maxc == minc, torch.zeros_like(h), h)
    return 2 * math.pi * h, s, v


def _hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor, sector: torch.Tensor | None = None) -> torch.Tensor:
    """`sector` (optional): the sector index to use instead of floor(h·6/2π) (see _graph_sector)."""
    h = h / (2 * math.pi)
    hi = torch.floor(h * 6) % 6 if sector is None else sector.to(h.dtype)
    f = ((h * 6) % 6) - hi
    if sector is not None:
        f = f - 6 * torch.round(f / 6)   # a pixel just across the boundary: f ≈ 0⁻ or 1⁺, not ≈ ±6
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    hi = hi.long()
    indices = torch.stack([hi, hi + 6, hi + 12], dim=1)
    out = torch.stack((v, q, p, p, t, v, t, v, v, q, p, p, p, p, t, v, v, q), dim=1)
    return torch.gather(out, 1, indices)


def _jitter_one(x: torch.Tensor, which: int, params: torch.Tensor) -> torch.Tensor:
    f = params[:, which].reshape(-1, 1, 1)
    if which == 0:
        return (x + f[:, None]).clamp(0, 1)
    if which == 1:
        return (x * f[:, None]).clamp(0, 1)
    # saturation and hue go through HSV in float64. kornia's formula is exact maths, but in
    # float32 it rounds where the maximum is shared by two channels (common where the decoder
    # saturates: clamp_with_grad pins channels at 1): g = b = 1 > r gives the hue
    # ((1 − r) + 2·(1 − r)) / (1 − r) = 2.9999998 instead of 3, the other side of a sector
    # boundary, and so the other one-sided derivative. Differences of float32 numbers and
    # their small multiples are exact in float64, so there the hue is the exact one.
    sector = _graph_sector(x, f if which == 3 else None)
    h, s, v = _rgb_to_hsv(x.double())
    f = f.double()
    if which == 2:
        return _hsv_to_rgb(h, (s * f).clamp(0, 1), v, sector).to(x.dtype)
    return _hsv_to_rgb(torch.fmod(h + f, 2 * math.pi), s, v, sector).to(x.dtype)


def _graph_sector(x: torch.Tensor, shift: torch.Tensor | None) -> torch.Tensor:
    """The HSV sector (0…5) each pixel of the float32 cutouts x falls in after the hue shift
    (radians), as the graph rounds it (refloop.rgb_to_hsv, float32). At a sector boundary the
    HSV round trip is continuous but its derivative jumps, and a hue within an ulp of one lands
    on the side float32 rounding gives: 4.1e-4 of dloss/dz at 448 px (hue op alone) where this
    reference took float64's side. Both sides are one-sided derivatives of the same loss; the
    reference takes the graph's, and keeps its own values and derivatives (float64, kornia's
    formula) within the sector."""
    from .refloop import rgb_to_hsv as graph_rgb_to_hsv
    with torch.no_grad():
        h = graph_rgb_to_hsv(x.float())[0]
        if shift is not None:
            h = h + shift.float().reshape(-1, 1, 1) * (6 / (2 * torch.pi))
        return torch.floor(torch.remainder(h, 6.0))


def _on_selected(batch: torch.Tensor, on: torch.Tensor, fn) -> torch.Tensor:
    """fn applied to the cutouts where `on` is true; the others pass through untouched (kornia's
    random-apply with probability p: the samples not drawn never reach the op)."""
    if not bool(on.any()):
        return batch
    out = batch.clone()
    out[on] = fn(batch[on], on)
    return out


def _sharpness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    kernel = torch.tensor([[1, 1, 1], [1, 5, 1], [1, 1, 1]], dtype=x.dtype).view(1, 1, 3, 3) / 13
    degenerate = F.conv2d(x.reshape(-1, 1, *x.shape[2:]), kernel).clamp(0, 1).reshape(x.shape[0], 3, x.shape[2] - 2, -1)
    result = x.clone()
    result[:, :, 1:-1, 1:-1] = degenerate
    return (result + (x - result) * factor.view(-1, 1, 1, 1)).clamp(0, 1)


def _grid_warp(x: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """kornia's warp_perspective (bilinear, zeros padding) through grid_sample: the sample
    coordinates dehomog(T·(x, y, 1)) in float32, as kornia computes its grid, the sampling in
    float64.

    Which float32 coordinates matters. The hue op is ill-conditioned on near-grey pixels
    (hue ∝ 1/(max − min)) and has a kink where two channels tie, so a warped value a few ulps
    off can take the other one-sided derivative. kornia's own grid (normalised to [−1, 1] and
    back) is up to 3e-5 px from the exact coordinates at 224 px; so were the graph's (a MatMul)
    and so the last session's float64 reference was 1.6-2.0e-2 away from the graph on one such
    pixel (WJE, 8 cutouts). The graph now computes the coordinates with elementwise float32 ops
    in a fixed order, (T₀₀x + T₀₁y) + T₀₂ over (T₂₀x + T₂₁y) + T₂₂ (refloop.warp_coordinates),
    each an IEEE single rounding, and this reference rounds them in that same order: both sample
    at the same float32 points, and what is compared is the sampling and everything after it."""
    n, _, h, w = x.shape
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    xx, yy = xx.reshape(1, -1), yy.reshape(1, -1)
    T = T.float()
    num_x = (T[:, 0, 0, None] * xx + T[:, 0, 1, None] * yy) + T[:, 0, 2, None]
    num_y = (T[:, 1, 0, None] * xx + T[:, 1, 1, None] * yy) + T[:, 1, 2, None]
    den = (T[:, 2, 0, None] * xx + T[:, 2, 1, None] * yy) + T[:, 2, 2, None]
    sx, sy = (num_x / den).double(), (num_y / den).double()            # [N,HW], float32 values
    grid = torch.stack([sx / (w - 1) * 2 - 1, sy / (h - 1) * 2 - 1], -1).reshape(n, h, w, 2)
    return F.grid_sample(x.double(), grid, mode="bilinear", padding_mode="zeros", align_corners=True).to(x.dtype)


# ---- Et and Ts: kornia's RandomElasticTransform and RandomThinPlateSpline (align_corners=False) ----

def _kornia_meshgrid(h: int, w: int, dtype) -> torch.Tensor:
    """kornia's create_meshgrid: [1,H,W,2] of (x, y) in linspace(-1, 1)."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h, dtype=dtype), torch.linspace(-1, 1, w, dtype=dtype), indexing="ij")
    return torch.stack([xs, ys], -1)[None]


def elastic_transform(x: torch.Tensor, noise: torch.Tensor, kernel_size: int = 63, sigma: float = 32.0,
                      alpha: float = 1.0) -> torch.Tensor:
    """kornia's elastic_transform2d: the noise smoothed by a 2-D Gaussian (filter2d, zeros
    outside), times alpha, added to the meshgrid, clamped to [-1, 1], grid_sample."""
    r = torch.arange(kernel_size, dtype=x.dtype) - kernel_size // 2
    g1 = torch.exp(-r.pow(2) / (2 * sigma ** 2))
    g1 = g1 / g1.sum()
    k2 = (g1[:, None] * g1[None, :])[None, None]
    pad = kernel_size // 2

    def smooth(c):
        return F.conv2d(F.pad(c, [pad, pad, pad, pad], mode="constant", value=0.0), k2)

    disp = torch.cat([smooth(noise[:, :1]) * alpha, smooth(noise[:, 1:]) * alpha], 1).permute(0, 2, 3, 1)
    grid = (_kornia_meshgrid(x.shape[2], x.shape[3], x.dtype) + disp).clamp(-1, 1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _tps_u(r2: torch.Tensor) -> torch.Tensor:
    return 0.5 * r2 * (r2 + 1e-8).log()


def thin_plate_spline(x: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """kornia's RandomThinPlateSpline.apply_transform for control points src (kornia's five) and
    dst [B,5,2]: get_tps_transform(dst, src), then warp_image_tps(x, src, ...). The spline is
    solved and evaluated in float64 (kornia: in the image's dtype), so that the test measures the
    graph and not float32 rounding of the 8x8 solve, ~1e-4 px at 224; the sample points are then
    rounded to float32 pixel coordinates and sampled in float64."""
    b = x.shape[0]
    f64 = torch.float64
    dst = dst.to(f64)
    src = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0], [0.0, 0.0]], dtype=f64)[None].expand(b, 5, 2)
    K = _tps_u((dst[:, :, None, :] - src[:, None, :, :]).pow(2).sum(-1))          # [B,5,5]
    P = torch.cat([torch.ones(b, 5, 1, dtype=f64), dst], -1)                         # [B,5,3]
    L = torch.cat([torch.cat([K, P], -1), torch.cat([P.transpose(1, 2), torch.zeros(b, 3, 3, dtype=f64)], -1)], 1)
    sol = torch.linalg.solve(L, torch.cat([src, torch.zeros(b, 3, 2, dtype=f64)], 1))
    kw, aff = sol[:, :5], sol[:, 5:]
    h, w = x.shape[2], x.shape[3]
    pts = _kornia_meshgrid(h, w, f64).reshape(1, -1, 2).expand(b, -1, -1)
    U = _tps_u((pts[:, :, None, :] - src[:, None, :, :]).pow(2).sum(-1))             # [B,HW,5]
    warped = U @ kw + pts @ aff[:, 1:] + aff[:, None, 0]
    # kornia samples at float32 coordinates; round them as pixel coordinates, as the host hands
    # them to the graph (etts_inputs.tps_field), and sample in float64 (see _grid_warp: the same
    # float32 points on both sides, so a hue kink downstream takes the same side)
    size = torch.tensor([w, h], dtype=f64)
    px = (((warped + 1) * size - 1) / 2).float().double()
    grid = ((2 * px + 1) / size - 1).reshape(b, h, w, 2)
    return F.grid_sample(x.double(), grid, mode="bilinear", padding_mode="zeros", align_corners=False).to(x.dtype)


# ---- cutouts ----

def cutouts_latest(img: torch.Tensor, d: dict, S: int) -> torch.Tensor:
    n = d["cuts"].shape[0]
    cut = (F.adaptive_avg_pool2d(img, S) + F.adaptive_max_pool2d(img, S)) / 2
    batch = torch.cat([cut] * n, dim=0)
    eye = torch.eye(3, dtype=d["warps"].dtype)
    for k in range(d["warps"].shape[0]):
        # a warp slot left at the identity is an augmentation not asked for or not drawn: no
        # resampling at all (grid_sample at the identity grid is not exact: it mixes in ~1e-7
        # of the neighbours, which breaks exact ties between channels)
        T = d["warps"][k]
        batch = _on_selected(batch, ~(T == eye).all(-1).all(-1), lambda b, on, T=T: _grid_warp(b, T[on]))
    if "elastic_on" in d:
        batch = _on_selected(batch, d["elastic_on"] > 0, lambda b, on: elastic_transform(b, d["elastic"][on]))
    if "tps_on" in d:
        batch = _on_selected(batch, d["tps_on"] > 0, lambda b, on: thin_plate_spline(b, d["tps_dst"][on]))

    def jitter(b, on):
        for i in range(4):
            b = _jitter_one(b, int(d["jorder"][i].argmax()), d["jitter"][on])
        return b
    batch = _on_selected(batch, d["jitter"][:, 4] > 0, jitter)
    batch = _on_selected(batch, d["sharp"] < 1, lambda b, on: _sharpness(b, d["sharp"][on]))
    batch = batch + d["gnoise"]
    batch = batch * d["erase"]
    return batch + d["noise"] * d["eps"]


def _area_resize_1d(x: torch.Tensor, S: int, dim: int) -> torch.Tensor:
    """Box (area) resampling of one axis of length L to S: output i is the mean of the
    piecewise-constant signal over [i·L/S, (i+1)·L/S), taken as the difference of its running
    integral at the two ends (exact rational break points, float64 sums)."""
    x = x.movedim(dim, -1)
    L = x.shape[-1]
    run = F.pad(torch.cumsum(x, -1), (1, 0))                    # run[k] = Σ_{j<k} x[j]
    ends = torch.arange(S + 1) * L                              # i·L/S = (ends // S) + (ends % S)/S
    k, frac = ends // S, (ends % S).to(x.dtype) / S
    nxt = torch.cat([x, x[..., -1:]], -1)                       # frac is 0 at the last end
    integral = run[..., k] + frac * nxt[..., k]
    return ((integral[..., 1:] - integral[..., :-1]) * (S / L)).movedim(-1, dim)


def _area_resize(x: torch.Tensor, S: int) -> torch.Tensor:
    """Area resampling of a square crop to S×S (separable), in float64 (in float32, nearest
    upsampling by S then S·size-wide box sums, the old way, was 6e-5 off in dloss/dz on the
    tiny model at 128 px; and 224-fold upsampling of a 448-px crop does not fit in memory)."""
    return _area_resize_1d(_area_resize_1d(x.double(), S, -1), S, -2).to(x.dtype)


def cutouts_original(img: torch.Tensor, d: dict, S: int) -> torch.Tensor:
    out = []
    for x0, y0, size, flip in d["cuts"].tolist():
        x0, y0, size = int(x0), int(y0), int(size)
        c = _area_resize(img[:, :, y0:y0 + size, x0:x0 + size], S)
        out.append(c.flip(3) if flip else c)
    # generate.py clamps its Lanczos crops with clamp_with_grad; area crops stay inside [0,1]
    return torch.cat(out, 0)


def reference_step(decode, embed, S: int, z: torch.Tensor, targets, weights, stops, d: dict,
                   method: str, image: torch.Tensor | None = None) -> tuple[float, torch.Tensor]:
    """(loss, dloss/dz) of one generate.py step. decode(z) -> [-1,1] image, embed -> unit [N,D].
    `image` (optional, [1,3,H,W] in [0,1]): the value to continue from instead of this decode's
    own (straight through: the gradient still goes back through decode), for comparing the rest
    of the step at exactly the same image; the caller checks that it is close to decode's."""
    z = z.detach().clone().requires_grad_(True)
    x = decode(z).add(1).div(2)
    if image is not None:
        # the clamp's side from the graph's image too: a pixel the graph pinned at 0 or 1 is
        # outside the range, one it did not is inside (its backward keeps or cuts the gradient by
        # that side). The decoders differ by ~1e-5, and at 448 px (seed 5) a few pixels within
        # that of 1 took the other side here: dloss/dz 5e-4 off, in cases with no kink after it.
        image = image.to(x.dtype)
        side = (image >= 1).to(x.dtype) - (image <= 0).to(x.dtype)
        inside = ((x > 1) & (side <= 0)) | ((x < 0) & (side >= 0))
        x = x + (torch.where(inside, image, x) - x).detach()
        x = x + (torch.where((side != 0) & (x - x.clamp(0, 1) == 0), image + side * 1e-6, x) - x).detach()
    img = ClampWithGrad.apply(x, 0, 1)
    if image is not None:
        img = img + (image - img).detach()
    if method == "latest":
        batch = cutouts_latest(img, d, S)
    else:
        batch = cutouts_original(img, d, S)
    iii = embed(batch)
    losses = [prompt_loss(iii, targets[p], float(weights[p]), float(stops[p])) for p in range(targets.shape[0])]
    loss = sum(losses)
    loss.backward()
    return float(loss), z.grad.detach().clone()


# ---- draws for tests ----

def _homography(g: torch.Generator, n: int, strength: float, S: int = 32) -> torch.Tensor:
    """Rotation about the cutout's centre, a shift and a little perspective, scaled to S
    (at S = 32: ±0.26·strength rad, ±3·strength px, ±0.005·strength / px)."""
    S_c = (S - 1) / 2
    ang = (torch.rand(n, generator=g) * 2 - 1) * 0.26 * strength
    cos, sin = torch.cos(ang), torch.sin(ang)
    T = torch.zeros(n, 3, 3)
    T[:, 0, 0], T[:, 0, 1], T[:, 1, 0], T[:, 1, 1] = cos, -sin, sin, cos
    T[:, 0, 2] = S_c - cos * S_c + sin * S_c + (torch.rand(n, generator=g) - 0.5) * 6 * strength * (S / 32)
    T[:, 1, 2] = S_c - sin * S_c - cos * S_c + (torch.rand(n, generator=g) - 0.5) * 6 * strength * (S / 32)
    T[:, 2, 0] = (torch.rand(n, generator=g) - 0.5) * 0.01 * strength * (32 / S)
    T[:, 2, 1] = (torch.rand(n, generator=g) - 0.5) * 0.01 * strength * (32 / S)
    T[:, 2, 2] = 1
    T[:, 2, 2] -= T[:, 2, 0] * S_c + T[:, 2, 1] * S_c  # keep the centre fixed
    return T


def random_draws(n: int, S: int, size: int, augments: str, method: str, seed: int = 0) -> dict:
    """Random but fixed draws for a parity case. `augments`: letters among W (warps), J, S, G, E, L (Et), T (Ts)."""
    from .etts_inputs import etts_draws
    from .refloop import identity_draws
    g = torch.Generator().manual_seed(seed)
    d = identity_draws(n, S, pool=1.0 if method == "latest" else 0.0)
    if method == "original":
        sz = torch.floor(S + torch.rand(n, generator=g) * (size - S))
        x0 = torch.floor(torch.rand(n, generator=g) * (size - sz + 1))
        y0 = torch.floor(torch.rand(n, generator=g) * (size - sz + 1))
        flip = (torch.rand(n, generator=g) < 0.5).float()
        d["cuts"] = torch.stack([x0, y0, sz, flip], -1)
        return d
    d["cuts"] = torch.tensor([[0.0, 0.0, float(size), 0.0]]).repeat(n, 1)
    if "W" in augments:
        d["warps"] = torch.stack([_homography(g, n, s, S) for s in (1.0, 0.6, 0.3)])
    if "J" in augments:
        d["jitter"] = torch.stack([(torch.rand(n, generator=g) - 0.5) * 0.2, 0.9 + torch.rand(n, generator=g) * 0.2,
                                   0.9 + torch.rand(n, generator=g) * 0.2, (torch.rand(n, generator=g) - 0.5) * 0.2 * 2 * math.pi,
                                   (torch.rand(n, generator=g) < 0.7).float()], -1)
        d["jorder"] = torch.eye(4)[torch.randperm(4, generator=g)]
    if "S" in augments:
        d["sharp"] = torch.where(torch.rand(n, generator=g) < 0.5, torch.rand(n, generator=g) * 0.3, torch.ones(n))
    if "G" in augments:
        d["gnoise"] = torch.randn(n, 3, S, S, generator=g) * (torch.rand(n, 1, 1, 1, generator=g) < 0.5)
    if "E" in augments:
        m = torch.ones(1, 1, S, S)
        m[:, :, 5 * S // 32:17 * S // 32, 9 * S // 32:25 * S // 32] = 0   # 12×16 of 32×32, scaled
        d["erase"] = m.repeat(n, 1, 1, 1)
    etts_draws(d, g, n, S, augments)  # L: Et, T: Ts (etts_inputs.py)
    d["noise"] = torch.rand(n, 1, 1, 1, generator=g) * 0.1
    d["eps"] = torch.randn(n, 3, S, S, generator=g)
    return d
