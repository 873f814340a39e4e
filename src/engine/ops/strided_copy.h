// Copies a strided view of an input into a dense output: the one data-movement loop behind
// Transpose, Slice, Expand and Tile-like ops. Internal to src/engine/ops/.
//
//   StridedCopy sc;  sc.out = out_shape;  sc.in_strides[d] = ...;  sc.in_offset = ...;
//   sc.run(src, dst, elem_size);
#pragma once

#include <cstdint>
#include <cstring>

#include "engine/shape.h"

namespace seer::engine::ops {

struct StridedCopy {
  Shape out;                        // output shape
  int64_t in_strides[kMaxRank] = {};  // input element stride per output dim (may be 0 or < 0)
  int64_t in_offset = 0;             // element offset of out[0,...,0] in the input

  template <typename T>
  void run_typed(const T* src, T* dst) const {
    const int r = out.rank();
    const int64_t total = out.numel();
    if (total == 0) return;
    if (r == 0) { dst[0] = src[in_offset]; return; }
    const int64_t inner = out[r - 1], rows = total / inner, st = in_strides[r - 1];
#pragma omp parallel for schedule(static) if (total > (1 << 16) && rows > 1)
    for (int64_t row = 0; row < rows; ++row) {
      int64_t off = in_offset, rem = row;
      for (int d = r - 2; d >= 0; --d) {
        off += (rem % out[d]) * in_strides[d];
        rem /= out[d];
      }
      const T* s = src + off;
      T* o = dst + row * inner;
      if (st == 1) std::memcpy(o, s, inner * sizeof(T));
      else if (st == 0) for (int64_t i = 0; i < inner; ++i) o[i] = s[0];
      else for (int64_t i = 0; i < inner; ++i) o[i] = s[i * st];
    }
  }

  void run(const void* src, void* dst, size_t elem) const {
    switch (elem) {
      case 1: run_typed(static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst)); break;
      case 2: run_typed(static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst)); break;
      case 4: run_typed(static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst)); break;
      default: run_typed(static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst)); break;
    }
  }
};

}  // namespace seer::engine::ops
