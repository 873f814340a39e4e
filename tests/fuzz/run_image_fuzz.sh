#!/bin/bash
# Builds the image decode fuzzer with clang (libFuzzer + AddressSanitizer/LeakSanitizer) into
# BUILD_DIR and runs it for SECONDS over the committed corpus. Exit 0 only when no crash, no
# sanitizer report and no leak was found. Used by ctest (label fuzz); also handy by hand:
#   tests/fuzz/run_image_fuzz.sh /tmp/fuzz-build 30
# The binary is rebuilt only when one of its sources (core status/log, src/memory, src/image,
# the target) or their headers is newer than it.
set -euo pipefail
BUILD_DIR=${1:?build dir}
SECONDS_TO_RUN=${2:-30}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CXX=${SEER_FUZZ_CXX:-clang++}
mkdir -p "$BUILD_DIR"
BIN="$BUILD_DIR/image_decode_fuzzer"
SOURCES=("$SRC"/src/core/status.cpp "$SRC"/src/core/log.cpp "$SRC"/src/memory/*.cpp "$SRC"/src/image/*.cpp "$SRC"/tests/fuzz/image_decode_fuzzer.cpp)
rebuild=0
[ -x "$BIN" ] || rebuild=1
if [ $rebuild = 0 ]; then
  for f in "${SOURCES[@]}" "$SRC"/src/core/*.h "$SRC"/src/memory/*.h "$SRC"/src/image/*.h; do
    if [ "$f" -nt "$BIN" ]; then rebuild=1; break; fi
  done
fi
if [ $rebuild = 1 ]; then
  echo "building $BIN with $CXX"
  # shellcheck disable=SC2046
  "$CXX" -std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$SRC/src" -DSEER_VERSION='"fuzz"' "${SOURCES[@]}" \
    $(pkg-config --cflags --libs vips libjpeg) -lfmt -lspdlog -lpthread -o "$BIN.tmp"
  mv "$BIN.tmp" "$BIN"
fi
WORK="$BUILD_DIR/corpus-work"
rm -rf "$WORK" "$BUILD_DIR"/crash-* "$BUILD_DIR"/leak-* "$BUILD_DIR"/oom-* "$BUILD_DIR"/timeout-*
mkdir -p "$WORK"
# New inputs go to WORK (first dir); the committed corpus is read-only seed material.
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  "$BIN" "$WORK" "$SRC/tests/fuzz/corpus/image_decode" -max_total_time="$SECONDS_TO_RUN" \
  -max_len=65536 -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 -artifact_prefix="$BUILD_DIR/" \
  2>&1 | tail -n 40
status=${PIPESTATUS[0]}
if ls "$BUILD_DIR"/crash-* "$BUILD_DIR"/leak-* "$BUILD_DIR"/oom-* "$BUILD_DIR"/timeout-* >/dev/null 2>&1; then
  echo "FAIL: fuzzer found a problem: $(ls "$BUILD_DIR"/crash-* "$BUILD_DIR"/leak-* "$BUILD_DIR"/oom-* "$BUILD_DIR"/timeout-* 2>/dev/null)"
  exit 1
fi
exit "$status"
