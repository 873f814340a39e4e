#!/usr/bin/env bash
# The project's setup step for the nsfwjs classifiers (run by `make serve` / `make test`):
#   bash tools/nsfwjs/setup.sh <models-dir>      -> <models-dir>/nsfwjs/{mobilenet_v2,...}/
# Installs the pinned npm packages (package-lock.json) once, then writes the TF.js folders
# (setup_models.js). Quick when both are already done: the npm step is skipped while the lock
# file is unchanged, and setup_models.js skips folders whose hashes already match.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -ne 1 ]]; then
  echo "usage: $0 <models-dir>" >&2
  exit 2
fi
models_dir="$1"
stamp="$here/node_modules/.seer-lock.sha256"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "tools/nsfwjs: npm ci (nsfwjs 4.4.0, @tensorflow/tfjs)" >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi
exec node "$here/setup_models.js" "$models_dir/nsfwjs"
