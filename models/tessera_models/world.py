"""The tiny-shapes world: 64x64 images with one shape on a plain background, and captions.

Everything here is seeded (numpy Generator) and pure; the judge (judge.py) reads images with
the same palette.
"""
from __future__ import annotations

import numpy as np

SIZE = 64
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "orange": (245, 140, 30),
    "yellow": (240, 220, 40),
    "green": (40, 170, 70),
    "blue": (40, 80, 220),
    "purple": (140, 60, 190),
    "white": (240, 240, 240),
    "black": (20, 20, 20),
}
COLOURS = list(PALETTE)
PALETTE_ARRAY = np.array([PALETTE[c] for c in COLOURS], dtype=np.float32)  # [8,3]
SHAPES = ["circle", "square", "triangle"]
SIZES = ["small", "big"]
POSITIONS = ["center", "left", "right", "top", "bottom",
             "top left", "top right", "bottom left", "bottom right"]
# unit offsets (dx, dy) of each position; y grows downwards
POS_OFFSETS = {
    "center": (0, 0), "left": (-1, 0), "right": (1, 0), "top": (0, -1), "bottom": (0, 1),
    "top left": (-1, -1), "top right": (1, -1), "bottom left": (-1, 1), "bottom right": (1, 1),
}
SIDE = {"small": 18.0, "big": 36.0}  # nominal side / diameter in pixels

POS_PHRASES = {
    "center": [["in", "the", "center"], ["in", "the", "middle"]],
    "left": [["on", "the", "left"]],
    "right": [["on", "the", "right"]],
    "top": [["at", "the", "top"]],
    "bottom": [["at", "the", "bottom"]],
    "top left": [["in", "the", "top", "left", "corner"]],
    "top right": [["in", "the", "top", "right", "corner"]],
    "bottom left": [["in", "the", "bottom", "left", "corner"]],
    "bottom right": [["in", "the", "bottom", "right", "corner"]],
}
SIZE_WORDS = {"small": ["small", "tiny"], "big": ["big", "large"]}

VOCAB = ["<pad>", "<sot>", "<eot>", "a", "an", "on", "in", "at", "the", "with", "background",
         "corner", "center", "middle", "left", "right", "top", "bottom",
         *SIZE_WORDS["small"], *SIZE_WORDS["big"], *COLOURS, *SHAPES]
CONTEXT = 16


class Scene:
    """colour, shape, bg, size, pos as indices into COLOURS/SHAPES/COLOURS/SIZES/POSITIONS."""
    __slots__ = ("colour", "shape", "bg", "size", "pos")

    def __init__(self, colour: int, shape: int, bg: int, size: int, pos: int):
        self.colour, self.shape, self.bg, self.size, self.pos = colour, shape, bg, size, pos

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (self.colour, self.shape, self.bg, self.size, self.pos)


def sample_scene(rng: np.random.Generator) -> Scene:
    colour = int(rng.integers(8))
    bg = int(rng.integers(7))
    bg = bg + (bg >= colour)
    return Scene(colour, int(rng.integers(3)), bg, int(rng.integers(2)), int(rng.integers(9)))


def _coverage(shape: str, cx: float, cy: float, side: float, ss: int = 4) -> np.ndarray:
    """Fraction of each pixel covered by the shape (supersampled ss x ss)."""
    n = SIZE * ss
    c = (np.arange(n, dtype=np.float32) + 0.5) / ss
    xx, yy = np.meshgrid(c, c)
    h = side / 2
    if shape == "circle":
        m = (xx - cx) ** 2 + (yy - cy) ** 2 <= h * h
    elif shape == "square":
        m = (np.abs(xx - cx) <= h) & (np.abs(yy - cy) <= h)
    else:  # triangle, apex up, base = height = side
        top, bottom = cy - h, cy + h
        t = (yy - top) / side  # 0 at apex, 1 at base
        m = (yy >= top) & (yy <= bottom) & (np.abs(xx - cx) <= t * h)
    return m.reshape(SIZE, ss, SIZE, ss).mean(axis=(1, 3))


def render(scene: Scene, rng: np.random.Generator | None = None) -> np.ndarray:
    """uint8 [64,64,3]. With rng: small jitter of size and position."""
    side = SIDE[SIZES[scene.size]]
    if rng is not None:
        side *= float(rng.uniform(0.88, 1.12))
    margin = side / 2 + 4
    dx, dy = POS_OFFSETS[POSITIONS[scene.pos]]
    cx = SIZE / 2 + dx * (SIZE / 2 - margin)
    cy = SIZE / 2 + dy * (SIZE / 2 - margin)
    if rng is not None:
        cx += float(rng.uniform(-2.5, 2.5))
        cy += float(rng.uniform(-2.5, 2.5))
    a = _coverage(SHAPES[scene.shape], cx, cy, side)[..., None]
    img = a * PALETTE_ARRAY[scene.colour] + (1 - a) * PALETTE_ARRAY[scene.bg]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def render_clutter(rng: np.random.Generator) -> np.ndarray:
    """A negative: background with 2-4 shapes of different colours (matches no caption)."""
    bg = int(rng.integers(8))
    img = np.broadcast_to(PALETTE_ARRAY[bg], (SIZE, SIZE, 3)).copy()
    k = int(rng.integers(2, 5))
    cols = rng.permutation([c for c in range(8) if c != bg])[:k]
    for col in cols:
        side = float(rng.uniform(10, 34))
        cx, cy = rng.uniform(6, 58, size=2)
        a = _coverage(SHAPES[int(rng.integers(3))], float(cx), float(cy), side, ss=2)[..., None]
        img = a * PALETTE_ARRAY[col] + (1 - a) * img
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# ---- captions -----------------------------------------------------------------------------
# A caption is (words, attrs) with attrs = (colour, shape, bg, size, pos), -1 = not mentioned.

