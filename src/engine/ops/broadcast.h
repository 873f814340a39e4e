// Numpy-style broadcasting of up to three inputs into one output, planned at load from concrete
// shapes: dims are coalesced so the inner loop runs over the longest contiguous stretch, and each
// input's inner stride is 0 (broadcast) or 1. Internal to src/engine/ops/.
//
//   Broadcast b = Broadcast::plan(out_shape, {a.shape, b.shape});
//   b.for_each_row([&](int64_t o, const int64_t* in_off, int64_t n, const int64_t* in_step) {...});
#pragma once

#include <omp.h>

#include <algorithm>
#include <initializer_list>

#include "engine/shape.h"

namespace seer::engine::ops {

struct Broadcast {
  int rank = 0;  // after coalescing (>= 1)
  int inputs = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[3][kMaxRank] = {};
  int64_t total = 0;

  static Broadcast plan(const Shape& out, std::initializer_list<Shape> ins) {
    Broadcast b;
    b.inputs = static_cast<int>(ins.size());
    b.total = out.numel();
    const int r = out.rank();
    int64_t st[3][kMaxRank];
    int k = 0;
    for (const Shape& s : ins) {
      int64_t acc = 1;
      for (int i = r - 1; i >= 0; --i) {
        const int j = i - (r - s.rank());
        const int64_t d = j >= 0 ? s[j] : 1;
        st[k][i] = (d == 1 && out[i] != 1) ? 0 : acc;
        acc *= d;
      }
      ++k;
    }
    // Coalesce dim i into the previous kept dim when every input continues contiguously.
    for (int i = 0; i < r; ++i) {
      if (out[i] == 1) continue;
      if (b.rank > 0) {
        bool merge = true;
        for (int k2 = 0; k2 < b.inputs; ++k2) {
          const int64_t prev = b.strides[k2][b.rank - 1];
          merge = merge && (prev == st[k2][i] * out[i] || (prev == 0 && st[k2][i] == 0));
        }
        if (merge) {
          b.dims[b.rank - 1] *= out[i];
          for (int k2 = 0; k2 < b.inputs; ++k2) b.strides[k2][b.rank - 1] = st[k2][i];
          continue;
        }
      }
      b.dims[b.rank] = out[i];
      for (int k2 = 0; k2 < b.inputs; ++k2) b.strides[k2][b.rank] = st[k2][i];
      ++b.rank;
    }
    if (b.rank == 0) {
      b.rank = 1;
      b.dims[0] = 1;
      for (int k2 = 0; k2 < b.inputs; ++k2) b.strides[k2][0] = 1;
    }
    return b;
  }

  // fn(out_offset, in_offsets[inputs], n, in_inner_strides[inputs]) for each inner row.
  template <typename Fn>
  void for_each_row(Fn&& fn) const {
    if (total == 0) return;
    const int64_t inner = dims[rank - 1];
    const int64_t rows = total / inner;
    // Long rows are cut into chunks so a flat same-shape op also spreads over the threads.
    constexpr int64_t kChunk = 1 << 14;
    const int64_t per_row = (inner + kChunk - 1) / kChunk;
    const int64_t tasks = rows * per_row;
    int64_t step[3];
    for (int k = 0; k < inputs; ++k) step[k] = strides[k][rank - 1];
#pragma omp parallel for schedule(static) if (total > (1 << 16) && tasks > 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t row = task / per_row, begin = (task % per_row) * kChunk;
      const int64_t n = std::min(kChunk, inner - begin);
      int64_t off[3] = {0, 0, 0};
      int64_t rem = row;
      for (int d = rank - 2; d >= 0; --d) {
        const int64_t idx = rem % dims[d];
        rem /= dims[d];
        for (int k = 0; k < inputs; ++k) off[k] += idx * strides[k][d];
      }
      for (int k = 0; k < inputs; ++k) off[k] += begin * step[k];
      fn(row * inner + begin, off, n, step);
    }
  }
};

}  // namespace seer::engine::ops
