"""The BUNDLE.md quality judge, exactly: classify pixels to the nearest palette colour;
background = most common class on the 1-pixel border; object colour = most common
non-background class inside (the pixels not on the border); shape from the fill of the
largest 4-connected blob of the object colour: >= 0.88 square, >= 0.62 circle, else triangle.
Ties are broken by the lower palette index (palette order: world.COLOURS).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .world import COLOURS, PALETTE_ARRAY


def classify(img: np.ndarray) -> np.ndarray:
    """uint8/float [H,W,3] (0..255) -> int [H,W] palette index."""
    x = img.astype(np.float32)[..., None, :]
    return np.argmin(((x - PALETTE_ARRAY) ** 2).sum(-1), axis=-1)


def judge(img: np.ndarray) -> dict:
    cls = classify(img)
    h, w = cls.shape
    border = np.concatenate([cls[0], cls[-1], cls[1:-1, 0], cls[1:-1, -1]])
    bcount = np.bincount(border, minlength=8)
    bg = int(np.argmax(bcount))
    inside = cls[1:-1, 1:-1].ravel()
    icount = np.bincount(inside, minlength=8)
    icount[bg] = 0
    if icount.sum() == 0:
        return {"background": COLOURS[bg], "colour": None, "shape": None, "fill": 0.0,
                "clean": False, "border_frac": float(bcount[bg] / border.size)}
    obj = int(np.argmax(icount))
    lab, n = ndimage.label(cls == obj)  # default structure = 4-connectivity
    sizes = np.bincount(lab.ravel())[1:]
    k = int(np.argmax(sizes)) + 1
    ys, xs = np.nonzero(lab == k)
    area = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
    fill = float(sizes[k - 1] / area)
    shape = "square" if fill >= 0.88 else "circle" if fill >= 0.62 else "triangle"
    total = cls.size
    n_bg = int((cls == bg).sum())
    n_obj = int((cls == obj).sum())
    return {
        "background": COLOURS[bg], "colour": COLOURS[obj], "shape": shape, "fill": fill,
        "border_frac": float(bcount[bg] / border.size),
        "bg_obj_frac": (n_bg + n_obj) / total,
        "blob_frac": float(sizes[k - 1] / n_obj),
        "blob_pixels": int(sizes[k - 1]),
        "clean": bool((n_bg + n_obj) / total >= 0.93 and sizes[k - 1] / n_obj >= 0.85
                      and bcount[bg] / border.size >= 0.85 and sizes[k - 1] >= 40),
    }


def score(results: list[tuple[dict, dict]]) -> dict:
    """[(expected {colour, shape, background}, judged)] -> percentages."""
    n = len(results)
    bgc = sum(j["background"] == e["background"] and j["colour"] == e["colour"] for e, j in results)
    shp = sum(j["shape"] == e["shape"] for e, j in results)
    allr = sum(j["background"] == e["background"] and j["colour"] == e["colour"] and j["shape"] == e["shape"]
               for e, j in results)
    return {"n": n, "bg_and_colour": bgc / n, "shape": shp / n, "all": allr / n}
