#!/usr/bin/python3
"""Decode + WD14 preprocess per image: seer vs Pillow, in one run (not a test).

  /usr/bin/python3 bench/image_bench.py [path/to/seer] [--reps N]

Images (generated once into $TMPDIR/seer_image_bench/, photo-like content):
  24 MP JPEG (6000x4000, q90 4:2:0), 2 MP JPEG (1732x1155, q90), 2 MP PNG (1732x1155).
Pipelines: Pillow = the SmilingWolf Space (Image.open, exif_transpose, RGBA, alpha_composite over
white, pad square, resize BICUBIC 448, float32 BGR) — the same thing `seer preprocess --mode
wd14` computes bit-exactly; seer also in --fast (shrink-on-load) mode for the JPEGs.
seer's per-image cost is taken from one process decoding the image N times minus one process
decoding it once (so process start-up and libvips init are excluded). Both CPU seconds (robust
on a shared machine: seer and Pillow are single-threaded here) and wall seconds are printed;
ratios are Pillow / seer (> 1 means seer is faster).
"""
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(tempfile.gettempdir(), "seer_image_bench")


def photo(w, h, seed):
    r = np.random.RandomState(seed)
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    chans = []
    for c in range(3):
        a, b = r.uniform(2, 9, size=2)
        v = 128 + 90 * np.sin(a * x * 6.2 + c) * np.cos(b * y * 5.1 - c)
        v = v + 30 * ((np.arange(w)[None, :] // 37 + np.arange(h)[:, None] // 23 + c) % 2)
        chans.append(v)
    a = np.stack(chans, -1)
    a += r.normal(0, 1.5, size=a.shape).astype(np.float32)
    return np.clip(a, 0, 255).astype(np.uint8)


def images():
    os.makedirs(CACHE, exist_ok=True)
    specs = [("24mp.jpg", 6000, 4000, dict(quality=90)),
             ("2mp.jpg", 1732, 1155, dict(quality=90)),
             ("2mp.png", 1732, 1155, dict(compress_level=6))]
    out = []
    for name, w, h, kw in specs:
        path = os.path.join(CACHE, name)
        if not os.path.exists(path):
            Image.fromarray(photo(w, h, len(out))).save(path, **kw)
        out.append(path)
    return out


def pillow_wd14(path, size=448):
    image = ImageOps.exif_transpose(Image.open(path)).convert("RGBA")
    canvas = Image.new("RGBA", image.size, (255, 255, 255))
    canvas.alpha_composite(image)
    image = canvas.convert("RGB")
    w, h = image.size
    m = max(w, h)
    padded = Image.new("RGB", (m, m), (255, 255, 255))
    padded.paste(image, ((m - w) // 2, (m - h) // 2))
    if m != size:
        padded = padded.resize((size, size), Image.BICUBIC)
    return np.expand_dims(np.asarray(padded, dtype=np.float32)[:, :, ::-1], 0)


def time_pillow(path, reps):
    pillow_wd14(path)  # warm the file cache
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(reps):
        pillow_wd14(path)
    return (time.process_time() - c0) / reps, (time.perf_counter() - t0) / reps


def run_seer(seer, path, n, extra, tmp):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = tmp if n > 1 else os.path.join(tmp, "one.npy")
    subprocess.run([seer, "preprocess", *([path] * n), "--out", out, "--mode", "wd14", "--size", "448", *extra],
                   check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def time_seer(seer, path, reps, extra):
    with tempfile.TemporaryDirectory() as tmp:
        run_seer(seer, path, 1, extra, tmp)  # warm
        c1, w1 = run_seer(seer, path, 1, extra, tmp)
        tensor = np.load(os.path.join(tmp, "one.npy"))
        cn, wn = run_seer(seer, path, reps + 1, extra, tmp)
    return max(cn - c1, 1e-9) / reps, max(wn - w1, 1e-9) / reps, tensor


def main():
    args = [a for a in sys.argv[1:]]
    reps = 5
    if "--reps" in args:
        i = args.index("--reps")
        reps = int(args[i + 1])
        del args[i:i + 2]
    seer = args[0] if args else os.path.join(HERE, "..", "build", "seer")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; reps {reps}")
    print(f"{'image':10} {'pipeline':22} {'CPU ms':>8} {'wall ms':>8} {'Pillow/seer CPU':>16} {'wall':>6}")
    for path in images():
        name = os.path.basename(path)
        r = max(2, reps // 3) if name.startswith("24") else reps
        pc, pw = time_pillow(path, r)
        reference = pillow_wd14(path)
        print(f"{name:10} {'Pillow 9.4 (Space)':22} {pc*1e3:8.1f} {pw*1e3:8.1f}")
        modes = [("seer exact", [])]
        if name.endswith(".jpg"):
            modes.append(("seer --fast (shrink)", ["--fast"]))
        for label, extra in modes:
            sc, sw, tensor = time_seer(seer, path, r, extra)
            d = np.abs(tensor - reference)
            print(f"{name:10} {label:22} {sc*1e3:8.1f} {sw*1e3:8.1f} {pc/sc:15.2f}x {pw/sw:5.2f}x"
                  f"   vs Pillow: max {d.max():.0f}, mean {d.mean():.3f}")


if __name__ == "__main__":
    sys.exit(main())
