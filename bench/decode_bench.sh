#!/usr/bin/env bash
# CPU milliseconds per image spent decoding + WD14-preprocessing large JPEGs in `seer tag`.
# The tiny tagger's inference is negligible, so user+sys CPU of the run ≈ decode cost.
#
#   bench/decode_bench.sh [SEER_BINARY] [-- extra seer tag flags, e.g. --fast]
#   N=20 RUNS=3 bench/decode_bench.sh build-image/seer -- --fast
#
# Images: the first N of .cache/bench/tag_12mp/photo_*.jpg (made by bench/tag_bench.sh /
# bench/tag_bench_data.py). Prints the best of RUNS runs (CPU ms per image) and the load average,
# since other processes on the machine inflate the numbers.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seer="${1:-$root/build/seer}"
shift || true
[[ "${1:-}" == "--" ]] && shift
N="${N:-20}"
RUNS="${RUNS:-3}"
src="$root/.cache/bench/tag_12mp"
model="$root/tests/fixtures/models/tagger-tiny"
if ! ls "$src"/photo_0000.jpg >/dev/null 2>&1; then
  echo "no images in $src: run bench/tag_bench.sh once (it generates them)" >&2
  exit 2
fi
dir="$(mktemp -d)"
trap 'rm -rf "$dir" "$dir.time"' EXIT
for f in $(ls "$src"/photo_*.jpg | head -n "$N"); do ln -s "$f" "$dir/"; done
n=$(ls "$dir" | wc -l)
best=""
for ((r = 0; r < RUNS; r++)); do
  /usr/bin/time -o "$dir.time" -f "%U %S" "$seer" tag "$dir" --model "$model" --no-sidecar \
    --jsonl /dev/null --no-progress "$@" >/dev/null 2>&1
  t=$(tail -1 "$dir.time")
  ms=$(awk -v t="$t" -v n="$n" 'BEGIN { split(t, a, " "); printf "%.1f", (a[1] + a[2]) * 1000 / n }')
  echo "run $((r + 1)): $ms CPU ms/image (user+sys $t s, $n images)"
  if [[ -z "$best" ]] || awk -v a="$ms" -v b="$best" 'BEGIN { exit !(a < b) }'; then best="$ms"; fi
done
echo "best: $best CPU ms/image  flags: ${*:-(exact)}  load: $(cut -d' ' -f1-3 /proc/loadavg)"
