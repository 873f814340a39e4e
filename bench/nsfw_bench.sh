#!/usr/bin/env bash
# Benchmark (not a test): the nsfwjs 4.4.0 classifiers on seer's engine (TF.js folders imported by
# src/engine/tfjs) vs nsfwjs itself on @tensorflow/tfjs 4.22.0 (CPU backend), same machine, same
# run, same pixels: the committed fixture PNGs (tests/fixtures/nsfw/<S>/*.png, sorted, cycled to
# fill a batch) fed as x/255 float32 NHWC. Prints images/s per model and batch and seer/tfjs.
#
#   bench/nsfw_bench.sh [--seer build/seer] [--models mobilenet_v2,inception_v3] [--batch 1,16]
#                       [--precision fp32] [--seconds 10] [--threads 2] [--no-tfjs]
#
# Models: $SEER_NSFWJS_DIR, else $SEER_MODELS_DIR/nsfwjs, else ~/.local/share/seer/models/nsfwjs
# (`make models`, or bash tools/nsfwjs/setup.sh DIR). seer runs
#   seer bench --onnx <folder> --batch B --input pixels.npy --precision P --seconds S --threads T --json
# and tfjs runs bench/nsfw_bench.js (single-threaded JavaScript; it also reports images per
# CPU-second). They run one after the other, never at the same time.
set -euo pipefail
cd "$(dirname "$0")/.."

seer=build/seer models=mobilenet_v2,inception_v3 batch=1,16 precision=fp32 seconds=10 threads=2 run_tfjs=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seer) seer=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --precision) precision=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --no-tfjs) run_tfjs=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "nsfw_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

dir=${SEER_NSFWJS_DIR:-${SEER_MODELS_DIR:+$SEER_MODELS_DIR/nsfwjs}}
dir=${dir:-$HOME/.local/share/seer/models/nsfwjs}
[ -f "$dir/mobilenet_v2/model.json" ] || { echo "nsfw_bench: no models in $dir: run \`make models\`" >&2; exit 2; }

work=$(mktemp -d /tmp/seer-nsfw-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
# The fixture pixels as float32 [N,S,S,3] x/255, in the sorted order nsfw_bench.js uses.
/usr/bin/python3 - "$work" <<'EOF'
import sys, pathlib, numpy as np
from PIL import Image
for s in (224, 299):
    files = sorted(pathlib.Path(f"tests/fixtures/nsfw/{s}").glob("*.png"))
    x = np.stack([np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) / np.float32(255) for f in files])
    np.save(f"{sys.argv[1]}/x{s}.npy", x.astype(np.float32))
EOF

declare -A seer_ips seer_cpu tfjs_ips tfjs_cpu
for m in ${models//,/ }; do
  size=224; [ "$m" = inception_v3 ] && size=299
  out=$("$seer" bench --onnx "$dir/$m" --batch "$batch" --input "$work/x$size.npy" --precision "$precision" \
        --seconds "$seconds" --threads "$threads" --json)
  echo "$out" | sed '$d' | sed "s/^/[seer $m] /" >&2
  while read -r b ips cpu; do seer_ips[$m,$b]=$ips; seer_cpu[$m,$b]=$cpu; done < <(echo "$out" | tail -1 |
    python3 -c 'import json,sys; [print(r["batch"], r["img_per_s"], r.get("img_per_cpu_s", "nan")) for r in json.load(sys.stdin)["results"]]')
done
if [ "$run_tfjs" = 1 ]; then
  while read -r m b ips cpu; do tfjs_ips[$m,$b]=$ips; tfjs_cpu[$m,$b]=$cpu; done < <(
    node bench/nsfw_bench.js --models "$models" --batch "$batch" --seconds "$seconds" --min-iters 1 --no-batch-check --json |
    python3 -c 'import json,sys
for l in sys.stdin:
    r = json.loads(l); print(r["model"], r["batch"], r["images_per_s"], r["images_per_cpu_s"])')
fi

printf '\n%-14s %5s  %11s  %11s  %9s  %15s  %15s  %9s\n' model batch "seer img/s" "tfjs img/s" "seer/tfjs" \
  "seer img/CPU-s" "tfjs img/CPU-s" "seer/tfjs"
for m in ${models//,/ }; do
  for b in ${batch//,/ }; do
    python3 -c "import sys
s,t,sc,tc=map(float,sys.argv[1:5]); r=lambda a,b: f'{a/b:.1f}x' if a==a and b==b and b>0 else '-'
print('%-14s %5s  %11.2f  %11.2f  %9s  %15.2f  %15.2f  %9s' % ('$m', '$b', s, t, r(s,t), sc, tc, r(sc,tc)))" \
      "${seer_ips[$m,$b]:-nan}" "${tfjs_ips[$m,$b]:-nan}" "${seer_cpu[$m,$b]:-nan}" "${tfjs_cpu[$m,$b]:-nan}"
  done
done
echo "(seer: $precision, $threads threads; tfjs: @tensorflow/tfjs cpu backend, one JavaScript thread; $(nproc) CPUs:" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average $(cut -d' ' -f1-3 /proc/loadavg)." \
  "img/CPU-s = images per CPU-second of the process: the fair figure on a busy machine)"
