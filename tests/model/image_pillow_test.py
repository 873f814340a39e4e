#!/usr/bin/python3
"""seer preprocess vs Pillow on every committed image fixture (ctest label `model`).

Usage: image_pillow_test.py SEER_BINARY FIXTURE_DIR

For each fixture the reference is computed here with the installed Pillow (Debian python3-pil)
exactly as the SmilingWolf WD14 Space does it (../shared/ref/models.md §1.4), plus
ImageOps.exif_transpose (seer applies EXIF orientation by default). Expected: bit-exact.
The ViT mode (HF ViTImageProcessor: convert("RGB"), Pillow BILINEAR squash, /255, mean=std=0.5,
NCHW) must give a byte-identical tile and a tensor within 1e-6 (float32 rounding of the
rescale/normalise steps). nsfwjs is checked against the committed torch reference (.npy).

Documented deviations (not Pillow bugs seer copies):
  gray16.png  Pillow opens 16-bit gray as mode "I" and convert("RGBA") clips values to 0..255
              (a 16-bit scan turns white); seer keeps the high byte (v >> 8), as Pillow itself
              does for 16-bit RGB. The reference for this file is Pillow's pipeline on v >> 8.
"""
import os
import warnings
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageOps

SIZE = 448
warnings.simplefilter("ignore")  # Pillow's palette-transparency advice


def pillow_open(path):
    im = Image.open(path)
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I", "I;16", "I;16B", "I;16L"):  # documented deviation, see module doc
        im = Image.fromarray((np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8), "L")
    return im


def wd14_reference(path, size):
    image = pillow_open(path).convert("RGBA")  # gr.Image(type="pil", image_mode="RGBA")
    canvas = Image.new("RGBA", image.size, (255, 255, 255))
    canvas.alpha_composite(image)
    image = canvas.convert("RGB")
    w, h = image.size
    max_dim = max(w, h)
    pad_left = (max_dim - w) // 2
    pad_top = (max_dim - h) // 2
    padded = Image.new("RGB", (max_dim, max_dim), (255, 255, 255))
    padded.paste(image, (pad_left, pad_top))
    if max_dim != size:
        padded = padded.resize((size, size), Image.BICUBIC)
    arr = np.asarray(padded, dtype=np.float32)[:, :, ::-1]
    return np.expand_dims(arr, axis=0)


def vit_reference(path, size):
    im = pillow_open(path).convert("RGB").resize((size, size), Image.BILINEAR)
    tile = np.asarray(im)
    x = (tile.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.float32(0.5)) / np.float32(0.5)
    return tile, x.transpose(2, 0, 1)[None]


def run_seer(seer, paths, out_dir, *args):
    """One seer process for all paths; returns {basename: array}."""
    os.makedirs(out_dir, exist_ok=True)
    out = out_dir if len(paths) > 1 else os.path.join(out_dir, os.path.basename(paths[0]) + ".npy")
    r = subprocess.run([seer, "preprocess", *paths, "--out", out, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"seer preprocess {args} failed ({r.returncode}): {r.stderr.strip()}")
    return {os.path.basename(p): np.load(os.path.join(out_dir, os.path.basename(p) + ".npy")) for p in paths}


def compare_exact(failures, label, got, ref):
    if got.shape != ref.shape or got.dtype != np.float32:
        failures.append(f"{label}: shape {got.shape} {got.dtype}, want {ref.shape} float32")
    elif not np.array_equal(got, ref):
        d = np.abs(got - ref)
        failures.append(f"{label}: {int((d > 0).sum())} of {d.size} values differ, "
                        f"max {d.max():g}, mean {d.mean():.4g}")


def main():
    seer, fixtures = sys.argv[1], sys.argv[2]
    names = sorted(f for f in os.listdir(fixtures) if not f.endswith(".npy"))
    paths = [os.path.join(fixtures, n) for n in names]
    failures, checks = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        # WD14 at 448 (the Space), and at 64 (other coefficient tables, upscale and downscale).
        for size in (SIZE, 64):
            got = run_seer(seer, paths, os.path.join(tmp, f"wd14_{size}"), "--mode", "wd14", "--size", str(size))
            for name, path in zip(names, paths):
                checks += 1
                compare_exact(failures, f"{name} wd14@{size}", got[name], wd14_reference(path, size))
        # ViT classifier mode at 224: identical tile, tensor to float32 rounding (1e-6).
        # Transparent GIF pixels are skipped: under alpha 0 libnsgif and Pillow keep different
        # RGB, and this mode drops alpha without compositing.
        vit_paths = [p for p in paths if not p.endswith(".gif")]
        tiles = run_seer(seer, vit_paths, os.path.join(tmp, "vit_tile"), "--mode", "vit", "--size", "224", "--tile")
        tensors = run_seer(seer, vit_paths, os.path.join(tmp, "vit"), "--mode", "vit", "--size", "224")
        for path in vit_paths:
            name = os.path.basename(path)
            ref_tile, ref_tensor = vit_reference(path, 224)
            checks += 2
            tile, tensor = tiles[name], tensors[name]
            if tile.shape != ref_tile.shape or not np.array_equal(tile.astype(np.uint8), ref_tile):
                d = np.abs(tile - ref_tile.astype(np.float32)) if tile.shape == ref_tile.shape else np.inf
                failures.append(f"{name} vit tile: differs, max {np.max(d):g}")
            elif tensor.shape != ref_tensor.shape or np.abs(tensor - ref_tensor).max() > 1e-6:
                failures.append(f"{name} vit tensor: max diff {np.abs(tensor - ref_tensor).max():g}")
        # nsfwjs vs the committed torch align_corners reference. torch interpolates in float32,
        # tfjs (and seer) in float64, so values differ by a few float32 ulps: tolerance 1e-5.
        for ref_name in sorted(f for f in os.listdir(fixtures) if f.endswith(".npy")):
            img = ref_name.split(".nsfwjs")[0]
            size = int(ref_name.split(".nsfwjs")[1].split(".")[0])
            got = run_seer(seer, [os.path.join(fixtures, img)], os.path.join(tmp, "nsfwjs"),
                           "--mode", "nsfwjs", "--size", str(size))[img]
            ref = np.load(os.path.join(fixtures, ref_name))
            checks += 1
            if got.shape != ref.shape or np.abs(got - ref).max() > 1e-5:
                failures.append(f"{img} nsfwjs: shape {got.shape} vs {ref.shape}, "
                                f"max diff {np.abs(got - ref).max() if got.shape == ref.shape else 'n/a'}")
    for f in failures:
        print("FAIL", f)
    print(f"{checks - len(failures)} of {checks} checks passed over {len(names)} fixtures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
