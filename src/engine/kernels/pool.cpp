#include "engine/kernels/pool.h"

#include <algorithm>
#include <limits>

namespace seer::kernels {

int64_t pool_output_size(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pad_begin,
                         int64_t pad_end, bool ceil_mode) {
  const int64_t span = in + pad_begin + pad_end - ((k - 1) * dilation + 1);
  if (span < 0) return 0;
  int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
  return out;
}

StatusOr<Pool> Pool::create(const PoolParams& p) {
  if (p.kh < 1 || p.kw < 1 || p.stride_h < 1 || p.stride_w < 1 || p.dilation_h < 1 || p.dilation_w < 1)
    return Status::invalid_argument("Pool: kernel, strides and dilations must be >= 1");
  if (p.pad_top >= (p.kh - 1) * p.dilation_h + 1 + p.h || p.pad_left >= (p.kw - 1) * p.dilation_w + 1 + p.w)
    return Status::invalid_argument("Pool: padding larger than the window");
  Pool pool;
  pool.p_ = p;
  pool.oh_ = pool_output_size(p.h, p.kh, p.stride_h, p.dilation_h, p.pad_top, p.pad_bottom, p.ceil_mode);
  pool.ow_ = pool_output_size(p.w, p.kw, p.stride_w, p.dilation_w, p.pad_left, p.pad_right, p.ceil_mode);
  if (pool.oh_ <= 0 || pool.ow_ <= 0)
    return Status::invalid_argument("Pool: empty output for a {}x{} input", p.h, p.w);
  return pool;
}

void Pool::run(const float* x, float* y, int64_t* indices) const {
  const PoolParams& p = p_;
  const int64_t planes = p.n * p.c, oh = oh_, ow = ow_;
  const bool is_max = p.kind == PoolParams::Kind::kMax;
#pragma omp parallel for schedule(static) if (planes * oh * ow > 16384)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const float* xp = x + plane * p.h * p.w;
    float* yp = y + plane * oh * ow;
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t h0 = i * p.stride_h - p.pad_top;
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t w0 = j * p.stride_w - p.pad_left;
        if (is_max) {
          float m = -std::numeric_limits<float>::infinity();
          int64_t at = -1;
          for (int64_t u = 0; u < p.kh; ++u) {
            const int64_t hi = h0 + u * p.dilation_h;
            if (hi < 0 || hi >= p.h) continue;
            for (int64_t v = 0; v < p.kw; ++v) {
              const int64_t wi = w0 + v * p.dilation_w;
              if (wi < 0 || wi >= p.w) continue;
              const float e = xp[hi * p.w + wi];
              if (e > m || (e != e && m == m) || at < 0) {  // NaN propagates as in ONNX Runtime
                m = e;
                at = hi * p.w + wi;
              }
            }
          }
          yp[i * ow + j] = m;
          if (indices) {
            const int64_t local = p.indices_column_major ? (at % p.w) * p.h + at / p.w : at;
            indices[plane * oh * ow + i * ow + j] = plane * p.h * p.w + local;
          }
        } else {
          // ONNX Runtime's divisor: the window clipped to the padded input (include_pad) or to
          // the input itself (exclude).
          const int64_t hend_pad = std::min(h0 + p.kh, p.h + p.pad_bottom);
          const int64_t wend_pad = std::min(w0 + p.kw, p.w + p.pad_right);
          const int64_t hs = std::max<int64_t>(h0, 0), ws = std::max<int64_t>(w0, 0);
          const int64_t he = std::min(h0 + p.kh, p.h), we = std::min(w0 + p.kw, p.w);
          float s = 0.f;
          for (int64_t hi = hs; hi < he; ++hi)
            for (int64_t wi = ws; wi < we; ++wi) s += xp[hi * p.w + wi];
          const int64_t count = p.count_include_pad ? (hend_pad - h0) * (wend_pad - w0)
                                                    : (he - hs) * (we - ws);
          yp[i * ow + j] = count > 0 ? s / static_cast<float>(count) : 0.f;
        }
      }
    }
  }
}

}  // namespace seer::kernels
