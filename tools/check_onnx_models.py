#!/usr/bin/env python3
"""Check `seer onnx-run` against the ONNX Runtime outputs committed under tests/fixtures/models/.

    python3 tools/check_onnx_models.py --seer build/seer [--precision fp32,bf16,fp32-mapped,fp32-cached,bf16-cached] [--only NAME] [-v]

For every tests/fixtures/models/*/manifest.json (written by tools/gen_models.py) and every case in
it (model file x batch) and every precision, runs

    <seer> onnx-run MODEL --input NAME=FILE.npy ... --output-dir TMP --precision P

and compares each DIR/<output name, non-[A-Za-z0-9._-] -> '_'>.npy with the expected .npy:
  - kind "probability" (sigmoid/softmax outputs): max |out - ref| <= 1e-4 (fp32), <= 3e-2 (bf16)
  - kind "logits": max |out - ref| <= 1e-4 (fp32); bf16: max |out - ref| <= 3e-2 * max(1, max |ref|),
    i.e. 3 % of the largest logit (bf16 keeps 8 significant bits, ~0.4 % per rounding).
"fp32-mapped" is fp32 with `--weights mapped` (MatMul weights read in place from the file), held to
the fp32 bounds. "fp32-cached" / "bf16-cached" run twice with `--pack-cache DIR`: the first run packs
and saves the weights, the second must map every packed weight from the file (`pack cache: N mapped,
0 packed`, N > 0) and is the one compared. Shapes must match exactly and no output may be NaN/Inf. Prints one line per
(model, opset, batch, precision), then `N passed, M failed`; exits 1 if any failed, 2 on usage errors.

--skip-if-pending exits 77 when `seer onnx-run` is still a placeholder (for ctest SKIP_RETURN_CODE).
Needs only the Python standard library (the .npy reader is built in), so any python3 runs it.
"""

import argparse
import array
import ast
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FIXTURES = os.path.join(ROOT, "tests", "fixtures", "models")

# fp32 / bf16 bounds; see the module docstring.
TOL = {
    ("probability", "fp32"): ("abs", 1e-4),
    ("probability", "bf16"): ("abs", 3e-2),
    ("logits", "fp32"): ("abs", 1e-4),
    ("logits", "bf16"): ("rel_to_max", 3e-2),
}

_NPY_TYPES = {"<f4": "f", "<f8": "d", "<i4": "i", "<i8": "q", "|u1": "B", "|b1": "B", "|i1": "b",
              "<i2": "h", "<u2": "H", "<u4": "I", "<u8": "Q"}


