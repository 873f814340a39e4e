// fp32 <-> bf16 conversion for the bf16 precision path (weights at load, GEMM inputs at run).
//
//   std::vector<uint16_t> h(n);
//   kernels::f32_to_bf16(x, h.data(), n);      // round to nearest even, NaN stays NaN
//   kernels::bf16_to_f32(h.data(), y, n);
//
// Stateless and thread-safe; large arrays are split over the OpenMP threads.
#pragma once

#include <cstdint>

namespace seer::kernels {

void f32_to_bf16(const float* src, uint16_t* dst, int64_t n);
void bf16_to_f32(const uint16_t* src, float* dst, int64_t n);

inline uint16_t f32_to_bf16(float x) {
  uint32_t bits;
  __builtin_memcpy(&bits, &x, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}
inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float x;
  __builtin_memcpy(&x, &bits, 4);
  return x;
}

}  // namespace seer::kernels
