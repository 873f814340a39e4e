#!/usr/bin/env bash
# Pipeline efficiency of `seer tag` (issue 6; a benchmark, not a test):
#   tagging rate of `seer tag` on 200 generated 12-megapixel JPEGs with the full-size
#   ViT-B/16@448 WD14 graph (random weights)  ÷  pure inference rate of `seer bench` on the same
#   graph at the same batch, measured back to back in this script (bench, tag, bench: the two
#   bench runs are averaged, so a machine that gets busier or quieter meanwhile shows up).
# Goal: >= 0.95.
#
#   bench/tag_bench.sh [SEER] [-- extra seer tag flags, e.g. --fast]
#   BATCH=4 SECONDS_BENCH=30 COUNT=200 bench/tag_bench.sh build/seer
#
# Needs .cache/bench/wd14_vit_b16_448_opset13.onnx (tools/gen_vit_b16.py makes it; made here if
# missing) and makes the tagger folder and the JPEGs with bench/tag_bench_data.py (kept in
# .cache/bench/ for the next run).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SEER=${1:-$ROOT/build/seer}
shift || true
[[ "${1:-}" == "--" ]] && shift
EXTRA=("$@")
BATCH=${BATCH:-4}
SECONDS_BENCH=${SECONDS_BENCH:-30}
COUNT=${COUNT:-200}
PRECISION=${PRECISION:-fp32}
CACHE=$ROOT/.cache/bench
ONNX=$CACHE/wd14_vit_b16_448_opset13.onnx
TAGGER=$CACHE/wd14-vit-b16-448
IMAGES=$CACHE/tag_12mp
OUT=$(mktemp -d /tmp/seer-tag-bench-XXXXXX)
trap 'rm -rf "$OUT"' EXIT

[[ -f "$ONNX" ]] || /usr/bin/python3 "$ROOT/tools/gen_vit_b16.py" --out "$ONNX"
/usr/bin/python3 "$ROOT/bench/tag_bench_data.py" --onnx "$ONNX" --tagger "$TAGGER" --images "$IMAGES" --count "$COUNT"
ALL=("$IMAGES"/photo_*.jpg)
PICK=("${ALL[@]:0:$COUNT}")
N=${#PICK[@]}
mkdir -p "$OUT/imgs"
ln -s "${PICK[@]}" "$OUT/imgs/"

bench_rate() {
  "$SEER" bench --onnx "$ONNX" --batch "$BATCH" --precision "$PRECISION" --seconds "$SECONDS_BENCH" --json 2>/dev/null |
    tail -n 1 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["img_per_s"])'
}

echo "seer tag pipeline efficiency: $N 12-MP JPEGs, ViT-B/16@448 ($PRECISION), batch $BATCH, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
B1=$(bench_rate)
echo "seer bench (before):  $B1 img/s"
"$SEER" tag "$OUT/imgs" --model "$TAGGER" --batch "$BATCH" --precision "$PRECISION" --no-sidecar \
  --jsonl /dev/null --no-progress "${EXTRA[@]}" 2> "$OUT/tag.log" || true
SUMMARY=$(grep 'images:' "$OUT/tag.log" | tail -n 1)
echo "seer tag:             $SUMMARY"
B2=$(bench_rate)
echo "seer bench (after):   $B2 img/s"
/usr/bin/python3 - "$SUMMARY" "$B1" "$B2" <<'PY'
import re, sys
summary, b1, b2 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
tag = float(re.search(r"\(([\d.]+) img/s;", summary).group(1))
inner = float(re.search(r"inference alone ([\d.]+) img/s", summary).group(1))
pure = (b1 + b2) / 2
print(f"tagging {tag:.3f} img/s, pure inference {pure:.3f} img/s (bench {b1:.3f} / {b2:.3f}), "
      f"inference inside the pipeline {inner:.3f} img/s")
print(f"pipeline efficiency = {tag / pure:.3f}   (inference slowed by the decode threads: {inner / pure:.3f}; "
      f"inference share of the pipeline's wall time: {tag / inner:.3f})")
PY
