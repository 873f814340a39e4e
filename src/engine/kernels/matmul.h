// MatMul / Gemm on oneDNN: batched with numpy broadcasting, constant (pre-packed) or dynamic B,
// fused bias, activation and residual, fp32 or bf16.
//
//   kernels::MatMulParams p;
//   p.a_dims = {8, 785, 768};  p.b_dims = {768, 3072};
//   p.b_constant = true;  p.bias_dims = {3072};  p.activation = kernels::Activation::gelu_erf();
//   SEER_ASSIGN_OR_RETURN(kernels::MatMul mm, kernels::MatMul::create(p));       // at load
//   Buffer packed = ...allocate(mm.packed_b_bytes());  SEER_RETURN_IF_ERROR(mm.pack_b(w, packed.data()));
//   // run: nothing allocated by seer; `scratch` holds mm.scratch_bytes() (64-byte aligned)
//   SEER_RETURN_IF_ERROR(mm.run({.a = x, .b = packed.data(), .bias = b, .out = y, .scratch = s}));
//
// out = act(alpha·op(A)·op(B) + bias) + residual, op(X) = Xᵀ (last two dims) when trans_*.
// A, out, bias, residual: fp32, dense row-major. B: fp32 row-major when dynamic, the packed
// blob from pack_b() when constant. bf16: A (and a dynamic B) are converted to bf16 in the
// scratch at run, constant B at pack time; accumulation and output stay fp32.
// When B has no batch (or only 1s) and A is not transposed, A's batch folds into M, so one
// weight-stationary GEMM covers the whole batch.
//
// Thread-safety: create/pack_b at load; run() is const and may be called concurrently from
// several threads as long as each brings its own out/scratch. Moving is cheap; not copyable.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/kernels/kernel_types.h"

namespace seer::kernels {

struct MatMulParams {
  std::vector<int64_t> a_dims;  // [..., M, K] (rank >= 2); [..., K, M] with trans_a
  std::vector<int64_t> b_dims;  // [..., K, N] (rank >= 2); [..., N, K] with trans_b
  bool trans_a = false;
  bool trans_b = false;
  bool b_constant = false;          // B is a weight: pack_b() once at load
  bool b_in_place_ok = false;       // constant fp32 B: prefer reading it as stored (see b_in_place)
  std::vector<int64_t> bias_dims;   // empty = no bias; else broadcastable to the output ({N}, {M, N}, {1})
  bool residual = false;            // add a tensor shaped like the output, after the activation
  float alpha = 1.f;                // constant B: folded into the packed weights
  Activation activation;
  Precision precision = Precision::kF32;
};

class MatMul {
 public:
  // InvalidArgument for inconsistent shapes; Unsupported where oneDNN has no implementation.
  static StatusOr<MatMul> create(const MatMulParams& params);

  MatMul(MatMul&&) noexcept;
  MatMul& operator=(MatMul&&) noexcept;
  ~MatMul();

  const MatMulParams& params() const;
  const std::vector<int64_t>& output_dims() const;  // broadcast batch + [M, N]
  int64_t m() const;
  int64_t n() const;
  int64_t k() const;
  double flops() const;  // 2·batch·M·N·K of one run

  // Bytes of the packed constant B (0 when B is dynamic or used in place).
  size_t packed_b_bytes() const;
  // A constant fp32 B that oneDNN's fast (brgemm) kernels read as stored: run() takes the
  // caller's B itself (e.g. the weight in the mapped model file), pack_b() is not needed.
  bool b_in_place() const;
  // Reorders fp32 B (in params' layout, b_dims) into the packed blob (packed_b_bytes(), 64-byte
  // aligned); multiplies by alpha and converts to bf16 when asked. Call once at load.
  Status pack_b(const float* b, void* packed) const;

  // Bytes of scratch run() needs (oneDNN's scratchpad, the bf16 copies of A and dynamic B).
  size_t scratch_bytes() const;

  struct Args {
    const float* a = nullptr;
    const void* b = nullptr;       // packed blob (constant B) or fp32 B
    const float* bias = nullptr;   // required iff bias_dims is not empty
    const float* residual = nullptr;
    float* out = nullptr;
    void* scratch = nullptr;       // scratch_bytes(), 64-byte aligned
  };
  Status run(const Args& args) const;

  // A stable description of the packed B layout: kernels with equal keys (the same weight
  // planned at several batch sizes) can share one packed blob.
  std::string packed_layout_key() const;
  // The oneDNN implementation chosen ("brg:avx512_core_bf16"), for logs and benchmarks.
  std::string impl_name() const;

 private:
  struct Impl;
  explicit MatMul(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace seer::kernels
