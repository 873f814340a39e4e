#!/usr/bin/env bash
# Benchmark (not a test): seer vs ONNX Runtime on the full-size WD14-v3 ViT-B/16@448 graph (random
# weights), same file, same machine, same run. Prints img/s per batch, seer/ORT ratios, load time and
# peak RSS.
#
#   bench/vit_bench.sh [--seer build/seer] [--precision fp32,bf16,fp32-mapped,fp32-cached,bf16-cached] [--batch 1,4,8] [--seconds 10]
#                      [--threads 2] [--opset 13|17] [--model FILE.onnx] [--no-seer] [--no-ort]
#
# The model is made on first use by tools/gen_vit_b16.py (Debian python3-torch) into the git-ignored
# .cache/bench/; ORT is npm onnxruntime-node from tools/ (`npm ci` there first). seer runs
#   seer bench --onnx FILE --batch B --precision P --seconds S --threads T --json
# (issue 4 contract: last stdout line {"load_ms", "peak_rss_mb", "results": [{"batch", "img_per_s"}]}),
# ORT runs tools/ort_bench.js with the same batches, seconds and threads. They run one after the other,
# never at the same time. Close other work first: both use all the threads they are given.
set -euo pipefail
cd "$(dirname "$0")/.."

seer=build/seer precisions=fp32,bf16 batch=1,4,8 seconds=10 threads=2 opset=13 model="" run_seer=1 run_ort=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seer) seer=$2; shift 2 ;;
    --precision) precisions=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --opset) opset=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --no-seer) run_seer=0; shift ;;
    --no-ort) run_ort=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "vit_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

model=${model:-.cache/bench/wd14_vit_b16_448_opset${opset}.onnx}
if [ ! -f "$model" ]; then
  echo "vit_bench: exporting $model (tools/gen_vit_b16.py, takes a minute or two)" >&2
  /usr/bin/python3 tools/gen_vit_b16.py --opset "$opset" --out "$model" 2>&1 | grep -v -i -e warn -e _C._jit >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$run_ort" = 1 ]; then
  if [ ! -d tools/node_modules/onnxruntime-node ]; then
    echo "vit_bench: tools/node_modules missing: run (cd tools && npm ci)" >&2
    exit 2
  fi
  echo "vit_bench: onnxruntime-node, $threads threads, batches $batch, ${seconds}s each" >&2
  node tools/ort_bench.js "$model" --batch "$batch" --seconds "$seconds" --threads "$threads" --json \
    | tail -n 1 > "$tmp/ort.json"
fi

if [ "$run_seer" = 1 ]; then
  IFS=, read -r -a plist <<< "$precisions"
  for p in "${plist[@]}"; do
    echo "vit_bench: seer $p, $threads threads, batches $batch, ${seconds}s each" >&2
    # "fp32-mapped": fp32 with the MatMul weights read in place from the file (--weights mapped).
    # "<p>-cached": packed weights mapped from a pack cache a first, unmeasured load filled.
    weights=packed; [[ "$p" == *-mapped ]] && weights=mapped
    cache=()
    if [[ "$p" == *-cached ]]; then
      cache=(--pack-cache "$tmp/pack-cache")
      "$seer" bench --onnx "$model" --batch 1 --precision "${p%-cached}" --seconds 0 --threads "$threads" \
        "${cache[@]}" > /dev/null 2>&1 || true
    fi
    base=${p%-mapped}; base=${base%-cached}
    if "$seer" bench --onnx "$model" --batch "$batch" --precision "$base" --weights "$weights" "${cache[@]}" \
         --seconds "$seconds" --threads "$threads" --json > "$tmp/seer_$p.out" 2> "$tmp/seer_$p.err"; then
      tail -n 1 "$tmp/seer_$p.out" > "$tmp/seer_$p.json"
    else
      echo "vit_bench: seer bench ($p) failed: $(tail -n 2 "$tmp/seer_$p.err" | tr '\n' ' ')" >&2
    fi
  done
fi

python3 - "$tmp" "$model" <<'PY'
import glob, json, os, sys
tmp, model = sys.argv[1], sys.argv[2]
def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
ort = load(os.path.join(tmp, "ort.json"))
seers = {os.path.basename(p)[5:-5]: load(p) for p in sorted(glob.glob(os.path.join(tmp, "seer_*.json")))}
seers = {k: v for k, v in seers.items() if v}
print(f"model: {model} ({os.path.getsize(model) / 1e6:.0f} MB)")
cols = ([("ORT fp32", ort)] if ort else []) + [(f"seer {k}", v) for k, v in seers.items()]
if not cols:
    print("no results"); sys.exit(1)
batches = sorted({r["batch"] for _, d in cols for r in d["results"]})
def ips(d, b):
    return next((r["img_per_s"] for r in d["results"] if r["batch"] == b), None)
w = max(14, max(len(n) for n, _ in cols) + 2)  # column width: the longest name + 2
head = f"{'':>12}" + "".join(f"{n:>{w}}" for n, _ in cols)
if ort:
    head += "".join(f"{n[5:] + '/ORT':>{w}}" for n, _ in cols[1:])
print(head)
for b in batches:
    row = f"{'batch ' + str(b) + ' img/s':>12}"
    row += "".join(f"{ips(d, b):>{w}.3f}" if ips(d, b) else f"{'-':>{w}}" for _, d in cols)
    if ort:
        for _, d in cols[1:]:
            s, o = ips(d, b), ips(ort, b)
            row += f"{s / o:>{w - 1}.2f}x" if s and o else f"{'-':>{w}}"
    print(row)
print(f"{'load ms':>12}" + "".join(f"{d['load_ms']:>{w}.0f}" for _, d in cols))
print(f"{'peak RSS MB':>12}" + "".join(f"{d['peak_rss_mb']:>{w}.0f}" for _, d in cols))
# seer's bound (issue 4): weights + planned arena + 64 MiB; its peak includes the bench's own input batch.
print(f"{'w+a+64 MiB':>12}" + "".join(f"{'':>{w}}" if n.startswith('ORT') else
      f"{d['weights_mb'] + d['arena_mb'] + 64:>{w}.0f}" for n, d in cols))
if ort and all("cpu_s_per_img" in r for r in ort["results"]):
    print(f"{'ORT CPU-s/img':>12}" + "".join(f"  b{r['batch']}: {r['cpu_s_per_img']:.3g}" for r in ort["results"]))
    busy = min(r["cpu_utilization"] for r in ort["results"])
    if busy < 0.9 * ort.get("threads", 2):
        print(f"WARNING: ORT kept only {busy:.2f} of {ort.get('threads', 2)} cores busy: the machine is shared, "
              "img/s understates both runtimes; compare CPU-s/img")
if ort and "baseline_rss_mb" in ort:
    print(f"(ORT peak RSS includes node itself: {ort['baseline_rss_mb']:.0f} MB before loading the model)")
PY
