// MaxPool and AveragePool over NCHW (2-D; 1-D as h = 1), ONNX semantics: explicit pads,
// ceil_mode, dilations (max), count_include_pad (average).
//
//   kernels::PoolParams p{.kind = kernels::PoolParams::Kind::kMax, .n = 1, .c = 64, .h = 112,
//                         .w = 112, .kh = 3, .kw = 3, .stride_h = 2, .stride_w = 2,
//                         .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1};
//   SEER_ASSIGN_OR_RETURN(kernels::Pool pool, kernels::Pool::create(p));   // at load
//   pool.run(x, y);                                                       // y: output_dims()
//
// Hand-written rather than oneDNN's pooling: ONNX's average divisor with ceil_mode windows
// that run past the padded input, and dilated max pooling, are easy to get exactly right here
// and pooling is a small share of any model seer runs. Planes are split over OpenMP threads.
// Plain value; run() is const and reentrant.
#pragma once

#include <vector>

#include "core/status.h"

namespace seer::kernels {

struct PoolParams {
  enum class Kind : uint8_t { kMax, kAverage };
  Kind kind = Kind::kMax;
  int64_t n = 1, c = 0, h = 0, w = 0;
  int64_t kh = 1, kw = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool ceil_mode = false;
  bool count_include_pad = false;
  bool indices_column_major = false;  // MaxPool Indices with storage_order 1: ((n·C + c)·W + w)·H + h
};

class Pool {
 public:
  static StatusOr<Pool> create(const PoolParams& params);
  std::vector<int64_t> output_dims() const { return {p_.n, p_.c, oh_, ow_}; }
  const PoolParams& params() const { return p_; }
  // `indices` (MaxPool only, optional): the argmax of each window as a flat index into x
  // (((n·C + c)·H + h)·W + w), ONNX's Indices output with storage_order 0.
  void run(const float* x, float* y, int64_t* indices = nullptr) const;

 private:
  PoolParams p_;
  int64_t oh_ = 0, ow_ = 0;
};

// One spatial output size, ONNX pooling rules (a ceil_mode window must start inside the input
// or its leading pad).
int64_t pool_output_size(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pad_begin,
                         int64_t pad_end, bool ceil_mode);

}  // namespace seer::kernels
