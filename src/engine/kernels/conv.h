// 2-D convolution and transposed convolution on oneDNN, NCHW in and out, fp32 or bf16.
//
//   kernels::ConvParams p;
//   p.n = 1; p.c_in = 64; p.h = 56; p.w = 56; p.c_out = 64; p.kh = p.kw = 3;
//   p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;  p.has_bias = true;
//   SEER_ASSIGN_OR_RETURN(kernels::Conv conv, kernels::Conv::create(p));           // at load
//   SEER_RETURN_IF_ERROR(conv.pack_weights(onnx_w, packed));  // conv.packed_weights_bytes()
//   SEER_RETURN_IF_ERROR(conv.run({.src = x, .weights = packed, .bias = b, .dst = y, .scratch = s}));
//
// Layout choice: graph tensors stay NCHW (what ONNX means), but oneDNN 2.6 is 2-3x faster on
// NHWC activations (brgconv / brdgmm_dw kernels) than on NCHW (which falls back to im2col+GEMM).
// So run() reorders src NCHW -> NHWC (converting to bf16 on the way when asked) into scratch,
// convolves NHWC -> NHWC, and reorders the result back into dst. The reorders are linear-time
// and cost a few % of a 3x3 conv; they are skipped when the layouts coincide (C == 1 or H·W == 1).
// Weights use the blocked format oneDNN picks for that NHWC primitive, packed once at load.
// pack_weights takes ONNX layouts: Conv [C_out, C_in/G, kh, kw]; ConvTranspose
// [C_in, C_out/G, kh, kw].
//
// Thread-safety: create/pack at load; run() is const and reentrant given distinct dst/scratch.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/kernels/kernel_types.h"

namespace seer::kernels {

struct ConvParams {
  int64_t n = 1, c_in = 0, h = 0, w = 0;  // src [n, c_in, h, w]
  int64_t c_out = 0, kh = 1, kw = 1, groups = 1;
  int64_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool transposed = false;                      // ConvTranspose
  int64_t output_pad_h = 0, output_pad_w = 0;   // ConvTranspose only
  bool has_bias = false;                        // bias [c_out], fp32
  Activation activation;
  Precision precision = Precision::kF32;
};

class Conv {
 public:
  static StatusOr<Conv> create(const ConvParams& params);
  Conv(Conv&&) noexcept;
  Conv& operator=(Conv&&) noexcept;
  ~Conv();

  const ConvParams& params() const;
  std::vector<int64_t> output_dims() const;  // [n, c_out, oh, ow]
  double flops() const;

  size_t packed_weights_bytes() const;
  // fp32 weights in the ONNX layout -> packed blob (packed_weights_bytes(), 64-byte aligned).
  Status pack_weights(const float* weights, void* packed) const;
  // Bytes of scratch run() needs (NHWC copies of src and dst, oneDNN's scratchpads).
  size_t scratch_bytes() const;

  struct Args {
    const float* src = nullptr;
    const void* weights = nullptr;  // packed blob
    const float* bias = nullptr;
    float* dst = nullptr;
    void* scratch = nullptr;
  };
  Status run(const Args& args) const;
  // A stable description of the packed weight layout: two kernels with equal keys can share
  // one packed blob (e.g. the same conv planned at several batch sizes).
  std::string packed_layout_key() const;
  std::string impl_name() const;

 private:
  struct Impl;
  explicit Conv(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Output size of one spatial dimension (floor), ONNX Conv semantics.
inline int64_t conv_output_size(int64_t in, int64_t k, int64_t stride, int64_t dilation,
                                int64_t pad_begin, int64_t pad_end) {
  return (in + pad_begin + pad_end - ((k - 1) * dilation + 1)) / stride + 1;
}

}  // namespace seer::kernels
