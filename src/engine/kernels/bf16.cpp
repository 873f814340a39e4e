#pragma GCC optimize("fp-contract=fast")
#include "engine/kernels/bf16.h"

#include "engine/kernels/vec_math.h"

namespace seer::kernels {
namespace {

constexpr int64_t kParallelMin = 1 << 16;  // below this, threading costs more than it saves

SEER_KERNEL_CLONES void to_bf16_range(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    __builtin_memcpy(&bits, src + i, 4);
    uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    uint32_t nan = (bits >> 16) | 0x40u;
    dst[i] = static_cast<uint16_t>((bits & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
  }
}

SEER_KERNEL_CLONES void to_f32_range(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
    __builtin_memcpy(dst + i, &bits, 4);
  }
}

template <typename Fn>
void split(int64_t n, Fn&& fn) {
  if (n < kParallelMin) {
    fn(0, n);
    return;
  }
  const int64_t chunks = (n + 4095) / 4096;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t b = c * 4096, e = b + 4096 < n ? b + 4096 : n;
    fn(b, e);
  }
}

}  // namespace

void f32_to_bf16(const float* src, uint16_t* dst, int64_t n) {
  split(n, [&](int64_t b, int64_t e) { to_bf16_range(src + b, dst + b, e - b); });
}

void bf16_to_f32(const uint16_t* src, float* dst, int64_t n) {
  split(n, [&](int64_t b, int64_t e) { to_f32_range(src + b, dst + b, e - b); });
}

}  // namespace seer::kernels
