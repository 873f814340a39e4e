// Small vocabulary shared by seer's compute kernels (src/engine/kernels/).
//
//   kernels::MatMulParams p;
//   p.precision = kernels::Precision::kBF16;
//   p.activation = kernels::Activation::gelu_tanh();
//
// Kernels know nothing of graphs or tensors: they take plain shape structs at load (create /
// prepare, which may allocate and may fail with a Status) and raw pointers at run (which never
// allocates seer memory and never fails on valid pointers). Plain values; thread-safe to copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace seer::kernels {

// fp32: everything fp32 (matches ONNX Runtime). bf16: weights and GEMM/conv inputs in bf16,
// fp32 accumulation and fp32 outputs (oneDNN uses AVX512_BF16 where the CPU has it).
enum class Precision : uint8_t { kF32, kBF16 };
std::string_view to_string(Precision p);

// The GEMM/conv backend this process packs weights for: oneDNN's version and build hash and
// the CPU ISA it dispatches to ("oneDNN 2.6.3 <hash> isa 0x..."); keys cached packed weights.
std::string backend_identity();

// An elementwise epilogue applied to a GEMM/conv result (a oneDNN eltwise post-op).
struct Activation {
  enum class Kind : uint8_t { kNone, kRelu, kGeluErf, kGeluTanh, kClip, kSigmoid, kHardSwish };
  Kind kind = Kind::kNone;
  float alpha = 0.f;  // kClip: min
  float beta = 0.f;   // kClip: max

  static Activation none() { return {}; }
  static Activation relu() { return {Kind::kRelu}; }
  static Activation gelu_erf() { return {Kind::kGeluErf}; }
  static Activation gelu_tanh() { return {Kind::kGeluTanh}; }
  static Activation clip(float lo, float hi) { return {Kind::kClip, lo, hi}; }
  static Activation sigmoid() { return {Kind::kSigmoid}; }
  static Activation hard_swish() { return {Kind::kHardSwish}; }
  bool active() const { return kind != Kind::kNone; }
};
std::string_view to_string(Activation::Kind k);

// Bytes rounded up to the 64-byte alignment every scratch region keeps.
constexpr size_t align64(size_t bytes) { return (bytes + 63) & ~size_t{63}; }

inline int64_t product(const std::vector<int64_t>& dims, size_t from = 0, size_t to = SIZE_MAX) {
  int64_t p = 1;
  for (size_t i = from; i < dims.size() && i < to; ++i) p *= dims[i];
  return p;
}

}  // namespace seer::kernels
