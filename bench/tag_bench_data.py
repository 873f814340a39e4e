#!/usr/bin/python3
"""Test data for bench/tag_bench.sh (not committed; everything goes to the git-ignored .cache/bench/).

    /usr/bin/python3 bench/tag_bench_data.py --onnx .cache/bench/wd14_vit_b16_448_opset13.onnx \
        --tagger .cache/bench/wd14-vit-b16-448 --images .cache/bench/tag_12mp --count 200

- a WD14 tagger folder: model.onnx (a symlink to --onnx) + a generated selected_tags.csv with as
  many rows as the graph's output has classes (4 ratings, then general tags, the last 2000 rows
  character tags), so `seer tag` accepts the random-weight ViT-B/16@448 graph;
- --count photo-like 4000x3000 (12-megapixel) JPEGs, q90 4:2:0, each different (smooth colour
  fields, edges, noise), made with numpy + Pillow. Existing files are kept.
"""

import argparse
import os

import numpy as np
from PIL import Image


def output_classes(onnx_path):
    import onnx
    m = onnx.load(onnx_path, load_external_data=False)
    dims = m.graph.output[0].type.tensor_type.shape.dim
    return dims[-1].dim_value


def write_csv(path, classes):
    rows = ["tag_id,name,category,count"]
    ratings = ["general", "sensitive", "questionable", "explicit"]
    for i in range(classes):
        if i < 4:
            name, cat = ratings[i], 9
        elif i >= classes - 2000:
            name, cat = f"character_{i}", 4
        else:
            name, cat = f"tag_{i}", 0
        rows.append(f"{i},{name},{cat},{1000 + i}")
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")


def photo(i, w=4000, h=3000):
    rng = np.random.default_rng(i)
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    img = np.empty((h, w, 3), np.float32)
    for c in range(3):
        a, b, p = rng.uniform(2, 9, 3)
        img[..., c] = 128 + 80 * np.sin(a * x * 6.28 + p) * np.cos(b * y * 5.1 + c)
    # blocky edges and mild noise, as a photo's details
    img += ((np.floor(x * rng.integers(20, 60)) + np.floor(y * rng.integers(15, 45))) % 2)[..., None] * 25
    img += rng.normal(0, 3, (h, w, 1)).astype(np.float32)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--tagger", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--count", type=int, default=200)
    a = ap.parse_args()

    os.makedirs(a.tagger, exist_ok=True)
    link = os.path.join(a.tagger, "model.onnx")
    if not os.path.exists(link):
        os.symlink(os.path.abspath(a.onnx), link)
    csv = os.path.join(a.tagger, "selected_tags.csv")
    if not os.path.exists(csv):
        write_csv(csv, output_classes(a.onnx))

    os.makedirs(a.images, exist_ok=True)
    base = None
    for i in range(a.count):
        p = os.path.join(a.images, f"photo_{i:04d}.jpg")
        if os.path.exists(p):
            continue
        if base is None or i % 10 == 0:
            base = photo(i)
        # ten variants per base picture: flips and rolls change every pixel's position
        v = base.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if i % 2 else base
        arr = np.roll(np.asarray(v), (i % 10) * 97, axis=1)
        Image.fromarray(arr).save(p + ".tmp.jpg", quality=90, subsampling=2)
        os.replace(p + ".tmp.jpg", p)


if __name__ == "__main__":
    main()
