#pragma GCC optimize("fp-contract=fast")
#include "engine/kernels/normalization.h"

#include <cmath>

#include "engine/kernels/vec_math.h"

namespace seer::kernels {

using namespace vec;

namespace {

constexpr int64_t kParallelElems = 1 << 15;  // below this, one thread is faster

SEER_KERNEL_CLONES void layer_norm_row(const float* x, const float* gamma, const float* beta,
                                       float* y, int64_t cols, float eps) {
  vf16 acc{};
  int64_t i = 0;
  for (; i + kLanes <= cols; i += kLanes) acc += load(x + i);
  float sum = hsum(acc);
  for (; i < cols; ++i) sum += x[i];
  const float mean = sum / cols;
  vf16 acc2{};
  const vf16 vm = splat(mean);
  for (i = 0; i + kLanes <= cols; i += kLanes) {
    vf16 d = load(x + i) - vm;
    acc2 += d * d;
  }
  float sq = hsum(acc2);
  for (; i < cols; ++i) sq += (x[i] - mean) * (x[i] - mean);
  const float inv = 1.f / std::sqrt(sq / cols + eps);
  const vf16 vinv = splat(inv);
  for (i = 0; i + kLanes <= cols; i += kLanes) {
    vf16 v = (load(x + i) - vm) * vinv * load(gamma + i);
    if (beta) v += load(beta + i);
    store(y + i, v);
  }
  for (; i < cols; ++i) y[i] = (x[i] - mean) * inv * gamma[i] + (beta ? beta[i] : 0.f);
}

SEER_KERNEL_CLONES void affine_plane(const float* x, float a, float b, float* y, int64_t n) {
  const vf16 va = splat(a), vb = splat(b);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store(y + i, load(x + i) * va + vb);
  for (; i < n; ++i) y[i] = x[i] * a + b;
}

// Contiguous rows (inner == 1).
SEER_KERNEL_CLONES void softmax_row(const float* x, float* y, int64_t n, bool log) {
  vf16 vmx = splat(-INFINITY);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) vmx = vmax(vmx, load(x + i));
  float mx = hmax(vmx);
  for (; i < n; ++i) mx = mx > x[i] ? mx : x[i];
  if (std::isinf(mx) && mx < 0) mx = 0.f;  // an all -inf row: keep NaN-free arithmetic
  const vf16 vm = splat(mx);
  vf16 acc{};
  for (i = 0; i + kLanes <= n; i += kLanes) {
    vf16 e = vexp(load(x + i) - vm);
    if (!log) store(y + i, e);
    acc += e;
  }
  float sum = hsum(acc);
  for (; i < n; ++i) {
    vf16 e = vexp(load_n(x + i, 1, 0.f) - vm);
    if (!log) y[i] = e[0];
    sum += e[0];
  }
  if (log) {
    // (x - max) - log(sum): folding max + log(sum) first would round at the scale of max.
    const vf16 lse = splat(std::log(sum));
    for (i = 0; i + kLanes <= n; i += kLanes) store(y + i, (load(x + i) - vm) - lse);
    for (; i < n; ++i) y[i] = (x[i] - mx) - lse[0];
  } else {
    const vf16 inv = splat(1.f / sum);
    for (i = 0; i + kLanes <= n; i += kLanes) store(y + i, load(y + i) * inv);
    for (; i < n; ++i) y[i] *= inv[0];
  }
}

// One [axis_len, inner] slab, vectorised across `inner`.
SEER_KERNEL_CLONES void softmax_strided(const float* x, float* y, int64_t len, int64_t inner,
                                        bool log) {
  for (int64_t j = 0; j < inner; j += kLanes) {
    const int w = static_cast<int>(inner - j < kLanes ? inner - j : kLanes);
    vf16 mx = splat(-INFINITY);
    for (int64_t a = 0; a < len; ++a) mx = vmax(mx, load_n(x + a * inner + j, w, -INFINITY));
    mx = mx == splat(-INFINITY) ? splat(0.f) : mx;
    vf16 sum{};
    for (int64_t a = 0; a < len; ++a) {
      vf16 e = vexp(load_n(x + a * inner + j, w) - mx);
      if (!log) store_n(y + a * inner + j, e, w);
      sum += e;
    }
    if (log) {
      alignas(64) float s[kLanes];
      store(s, sum);
      for (int l = 0; l < kLanes; ++l) s[l] = std::log(s[l] > 0 ? s[l] : 1.f);
      const vf16 lse = load(s);
      for (int64_t a = 0; a < len; ++a)
        store_n(y + a * inner + j, (load_n(x + a * inner + j, w) - mx) - lse, w);
    } else {
      vf16 inv = 1.f / (sum + (sum == splat(0.f) ? splat(1.f) : splat(0.f)));
      for (int64_t a = 0; a < len; ++a)
        store_n(y + a * inner + j, load_n(y + a * inner + j, w) * inv, w);
    }
  }
}

SEER_KERNEL_CLONES void gelu_range(const float* x, float* y, int64_t n, bool tanh_approx) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    store(y + i, tanh_approx ? vgelu_tanh(load(x + i)) : vgelu_erf(load(x + i)));
  if (i < n) {
    const int w = static_cast<int>(n - i);
    vf16 v = load_n(x + i, w);
    store_n(y + i, tanh_approx ? vgelu_tanh(v) : vgelu_erf(v), w);
  }
}

}  // namespace

void layer_norm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows,
                int64_t cols, float eps) {
#pragma omp parallel for schedule(static) if (rows * cols > kParallelElems)
  for (int64_t r = 0; r < rows; ++r) layer_norm_row(x + r * cols, gamma, beta, y + r * cols, cols, eps);
}

void fold_batch_norm(const float* scale, const float* bias, const float* mean, const float* var,
                     float eps, int64_t channels, float* a, float* b) {
  for (int64_t c = 0; c < channels; ++c) {
    // double keeps the fold itself from adding rounding error
    const double s = double(scale[c]) / std::sqrt(double(var[c]) + double(eps));
    a[c] = static_cast<float>(s);
    b[c] = static_cast<float>(double(bias[c]) - double(mean[c]) * s);
  }
}

void channel_affine(const float* x, const float* a, const float* b, float* y, int64_t n,
                    int64_t channels, int64_t inner) {
  const int64_t planes = n * channels;
#pragma omp parallel for schedule(static) if (planes * inner > kParallelElems)
  for (int64_t p = 0; p < planes; ++p) {
    const int64_t c = p % channels;
    affine_plane(x + p * inner, a[c], b[c], y + p * inner, inner);
  }
}

void softmax(const float* x, float* y, int64_t outer, int64_t axis_len, int64_t inner, bool log) {
  const bool par = outer * axis_len * inner > kParallelElems;
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (par)
    for (int64_t o = 0; o < outer; ++o) softmax_row(x + o * axis_len, y + o * axis_len, axis_len, log);
  } else {
#pragma omp parallel for schedule(static) if (par)
    for (int64_t o = 0; o < outer; ++o)
      softmax_strided(x + o * axis_len * inner, y + o * axis_len * inner, axis_len, inner, log);
  }
}

void gelu(const float* x, float* y, int64_t n, bool tanh_approximation) {
  constexpr int64_t kChunk = 4096;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n > kParallelElems)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = c * kChunk, e = b + kChunk < n ? b + kChunk : n;
    gelu_range(x + b, y + b, e - b, tanh_approximation);
  }
}

}  // namespace seer::kernels
