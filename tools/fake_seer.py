#!/usr/bin/env python3
"""A stand-in for `seer onnx-run` built on ONNX Runtime, to test tools/check_onnx_models.py itself.

    python3 tools/check_onnx_models.py --seer tools/fake_seer.py            # must print 0 failed
    FAKE_SEER_PERTURB=1e-3 python3 tools/check_onnx_models.py --seer tools/fake_seer.py   # fp32 fails
    FAKE_SEER_MODE=crash|nofile|shape|nan ...                                # every case fails

`fake_seer.py onnx-run MODEL --input NAME=FILE.npy ... --output-dir DIR [--precision fp32|bf16]`
forwards to tools/ort_run.js (so it needs `npm ci` in tools/; if ORT refuses the batch, as with a
graph whose batch is fixed at 1, it runs image by image like seer does), then optionally damages
the outputs:
FAKE_SEER_PERTURB=E adds E to every element; FAKE_SEER_MODE=crash exits 1, nofile deletes the
outputs, shape drops the last element, nan writes a NaN. Only for testing the checker: never a
reference.
"""

import os
import struct
import subprocess
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
from check_onnx_models import read_npy  # noqa: E402


def write_f32_npy(path, shape, values):
    shape_s = f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_s}, }}"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(struct.pack(f"<{len(values)}f", *values))


def loop_over_batch(args, out_dir):
    """Like seer with a graph whose batch is fixed at 1: run image by image, concatenate outputs.
    Float32 inputs/outputs only. Returns False if that fails too."""
    import tempfile
    model, feeds = args[0], [a.split("=", 1) for a in args[2::2]]
    arrays = {n: read_npy(f) for n, f in feeds}
    batch = {shape[0] for shape, _ in arrays.values()}
    if len(batch) != 1:
        return False
    (n_img,) = batch
    outs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n_img):
            cmd = ["node", os.path.join(TOOLS, "ort_run.js"), model, "--output-dir", os.path.join(tmp, f"o{i}")]
            for name, (shape, data) in arrays.items():
                per = len(data) // n_img
                f = os.path.join(tmp, f"in{i}_{len(cmd)}.npy")
                write_f32_npy(f, (1,) + tuple(shape[1:]), data[i * per:(i + 1) * per])
                cmd += ["--input", f"{name}={f}"]
            if subprocess.run(cmd, capture_output=True).returncode != 0:
                return False
            for fn in os.listdir(os.path.join(tmp, f"o{i}")):
                shape, data = read_npy(os.path.join(tmp, f"o{i}", fn))
                prev = outs.setdefault(fn, [tuple(shape), []])
                prev[1].extend(data)
    for fn, (shape, data) in outs.items():
        write_f32_npy(os.path.join(out_dir, fn), (n_img,) + shape[1:], data)
    return True


def main(argv):
    if len(argv) < 2 or argv[0] != "onnx-run":
        print("fake_seer: only `onnx-run` is implemented", file=sys.stderr)
        return 2
    args, out_dir, i = [argv[1]], None, 2
    while i < len(argv):
        if argv[i] == "--input":
            args += ["--input", argv[i + 1]]
            i += 2
        elif argv[i] == "--output-dir":
            out_dir = argv[i + 1]
            i += 2
        elif argv[i] == "--precision":
            if argv[i + 1] not in ("fp32", "bf16"):
                return 2
            i += 2
        else:
            print(f"fake_seer: unknown argument {argv[i]}", file=sys.stderr)
            return 2
    mode = os.environ.get("FAKE_SEER_MODE", "")
    if mode == "crash":
        print("fake_seer: simulated failure", file=sys.stderr)
        return 1
    res = subprocess.run(["node", os.path.join(TOOLS, "ort_run.js")] + args + ["--output-dir", out_dir],
                         capture_output=True, text=True)
    if res.returncode != 0 and not loop_over_batch(args, out_dir):
        sys.stderr.write(res.stderr)
        return 1
    perturb = float(os.environ.get("FAKE_SEER_PERTURB", "0"))
    for f in os.listdir(out_dir):
        p = os.path.join(out_dir, f)
        if mode == "nofile":
            os.remove(p)
            continue
        shape, data = read_npy(p)
        vals = [v + perturb for v in data]
        if mode == "shape":
            shape, vals = (len(vals) - 1,), vals[:-1]
        elif mode == "nan":
            vals[0] = float("nan")
        write_f32_npy(p, shape, vals)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
