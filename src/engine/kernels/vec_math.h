// Portable 16-lane float vectors (GCC vector extensions) and the vector math seer's hand-written
// kernels share: exp, erf, tanh, GELU, bf16 rounding. Internal to src/engine/kernels/.
//
//   SEER_KERNEL_CLONES void my_loop(float* y, const float* x, int64_t n) {
//     for (int64_t i = 0; i + 16 <= n; i += 16) store(y + i, vexp(load(x + i)));
//   }
//
// Hot loops are compiled three times by SEER_KERNEL_CLONES (x86-64-v4 = AVX-512, x86-64-v3 =
// AVX2+FMA, baseline) and the loader picks one per CPU (GNU ifunc), so the binary runs on AVX2-only
// machines. A vf16 is one zmm register on AVX-512 and two ymm on AVX2. The helpers below are
// always_inline so that each clone gets its own instruction set. Accuracy: vexp ≤ 2 ulp,
// verf ≤ 2e-7 absolute, vtanh ≤ 3e-7 absolute.
#pragma once

#pragma GCC diagnostic ignored "-Wpsabi"  // vf16 never crosses a non-inline call boundary

#include <cstdint>
#include <cstring>

// -DSEER_AVX2_CLONES_ONLY (measurements only) drops the AVX-512 clone, so an AVX-512 machine runs
// the AVX2 code a CPU without AVX-512 would. Known there: GCC 12 lowers 64-byte generic vectors'
// compares/selects (vmin, vmax, vexp's clamps) to scalar code and unaligned 64-byte stores through
// the stack, so these kernels run several times slower on AVX2 than two ymm would allow.
#ifdef SEER_AVX2_CLONES_ONLY
#define SEER_KERNEL_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SEER_KERNEL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#define SEER_INLINE inline __attribute__((always_inline))

namespace seer::kernels::vec {

typedef float vf16 __attribute__((vector_size(64)));
typedef int32_t vi16 __attribute__((vector_size(64)));
constexpr int kLanes = 16;

SEER_INLINE vf16 load(const float* p) {
  vf16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
SEER_INLINE void store(float* p, vf16 v) { std::memcpy(p, &v, sizeof v); }
SEER_INLINE vf16 splat(float x) {
  const vf16 v = {x};  // lane 0, then a broadcast shuffle: one vbroadcastss
  return __builtin_shufflevector(v, v, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}
// Partial load/store of the first n (< 16) lanes; the others read as `fill`.
SEER_INLINE vf16 load_n(const float* p, int n, float fill = 0.f) {
  alignas(64) float t[kLanes];
  for (int i = 0; i < kLanes; ++i) t[i] = i < n ? p[i] : fill;
  return load(t);
}
SEER_INLINE void store_n(float* p, vf16 v, int n) {
  alignas(64) float t[kLanes];
  store(t, v);
  for (int i = 0; i < n; ++i) p[i] = t[i];
}
SEER_INLINE vf16 vmax(vf16 a, vf16 b) { return a > b ? a : b; }
SEER_INLINE vf16 vmin(vf16 a, vf16 b) { return a < b ? a : b; }
SEER_INLINE vf16 vabs(vf16 a) {
  vi16 bits = (vi16)a & 0x7fffffff;  // vector casts reinterpret bits
  return (vf16)bits;
}
// Horizontal sum / max as a 4-step shuffle tree (a scalar loop would be a 16-long dependency
// chain through memory, which dominated the attention kernel's softmax bookkeeping).
SEER_INLINE float hsum(vf16 v) {
  v += __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  v += __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
  v += __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  v += __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
  return v[0];
}
SEER_INLINE float hmax(vf16 v) {
  v = vmax(v, __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  v = vmax(v, __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11));
  v = vmax(v, __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
  v = vmax(v, __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14));
  return v[0];
}

// e^x. Cody-Waite range reduction x = n·ln2 + r, a degree-6 polynomial for e^r, 2^n through the
// exponent bits. Inputs below -87.33 (including -inf from masks) give exactly 0.
SEER_INLINE vf16 vexp(vf16 x) {
  const vf16 orig = x;
  x = vmin(vmax(x, splat(-87.33f)), splat(88.37f));
  const vf16 magic = splat(12582912.f);  // 1.5·2^23: adding it rounds to an integer
  vf16 t = x * 1.44269504088896341f + magic;
  vi16 n = (vi16)t - (vi16)magic;
  t = t - magic;
  vf16 r = x - t * 0.693145751953125f;
  r = r - t * 1.428606765330187e-06f;
  vf16 p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.f;
  vi16 e = (n + 127) << 23;
  vf16 scale = (vf16)e;
  vf16 y = p * scale;
  return orig < splat(-87.33f) ? splat(0.f) : y;
}

// erf(x), Abramowitz & Stegun 7.1.26 refined (max abs error ~1.5e-7).
SEER_INLINE vf16 verf(vf16 x) {
  vf16 ax = vabs(x);
  vf16 t = 1.f / (1.f + 0.3275911f * ax);
  vf16 p = splat(1.061405429f);
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  p = p * t;
  vf16 y = 1.f - p * vexp(-ax * ax);
  return x < splat(0.f) ? -y : y;
}

// tanh(x) = sign(x)·(1 - 2/(e^{2|x|} + 1)); small |x| by its odd Taylor polynomial to keep the
// relative error small too.
SEER_INLINE vf16 vtanh(vf16 x) {
  vf16 ax = vabs(x);
  vf16 big = 1.f - 2.f / (vexp(2.f * ax) + 1.f);
  vf16 x2 = x * x;
  vf16 small = ax * (1.f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * (-0.0539682540f))));
  vf16 y = ax < splat(0.0625f) ? small : big;
  return x < splat(0.f) ? -y : y;
}

SEER_INLINE vf16 vgelu_erf(vf16 x) { return 0.5f * x * (1.f + verf(x * 0.70710678118654752f)); }
SEER_INLINE vf16 vgelu_tanh(vf16 x) {
  return 0.5f * x * (1.f + vtanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
}

}  // namespace seer::kernels::vec
