"""Stand-in weights for a bundle whose graphs travelled without their ``weights.bin``.

The GPU check (models/gpu/gpu-check.sh) exports the real-shape bundle on the GPU machine. Should that
export fail there (another torch), the check can still time onnxruntime-node on graphs exported
here: their ``weights.bin`` (900 MB) cannot travel, so ``index`` records, for each float32 blob of
it, its place and the mean and standard deviation of its values (a few kB), and ``fill`` writes a
``weights.bin`` of normal draws with those moments (and the new file's hash into the manifest). Speed does not depend on the values; the
moments keep activations at the scale of the random-weight checkpoints (norm gains near 1 and so
on), so no kernel runs on denormals or NaNs that the real export would not see.

    python3 -m tessera_models.weight_stats index BUNDLE_DIR OUT.json
    python3 -m tessera_models.weight_stats fill BUNDLE_DIR INDEX.json   # needs numpy only
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import sys

import numpy as np

FLOAT = 1  # onnx.TensorProto.FLOAT
FLOAT16 = 10


def external_blobs(bundle: str) -> dict:
    """{(offset, length): data_type} over every graph's external initializers."""
    import onnx

    blobs: dict[tuple[int, int], int] = {}
    for path in sorted(glob.glob(os.path.join(bundle, "*.onnx"))):
        model = onnx.load(path, load_external_data=False)
        for t in model.graph.initializer:
            if t.data_location != onnx.TensorProto.EXTERNAL:
                continue
            e = {x.key: x.value for x in t.external_data}
            key = (int(e.get("offset", 0)), int(e["length"]))
            if blobs.setdefault(key, t.data_type) != t.data_type:
                raise ValueError(f"{path}: blob at {key[0]} is read as two types")
    return blobs


def index(bundle: str) -> dict:
    wpath = os.path.join(bundle, "weights.bin")
    size = os.path.getsize(wpath)
    entries = []
    with open(wpath, "rb") as f:
        for (offset, length), dtype in sorted(external_blobs(bundle).items()):
            if dtype not in (FLOAT, FLOAT16):
                raise ValueError(f"blob at {offset} has ONNX type {dtype}; only float blobs can be "
                                 "stood in for")
            f.seek(offset)
            a = np.frombuffer(f.read(length), np.float32 if dtype == FLOAT else np.float16)
            a = a.astype(np.float64)
            entries.append({"offset": offset, "length": length, "type": dtype,
                            "mean": float(a.mean()), "std": float(a.std())})
    return {"file": "weights.bin", "bytes": size, "blobs": entries}


def fill(bundle: str, idx: dict, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    out = os.path.join(bundle, idx["file"])
    with open(out + ".part", "wb") as f:
        f.truncate(idx["bytes"])
        for b in idx["blobs"]:
            dt = np.float32 if b["type"] == FLOAT else np.float16
            n = b["length"] // np.dtype(dt).itemsize
            a = (rng.standard_normal(n, dtype=np.float32) * b["std"] + b["mean"]).astype(dt)
            f.seek(b["offset"])
            f.write(a.tobytes())
    os.replace(out + ".part", out)
    # the manifest pins weights.bin by its hash: point it at the stand-in, and say what it is
    mpath = os.path.join(bundle, "manifest.json")
    if os.path.exists(mpath):
        with open(mpath) as fh:
            man = json.load(fh)
        h = hashlib.sha256()
        with open(out, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 24), b""):
                h.update(chunk)
        man.setdefault("weights", {})["sha256"] = h.hexdigest()
        man["description"] = (man.get("description", "") + " [stand-in weights drawn by "
                              "tessera_models.weight_stats: for timing only]").strip()
        with open(mpath, "w") as fh:
            json.dump(man, fh, indent=2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("index", help="write the blobs' places and moments as JSON")
    i.add_argument("bundle")
    i.add_argument("out")
    f = sub.add_parser("fill", help="write a stand-in weights.bin from an index")
    f.add_argument("bundle")
    f.add_argument("index")
    f.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.cmd == "index":
        data = index(a.bundle)
        with open(a.out, "w") as fh:
            json.dump(data, fh)
        print(f"weight_stats: {len(data['blobs'])} blobs, {data['bytes']} bytes -> {a.out}")
    else:
        with open(a.index) as fh:
            out = fill(a.bundle, json.load(fh), a.seed)
        print(f"weight_stats: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