def caption_words(attrs: tuple[int, int, int, int, int], rng: np.random.Generator) -> list[str]:
    colour, shape, bg, size, pos = attrs
    obj = []
    if size >= 0:
        obj.append(SIZE_WORDS[SIZES[size]][int(rng.integers(2))])
    obj += [COLOURS[colour], SHAPES[shape]]
    posp = [] if pos < 0 else list(POS_PHRASES[POSITIONS[pos]][int(rng.integers(len(POS_PHRASES[POSITIONS[pos]])))])
    bgp = [] if bg < 0 else ["on", "a", COLOURS[bg], "background"]
    t = int(rng.integers(4))
    if t == 0 and bg >= 0:  # "<bg> background with a ..."
        return [COLOURS[bg], "background", "with", "a", *obj, *posp]
    if t == 1:  # bare: "purple square ..."
        return [*obj, *posp, *bgp]
    if t == 2 and posp and bgp:  # background before position
        return ["a", *obj, *bgp, *posp]
    return ["a", *obj, *posp, *bgp]


def sample_caption_attrs(scene: Scene, rng: np.random.Generator, full_prob: float = 0.35) -> tuple:
    """Attributes of a caption that truthfully describes `scene` (some parts left out)."""
    c, s, b, z, p = scene.as_tuple()
    if rng.random() < full_prob:  # the test template: colour, shape, background
        return (c, s, b, -1, -1)
    return (c, s,
            b if rng.random() < 0.7 else -1,
            z if rng.random() < 0.4 else -1,
            p if rng.random() < 0.4 else -1)


def hard_negative_attrs(attrs: tuple, rng: np.random.Generator) -> tuple:
    """Change exactly one mentioned attribute (swap colour/background half the time)."""
    c, s, b, z, p = attrs
    r = rng.random()
    if b >= 0 and r < 0.3:
        return (b, s, c, z, p)  # swapped colours
    if r < 0.5:
        nc = int(rng.integers(7)); nc += nc >= c
        if nc == b:
            return (nc, s, c, z, p)
        return (nc, s, b, z, p)
    if r < 0.7:
        ns = int(rng.integers(2)); ns += ns >= s
        return (c, ns, b, z, p)
    if b >= 0 and r < 0.85:
        nb = int(rng.integers(7)); nb += nb >= b
        if nb == c:
            return (b, s, nb, z, p)
        return (c, s, nb, z, p)
    if z >= 0 and r < 0.92:
        return (c, s, b, 1 - z, p)
    if p >= 0:
        npos = int(rng.integers(8)); npos += npos >= p
        return (c, s, b, z, npos)
    ns = int(rng.integers(2)); ns += ns >= s
    return (c, ns, b, z, p)


def compatible(attrs: np.ndarray, scenes: np.ndarray) -> np.ndarray:
    """attrs [T,5] (with -1 = any), scenes [I,5] (-1 rows = clutter: matches nothing) → bool [I,T]."""
    a = attrs[None, :, :]
    s = scenes[:, None, :]
    ok = ((a < 0) | (a == s)).all(-1)
    ok &= (scenes[:, 0] >= 0)[:, None]
    return ok


def tokenize(text: str, vocab: list[str] = VOCAB, context: int = CONTEXT) -> list[int]:
    """BUNDLE.md `words` tokenizer."""
    import re
    words = [w for w in re.split(r"[^a-z]+", text.lower()) if w]
    index = {w: i for i, w in enumerate(vocab)}
    unknown = [w for w in words if w not in index]
    if unknown:
        raise ValueError(f"unknown words {unknown}; known: {vocab[3:]}")
    if len(words) > context - 2:
        raise ValueError(f"more than {context - 2} words")
    ids = [1, *[index[w] for w in words], 2]
    return ids + [0] * (context - len(ids))


def make_pool(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n jittered world images (uint8 [n,64,64,3]) and their scenes (int64 [n,5])."""
    rng = np.random.default_rng(seed)
    imgs = np.empty((n, SIZE, SIZE, 3), np.uint8)
    scenes = np.empty((n, 5), np.int64)
    for i in range(n):
        sc = sample_scene(rng)
        imgs[i] = render(sc, rng)
        scenes[i] = sc.as_tuple()
    return imgs, scenes


def make_clutter_pool(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([render_clutter(rng) for _ in range(n)])
