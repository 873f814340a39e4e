// Normalisation and activation kernels in vectorised C++ (fp32): LayerNormalization,
// BatchNormalization (inference), Softmax / LogSoftmax, GELU.
//
//   kernels::layer_norm(x, gamma, beta, y, rows, cols, 1e-6f);      // beta may be nullptr
//   std::vector<float> a(C), b(C);
//   kernels::fold_batch_norm(scale, bias, mean, var, 1e-5f, C, a.data(), b.data());  // at load
//   kernels::channel_affine(x, a.data(), b.data(), y, N, C, H * W);                  // at run
//   kernels::softmax(x, y, outer, axis_len, inner, /*log=*/false);
//   kernels::gelu(x, y, n, /*tanh_approximation=*/false);
//
// Row-major tensors; `y` may equal `x` (in place) for every function here. Work is split over
// the OpenMP threads when large enough. Stateless and reentrant; nothing is allocated.
// Numerics: statistics are accumulated in fp32 over 16 lanes (two-pass mean/variance, no
// E[x²]-E[x]² cancellation); softmax subtracts the row max.
#pragma once

#include <cstdint>

namespace seer::kernels {

// y[r, :] = (x[r, :] - mean) / sqrt(var + eps) * gamma + beta over the last `cols` elements.
void layer_norm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows,
                int64_t cols, float eps);

// Inference BatchNormalization folded into a per-channel affine: a = scale / sqrt(var + eps),
// b = bias - mean * a.
void fold_batch_norm(const float* scale, const float* bias, const float* mean, const float* var,
                     float eps, int64_t channels, float* a, float* b);
// y[n, c, i] = x[n, c, i] * a[c] + b[c] for an [n, channels, inner] tensor.
void channel_affine(const float* x, const float* a, const float* b, float* y, int64_t n,
                    int64_t channels, int64_t inner);

// Softmax (or LogSoftmax) over the middle axis of an [outer, axis_len, inner] view (ONNX
// opset 13 semantics: one axis).
void softmax(const float* x, float* y, int64_t outer, int64_t axis_len, int64_t inner, bool log);

// GELU: 0.5·x·(1 + erf(x/√2)), or the tanh approximation.
void gelu(const float* x, float* y, int64_t n, bool tanh_approximation);

}  // namespace seer::kernels