def read_npy(path):
    """Returns (shape tuple, flat list of numbers). Little-endian C-order arrays only."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file")
    major = data[6]
    if major == 1:
        hlen, off = int.from_bytes(data[8:10], "little"), 10
    elif major in (2, 3):
        hlen, off = int.from_bytes(data[8:12], "little"), 12
    else:
        raise ValueError(f"{path}: unsupported .npy version {major}")
    header = ast.literal_eval(data[off:off + hlen].decode("latin1"))
    if header.get("fortran_order"):
        raise ValueError(f"{path}: Fortran-ordered array")
    code = _NPY_TYPES.get(header["descr"])
    if code is None:
        raise ValueError(f"{path}: unsupported dtype {header['descr']}")
    shape = tuple(header["shape"])
    count = 1
    for d in shape:
        count *= d
    arr = array.array(code)
    if sys.byteorder != "little":
        raise ValueError("big-endian host not supported")
    start = off + hlen
    arr.frombytes(data[start:start + count * arr.itemsize])
    if len(arr) != count:
        raise ValueError(f"{path}: truncated ({len(arr)} of {count} elements)")
    return shape, arr


def safe_name(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def compare(out, ref, kind, precision):
    """Returns (ok, max_abs, bound, note)."""
    (oshape, odata), (rshape, rdata) = out, ref
    if tuple(oshape) != tuple(rshape):
        return False, None, None, f"shape {list(oshape)} != expected {list(rshape)}"
    mode, tol = TOL[(kind, precision.split("-")[0])]
    max_abs, ref_max = 0.0, 0.0
    for o, r in zip(odata, rdata):
        if not math.isfinite(o):
            return False, None, None, "non-finite output"
        d = abs(o - r)
        if d > max_abs:
            max_abs = d
        if abs(r) > ref_max:
            ref_max = abs(r)
    bound = tol if mode == "abs" else tol * max(1.0, ref_max)
    return max_abs <= bound, max_abs, bound, ""


PRECISIONS = ("fp32", "bf16", "fp32-mapped", "fp32-cached", "bf16-cached")


def run_case(seer, fixture_dir, case, outputs, precision, tmp, timeout):
    cmd = [seer, "onnx-run", os.path.join(fixture_dir, case["model"])]
    for name, f in case["inputs"].items():
        cmd += ["--input", f"{name}={os.path.join(fixture_dir, f)}"]
    # "fp32-mapped": fp32 with the MatMul weights read in place from the file (--weights mapped).
    cmd += ["--output-dir", tmp, "--precision", precision.split("-")[0]]
    if precision.endswith("-mapped"):
        cmd += ["--weights", "mapped"]
    runs = 1
    if precision.endswith("-cached"):
        cmd += ["--pack-cache", os.path.join(tmp, "pack-cache")]
        runs = 2
    for run in range(runs):
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return [(False, None, None, f"timed out after {timeout}s")]
        except OSError as e:
            return [(False, None, None, f"cannot run {seer}: {e}")]
        if res.returncode != 0:
            tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
            return [(False, None, None, f"exit {res.returncode}: {' | '.join(tail)}")]
    if runs == 2:
        m = re.search(r"pack cache: (\d+) mapped, (\d+) packed", res.stdout)
        if not m or int(m.group(1)) == 0 or int(m.group(2)) != 0:
            return [(False, None, None, "second run did not map its weights from the pack cache: "
                     + (m.group(0) if m else "no 'pack cache:' line"))]
    results = []
    for out in outputs:
        name, kind = out["name"], out["kind"]
        got = os.path.join(tmp, safe_name(name) + ".npy")
        if not os.path.exists(got):
            results.append((False, None, None, f"no output file {safe_name(name)}.npy"))
            continue
        try:
            ok, err, bound, note = compare(read_npy(got), read_npy(os.path.join(fixture_dir, case["expected"][name])),
                                           kind, precision)
        except (ValueError, KeyError) as e:
            ok, err, bound, note = False, None, None, str(e)
        results.append((ok, err, bound, (f"{name}: " + note) if note else (name if len(outputs) > 1 else "")))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seer", required=True, help="path to the seer binary (or a stand-in with the same CLI)")
    ap.add_argument("--fixtures", default=DEFAULT_FIXTURES, help="folder of <model>/manifest.json")
    ap.add_argument("--precision", default=",".join(PRECISIONS), help="comma list of " + ", ".join(PRECISIONS))
    ap.add_argument("--only", action="append", help="model name (repeatable)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per seer run")
    ap.add_argument("--skip-if-pending", action="store_true",
                    help="exit 77 (ctest SKIP_RETURN_CODE) if `seer onnx-run --help` says it is not built yet")
    args = ap.parse_args()

    precisions = [p.strip() for p in args.precision.split(",") if p.strip()]
    if any(p not in PRECISIONS for p in precisions):
        ap.error("--precision takes " + ", ".join(PRECISIONS))
    if not (os.path.isfile(args.seer) and os.access(args.seer, os.X_OK)):
        print(f"check_onnx_models: {args.seer} is not an executable", file=sys.stderr)
        return 2
    if args.skip_if_pending:
        probe = subprocess.run([args.seer, "onnx-run", "--help"], capture_output=True, text=True)
        if "not built yet" in probe.stdout + probe.stderr:
            print("SKIP: seer onnx-run is not built yet")
            return 77
    manifests = []
    for d in sorted(os.listdir(args.fixtures)) if os.path.isdir(args.fixtures) else []:
        mf = os.path.join(args.fixtures, d, "manifest.json")
        if os.path.isfile(mf) and (not args.only or d in args.only):
            manifests.append(mf)
    if not manifests:
        print(f"check_onnx_models: no manifest.json under {args.fixtures}", file=sys.stderr)
        return 2

    passed = failed = 0
    tmp_root = tempfile.mkdtemp(prefix="seer-onnx-check-")
    try:
        for mf in manifests:
            with open(mf) as f:
                m = json.load(f)
            fixture_dir = os.path.dirname(mf)
            for case in m["cases"]:
                for precision in precisions:
                    label = f"{m['name']} opset{case['opset']} b{case['batch']} {precision}"
                    tmp = os.path.join(tmp_root, f"{m['name']}_{case['opset']}_{case['batch']}_{precision}")
                    os.makedirs(tmp)
                    for ok, err, bound, note in run_case(args.seer, fixture_dir, case, m["outputs"], precision,
                                                         tmp, args.timeout):
                        if ok:
                            passed += 1
                        else:
                            failed += 1
                        parts = ["PASS" if ok else "FAIL", label]
                        if err is not None:
                            parts.append(f"max_abs={err:.3g} bound={bound:.3g}")
                        if note:
                            parts.append(note)
                        print(" ".join(parts), flush=True)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
