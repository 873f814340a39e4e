// Helpers for the kernel unit tests (tests/unit/kernels_*.cpp): deterministic random data,
// 64-byte aligned scratch, bf16 rounding for references, and the error check.
#pragma once

// Designated initializers that leave fields at their defaults are the point of the case structs.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "engine/kernels/bf16.h"

namespace seer::kernels::testing {

inline std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline std::vector<float> round_bf16(std::vector<float> v) {
  for (auto& x : v) x = bf16_to_f32(f32_to_bf16(x));
  return v;
}

struct AlignedBytes {
  explicit AlignedBytes(size_t n) : size(n) {
    ptr.reset(static_cast<uint8_t*>(std::aligned_alloc(64, ((n + 63) / 64 + 1) * 64)));
  }
  void* data() { return ptr.get(); }
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> ptr;
  size_t size;
};

// Max |got - want| / max(1, |want|) must be <= tol: absolute near 0, relative for large values.
inline void expect_close(const std::vector<float>& got, const std::vector<double>& want, double tol,
                         const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double e = std::abs(double(got[i]) - want[i]) / std::max(1.0, std::abs(want[i]));
    if (!(e <= worst)) {  // also catches NaN
      worst = e;
      at = i;
    }
  }
  EXPECT_LE(worst, tol) << what << ": worst at " << at << " got " << got[at] << " want "
                        << want[at];
}

inline double gelu_erf_ref(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
inline double gelu_tanh_ref(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

}  // namespace seer::kernels::testing
