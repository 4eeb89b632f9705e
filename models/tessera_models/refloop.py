"""The step of the VQGAN-CLIP reference loop (nerdyrodent/VQGAN-CLIP `generate.py`, DESIGN.md §7)
written with exportable ops: step interface 2 of models/BUNDLE.md.

Every random draw is a graph input (the engine draws them with the seeded generator):
  cuts [N,4], pool [1], warps [3,N,3,3], jitter [N,5], jorder [4,4], sharp [N], gnoise [N,3,S,S],
  erase [N,1,S,S], noise [N,1,1,1], eps [N,3,S,S], elastic [N,2,S,S], elastic_on [N], tps [N,2,S,S].
The cutouts: base = pool·pooled + (1 − pool)·crops (area-resampled); then three geometric warp
slots (Af, Pe, Ro, Re in the order asked), the elastic transform (Et), the thin plate spline
(Ts), colour jitter (brightness, contrast, saturation, hue in the drawn order), sharpness,
Gaussian noise, erasing, and finally noise·eps. Et and Ts always run: neutral inputs
(elastic_on 0, the identity field) pass the cutouts through exactly.
Nothing here is specific to one model: `reference_step(image_fn, embed_fn, S)` builds the loss.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

STEP2_INPUTS = ["z", "targets", "weights", "stops", "cuts", "pool", "warps", "jitter", "jorder",
                "sharp", "gnoise", "erase", "noise", "eps", "elastic", "elastic_on", "tps"]
WARP_SLOTS = 3
# kornia's RandomElasticTransform defaults (generate.py's Et sets only p): Gaussian window and alpha
ELASTIC_KERNEL, ELASTIC_SIGMA, ELASTIC_ALPHA = 63, 32.0, 1.0


class _ClampWithGrad(torch.autograd.Function):
    """Forward: clamp to [lo, hi]. Backward: the gradient survives where it points back into the
    range, i.e. grad · (grad · (x − clamp(x)) ≥ 0) (generate.py's ClampWithGrad)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, lo, hi):
        return x.clamp(lo, hi)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, lo, hi = inputs
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        outside = x - x.clamp(ctx.lo, ctx.hi)
        return g * ((g * outside) >= 0).to(g.dtype), None, None


def clamp_with_grad(x: torch.Tensor, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    return _ClampWithGrad.apply(x, lo, hi)


def signed_stop_loss(e: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor,
                     stops: torch.Tensor) -> torch.Tensor:
    """e [N,D], targets [P,D] unit -> Σ_p |w_p| · mean_k(replace_grad(s_pk, max(s_pk, stop_p)))
    with s = sign(w)·2·asin(|e − t|/2)²: the stop compares the *signed* distance."""
    diff = e[:, None, :] - targets[None, :, :]                          # [N,P,D]
    d = 2 * torch.asin(torch.sqrt((diff * diff).sum(-1)) / 2) ** 2      # [N,P]
    ds = d * torch.sign(weights)
    m = torch.maximum(ds, stops)
    val = ds.detach() + (m - m.detach())
    return (weights.abs() * val.mean(0)).sum()


def pooled_cutout(img: torch.Tensor, S: int) -> torch.Tensor:
    """(AdaptiveAvgPool2d(S) + AdaptiveMaxPool2d(S))(img) / 2 for sizes S divides (pure
    reshapes and reductions, so the gradient stays elementwise)."""
    n, c, h, w = img.shape
    if h % S or w % S:
        raise NotImplementedError(f"refloop: pooled cutouts need the image size to be a multiple of {S} (got {h}x{w})")
    kh, kw = h // S, w // S
    # rank ≤ 4 throughout: the tiny exporter's dynamize() reads a rank-5 shape as P = 5
    blocks = img.reshape(n * c * S, kh, S, kw).permute(0, 2, 1, 3).reshape(n * c * S, S, kh * kw)
    return ((block_mean(blocks, kh, kw) + first_max(blocks, -1)) / 2).reshape(n, c, S, S)


def block_mean(blocks: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """Mean over the last dim (a kh×kw block, row-major) rounded as torch's AdaptiveAvgPool2d
    rounds it on the CPU: summed in order, then / kh / kw. ReduceMean's own order differs by an
    ulp at ~10 % of the pixels at 448 px, and where two channels (nearly) tie that ulp picks the
    HSV sector of ColorJitter (dloss/dz ~1e-3 off)."""
    if kh * kw > 64:
        return blocks.mean(-1)
    acc = blocks[..., 0]
    for i in range(1, kh * kw):
        acc = acc + blocks[..., i]
    return acc / kh / kw


def first_max(x: torch.Tensor, dim: int, sign: float = 1.0) -> torch.Tensor:
    """max (sign 1) or min (sign −1) over `dim` whose gradient goes to the first extreme element
    only, as torch.max(dim) / max pooling route it (amax would split it between ties)."""
    xs = x * sign
    hit = (xs == xs.amax(dim, keepdim=True)).to(x.dtype)
    first = hit * (torch.cumsum(hit, dim) == 1).to(x.dtype)
    return (x * first.detach()).sum(dim)


def area_cutouts(img: torch.Tensor, cuts: torch.Tensor, S: int) -> torch.Tensor:
    """Crops [y0, y0+size) × [x0, x0+size) area-resampled to S×S (mirrored where flip = 1)."""
    from .tiny_clip import make_cutouts
    return make_cutouts(img, cuts, S)


def warp_bilinear(x: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """x [N,C,S,S], T [N,3,3]: out[y,x] = bilinear sample of x at dehomog(T·(x, y, 1)) in pixel
    coordinates (pixel centres at integers), zeros outside."""
    n, c, h, w = x.shape
    sx, sy = warp_coordinates(T, h, w)
    return sample_bilinear(x, sx, sy)


def warp_coordinates(T: torch.Tensor, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """T [N,3,3] -> the source pixel (sx, sy) [N,HW] of each output pixel, dehomog(T·(x, y, 1)),
    in float32 with elementwise ops in a fixed order: (T₀₀x + T₀₁y) + T₀₂ over (T₂₀x + T₂₁y) + T₂₂.
    Every rounding is then an IEEE single rounding that onnxruntime and torch do alike (a MatMul
    may fuse or reorder), so the parity reference (reference_gen._grid_warp) computes the same
    float32 coordinates bit for bit and only the sampling differs (it samples in float64)."""
    ys, xs = torch.meshgrid(torch.arange(h, dtype=T.dtype), torch.arange(w, dtype=T.dtype), indexing="ij")
    xs, ys = xs.reshape(1, h * w), ys.reshape(1, h * w)

    def row(i: int) -> torch.Tensor:
        return (T[:, i, 0:1] * xs + T[:, i, 1:2] * ys) + T[:, i, 2:3]
    den = row(2)
    return row(0) / den, row(1) / den


def sample_bilinear(x: torch.Tensor, sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    """x [N,C,H,W] sampled bilinearly at the pixel coordinates (sx, sy) [N,HW] (pixel centres at
    integers, zeros outside). Written as four gathers, so the gradient is a scatter-add."""
    n, c, h, w = x.shape
    x0, y0 = torch.floor(sx), torch.floor(sy)
    fx, fy = sx - x0, sy - y0
    flat = x.reshape(n, c, h * w)
    out = None
    for dx, dy, wt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        valid = ((xi >= 0).to(x.dtype) * (xi <= w - 1).to(x.dtype) * (yi >= 0).to(x.dtype)
                 * (yi <= h - 1).to(x.dtype))
        idx = (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1)).to(torch.int64)
        g = torch.gather(flat, 2, idx[:, None, :].expand(n, c, h * w))
        term = g * (wt * valid)[:, None, :]
        out = term if out is None else out + term
    return out.reshape(n, c, h, w)


def rgb_to_hsv(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """[N,3,H,W] -> (h in sectors [0,6), s, v), each [N,H,W]."""
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    v = first_max(x, 1)
    delta = v - first_max(x, 1, -1.0)
    s = delta / (v + 1e-8)
    dsafe = torch.where(delta > 0, delta, 1.0)
    h = torch.where(v == r, (g - b) / dsafe, torch.where(v == g, (b - r) / dsafe + 2, (r - g) / dsafe + 4))
    h = torch.where(delta > 0, h, 0.0)
    return torch.remainder(h, 6.0), s, v


def hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    h = torch.remainder(h, 6.0)
    hi = torch.floor(h)
    f = h - hi
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))
    chans = [None, None, None]
    for k, rgb in enumerate(table):
        sel = (hi == k).to(v.dtype)
        for ci in range(3):
            chans[ci] = sel * rgb[ci] if chans[ci] is None else chans[ci] + sel * rgb[ci]
    return torch.stack(chans, 1)


def _jitter_ops(x: torch.Tensor, j: torch.Tensor) -> list[torch.Tensor]:
    """The four ColorJitter ops (kornia 0.6 semantics) applied to x: [brightness, contrast,
    saturation, hue]; j [N,5] = (brightness add, contrast factor, saturation factor, hue in
    radians, applied ∈ {0,1})."""
    jb, jc, js, jh = (j[:, i].reshape(-1, 1, 1, 1) for i in range(4))
    h, s, v = rgb_to_hsv(x)
    sat = hsv_to_rgb(h, (s * js[:, 0]).clamp(0, 1), v)
    hue = hsv_to_rgb(h + jh[:, 0] * (6 / (2 * torch.pi)), s, v)
    return [(x + jb).clamp(0, 1), (x * jc).clamp(0, 1), sat, hue]


def color_jitter(x: torch.Tensor, jitter: torch.Tensor, jorder: torch.Tensor) -> torch.Tensor:
    """jorder [4,4] one-hot: row i selects the op applied i-th (a permutation, shared by the
    batch); cutouts with applied = 0 pass through untouched (gradient included)."""
    y = x
    for i in range(4):
        ops = _jitter_ops(y, jitter)
        y = sum(jorder[i, k] * ops[k] for k in range(4))
    a = jitter[:, 4].reshape(-1, 1, 1, 1)
    return a * y + (1 - a) * x


def sharpness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """kornia's sharpness: blend with the 3×3-smoothed image (borders kept), factor [N] in [0, 1)
    where drawn, 1 where not."""
    c, hgt, wid = x.shape[1], x.shape[2], x.shape[3]
    centre = F.pad(torch.ones(1, 1, 1, 1, dtype=x.dtype), (1, 1, 1, 1))
    k = (torch.ones(1, 1, 3, 3, dtype=x.dtype) + 4 * centre) / 13   # [[1,1,1],[1,5,1],[1,1,1]] / 13
    # one-channel conv over [N·C,1,S,S] (a grouped conv's gradient came out wrong in onnxruntime)
    smooth = F.conv2d(x.reshape(-1, 1, hgt, wid), k, padding=1).reshape(x.shape).clamp(0, 1)
    # the interior mask from ranges (a constant of side S − 2 = 30 would read as 6·P to dynamize())
    ry, rx = torch.arange(hgt, dtype=x.dtype), torch.arange(wid, dtype=x.dtype)
    my = (ry >= 1).to(x.dtype) * (ry <= hgt - 2).to(x.dtype)
    mx = (rx >= 1).to(x.dtype) * (rx <= wid - 2).to(x.dtype)
    inner = (my[:, None] * mx[None, :]).reshape(1, 1, hgt, wid)
    deg = inner * smooth + (1 - inner) * x
    f = factor.reshape(-1, 1, 1, 1)
    on = (f < 1).to(x.dtype)   # factor 1 = not drawn: pass through exactly (the clamp would cut gradients at 0 and 1)
    return on * (deg + (x - deg) * f).clamp(0, 1) + (1 - on) * x


def elastic_field(noise: torch.Tensor, on: torch.Tensor) -> torch.Tensor:
    """kornia's elastic_transform2d as a sampling field: noise [N,2,S,S] (kornia's rand·2 − 1, x
    then y), on [N] -> the source pixel (x, y) of each output pixel [N,2,S,S]. The noise is
    smoothed by the Gaussian window with zeros outside (two 1-D passes of the separable kernel),
    scaled by alpha, added to kornia's corner-aligned grid linspace(−1, 1, S) and clamped to
    [−1, 1]; grid_sample(align_corners=False) then reads normalised g at pixel ((g + 1)·S − 1)/2.
    Where on = 0 the field is the identity (the cutout passes through untouched)."""
    n, _, hgt, wid = noise.shape
    pad = ELASTIC_KERNEL // 2
    r = torch.arange(ELASTIC_KERNEL, dtype=noise.dtype) - pad
    taps = torch.exp(-r * r / (2 * ELASTIC_SIGMA ** 2))
    taps = taps / taps.sum()   # kornia's window: exp(−x²/2σ²) at x = −31…31, sum 1
    # unsqueezes, not a reshape: a Reshape to [1,1,63,1] would read as 9·N to dynamize()
    ky, kx = taps[None, None, :, None], taps[None, None, None, :]
    t = noise.reshape(-1, 1, hgt, wid)
    t = F.conv2d(F.conv2d(t, ky, padding=(pad, 0)), kx, padding=(0, pad))
    disp = t.reshape(noise.shape) * ELASTIC_ALPHA
    lx = torch.arange(wid, dtype=noise.dtype) * (2 / (wid - 1)) - 1
    ly = torch.arange(hgt, dtype=noise.dtype) * (2 / (hgt - 1)) - 1
    gx = (lx[None, None, :] + disp[:, 0]).clamp(-1, 1)
    gy = (ly[None, :, None] + disp[:, 1]).clamp(-1, 1)
    field = torch.stack([((gx + 1) * wid - 1) / 2, ((gy + 1) * hgt - 1) / 2], 1)
    ident = torch.stack([torch.arange(wid, dtype=noise.dtype)[None, :].expand(hgt, wid),
                         torch.arange(hgt, dtype=noise.dtype)[:, None].expand(hgt, wid)], 0)
    o = on.reshape(-1, 1, 1, 1)
    return o * field + (1 - o) * ident[None]


def warp_field(x: torch.Tensor, field: torch.Tensor) -> torch.Tensor:
    """x [N,C,H,W] sampled at field [N,2,H,W] (source pixel x, y per output pixel; zeros outside)."""
    n, _, hgt, wid = x.shape
    return sample_bilinear(x, field[:, 0].reshape(n, hgt * wid), field[:, 1].reshape(n, hgt * wid))


def augment(x, warps, jitter, jorder, sharp, gnoise, erase, elastic=None, elastic_on=None, tps=None):
    for k in range(WARP_SLOTS):
        x = warp_bilinear(x, warps[k])
    if elastic is not None:
        x = warp_field(x, elastic_field(elastic, elastic_on))
    if tps is not None:
        x = warp_field(x, tps)
    x = color_jitter(x, jitter, jorder)
    x = sharpness(x, sharp)
    return (x + gnoise) * erase


def make_step_v2(decode: Callable[[torch.Tensor], torch.Tensor],
                 embed: Callable[[torch.Tensor], torch.Tensor], S: int):
    """decode(z) -> image in about [-1,1]; embed(pixels01 [N,3,S,S]) -> unit embeddings [N,D]."""
    def step(z, targets, weights, stops, cuts, pool, warps, jitter, jorder, sharp, gnoise, erase, noise, eps,
             elastic, elastic_on, tps):
        img = clamp_with_grad((decode(z) + 1) / 2, 0.0, 1.0)
        pw = pool.reshape(1, 1, 1, 1)
        # original: generate.py clamps its Lanczos crops (clamp_with_grad); area resampling is a
        # convex combination of [0,1] pixels, so that clamp would only act on rounding ulps
        base = pw * pooled_cutout(img, S) + (1 - pw) * area_cutouts(img, cuts, S)
        x = augment(base, warps, jitter, jorder, sharp, gnoise, erase, elastic, elastic_on, tps) + noise * eps
        return signed_stop_loss(embed(x), targets, weights, stops), img
    return step


def identity_draws(n: int, S: int, pool: float = 1.0, noise: float = 0.0):
    """Draw inputs that leave the cutouts untouched (no augmentation, no noise)."""
    return {
        "cuts": torch.tensor([[0.0, 0.0, float(S), 0.0]]).repeat(n, 1),
        "pool": torch.tensor([pool]),
        "warps": torch.eye(3).repeat(WARP_SLOTS, n, 1, 1),
        "jitter": torch.tensor([[0.0, 1.0, 1.0, 0.0, 0.0]]).repeat(n, 1),
        "jorder": torch.eye(4),
        "sharp": torch.ones(n),
        "gnoise": torch.zeros(n, 3, S, S),
        "erase": torch.ones(n, 1, S, S),
        "noise": torch.full((n, 1, 1, 1), noise),
        "eps": torch.zeros(n, 3, S, S),
        "elastic": torch.zeros(n, 2, S, S),
        "elastic_on": torch.zeros(n),
        "tps": identity_field(n, S),
    }


def identity_field(n: int, S: int) -> torch.Tensor:
    """[N,2,S,S]: every output pixel samples itself."""
    ys, xs = torch.meshgrid(torch.arange(S, dtype=torch.float32), torch.arange(S, dtype=torch.float32), indexing="ij")
    return torch.stack([xs, ys], 0)[None].repeat(n, 1, 1, 1)
