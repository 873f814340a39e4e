// MatMul (ai.onnx), Gemm (ai.onnx) and seer.FusedMatMul (engine/fused_ops.h) on the oneDNN
// MatMul kernel (engine/kernels/matmul.h). A constant B is packed once per model (shared by every
// batch size whose oneDNN layout agrees); a dynamic B (attention's Q·Kᵀ, node tests) is read in
// place. In bf16 models every MatMul takes bf16 inputs with fp32 accumulation.
#include <cstring>

#include "engine/fused_ops.h"
#include "engine/kernels/matmul.h"
#include "engine/op.h"
#include "engine/ops/broadcast.h"
#include "engine/ops/op_util.h"

namespace seer::engine {
namespace {

using kernels::Activation;
using kernels::MatMul;
using kernels::MatMulParams;

std::vector<int64_t> promoted(const Shape& s, bool is_a) {
  std::vector<int64_t> d = s.to_vector();
  if (d.size() == 1) {
    if (is_a) d.insert(d.begin(), 1);  // [K] -> [1, K]
    else d.push_back(1);               // [K] -> [K, 1]
  }
  return d;
}

// A bias's dims for the kernel: a scalar becomes {1}.
std::vector<int64_t> bias_dims_of(const Shape& s) {
  std::vector<int64_t> d(s.begin(), s.end());
  if (d.empty()) d.push_back(1);
  return d;
}

Status check_float_inputs(const NodeContext& c, int n) {
  for (int i = 0; i < n; ++i)
    if (c.has_input(i) && c.input_dtype(i) != DataType::kFloat32)
      return c.unsupported("input {} has dtype {} (only float32)", i, to_string(c.input_dtype(i)));
  return Status();
}

// ONNX MatMul output shape (numpy matmul: 1-D operands promoted, then their added dim dropped).
StatusOr<Shape> matmul_shape(const NodeContext& c) {
  const Shape& a = c.input_shape(0);
  const Shape& b = c.input_shape(1);
  if (a.rank() < 1 || b.rank() < 1) return c.error("MatMul of a scalar");
  auto ad = promoted(a, true), bd = promoted(b, false);
  if (ad.back() != bd[bd.size() - 2])
    return c.error("inner dimensions differ: {} vs {}", a.to_string(), b.to_string());
  const size_t rank = std::max(ad.size(), bd.size());
  ad.insert(ad.begin(), rank - ad.size(), 1);
  bd.insert(bd.begin(), rank - bd.size(), 1);
  Shape out;
  for (size_t i = 0; i + 2 < rank; ++i) {
    if (ad[i] != bd[i] && ad[i] != 1 && bd[i] != 1)
      return c.error("batch dimensions do not broadcast: {} vs {}", a.to_string(), b.to_string());
    out.push_back(std::max(ad[i], bd[i]));
  }
  if (a.rank() > 1) out.push_back(ad[rank - 2]);
  if (b.rank() > 1) out.push_back(bd[rank - 1]);
  return out;
}

// FusedMatMul's residual input (index 3): a oneDNN binary-add post-op when it has the output's
// shape, else (a broadcast residual, rare) added after the GEMM from a scratch copy of A·B.
struct Residual {
  enum class Mode : uint8_t { kNone, kPostOp, kBroadcast } mode = Mode::kNone;
  ops::Broadcast bc;         // kBroadcast: out = mm (scratch) + residual
  size_t mm_bytes = 0;       // kBroadcast: bytes of the GEMM result in scratch
};

class MatMulKernel final : public OpKernel {
 public:
  MatMulKernel(MatMul mm, const void* packed_b, bool has_bias, int c_input, float beta,
               Residual residual = {})
      : mm_(std::move(mm)), packed_b_(packed_b), has_bias_(has_bias), c_input_(c_input), beta_(beta),
        residual_(residual) {}

  Status run(RunContext& ctx) const override {
    MatMul::Args a;
    a.a = ctx.input(0).data<float>();
    a.b = packed_b_ ? packed_b_ : ctx.input(1).raw();
    a.bias = has_bias_ ? ctx.input(2).data<float>() : nullptr;
    a.out = ctx.output(0).data<float>();
    a.scratch = ctx.scratch();
    if (residual_.mode == Residual::Mode::kPostOp) a.residual = ctx.input(3).data<float>();
    float* broadcast_mm = nullptr;
    if (residual_.mode == Residual::Mode::kBroadcast) {  // GEMM result first, then the add
      broadcast_mm = static_cast<float*>(ctx.scratch());
      a.out = broadcast_mm;
      a.scratch = static_cast<uint8_t*>(ctx.scratch()) + kernels::align64(residual_.mm_bytes);
    }
    SEER_RETURN_IF_ERROR(mm_.run(a));
    if (c_input_ >= 0) add_scaled_c(ctx.input(c_input_), a.out);
    if (broadcast_mm) {
      const float* r = ctx.input(3).data<float>();
      float* y = ctx.output(0).data<float>();
      residual_.bc.for_each_row([&](int64_t o, const int64_t* off, int64_t n, const int64_t* st) {
        for (int64_t i = 0; i < n; ++i) y[o + i] = broadcast_mm[off[0] + i * st[0]] + r[off[1] + i * st[1]];
      });
    }
    return Status();
  }

 private:
  // Gemm's beta·C where the kernel's bias cannot take it (dynamic C with beta != 1).
  void add_scaled_c(const Tensor& c, float* out) const {
    const int64_t m = mm_.m(), n = mm_.n();
    int64_t cm = 1, cn = 1;
    if (c.rank() == 2) {
      cm = c.shape[0];
      cn = c.shape[1];
    } else if (c.rank() == 1) {
      cn = c.shape[0];
    }
    const float* cp = c.data<float>();
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        out[i * n + j] += beta_ * cp[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
  }

  MatMul mm_;
  const void* packed_b_;
  bool has_bias_;
  int c_input_;  // Gemm's C handled after the kernel, or -1
  float beta_;
  Residual residual_;
};

// Builds the kernel; packs a constant B through the model's packed-weight store.
StatusOr<std::unique_ptr<OpKernel>> make_kernel(PrepareContext& c, MatMulParams p, bool has_bias,
                                                int c_input, float beta, Residual residual = {}) {
  p.precision = c.precision();
  p.residual = residual.mode == Residual::Mode::kPostOp;
  const Tensor* b = c.constant_input(1);
  p.b_constant = b != nullptr;
  p.b_in_place_ok = c.weights_in_place();
  auto mm = MatMul::create(p);
  if (!mm.ok()) return mm.status().with_context(c.node().describe());
  const void* packed = nullptr;
  if (b && mm->b_in_place()) {
    packed = b->raw();
  } else if (b) {
    const MatMul& k = *mm;
    SEER_ASSIGN_OR_RETURN(packed,
                          c.packed_weight("B:" + k.packed_layout_key(), k.packed_b_bytes(),
                                          [&](void* dst) { return k.pack_b(b->data<float>(), dst); }, 1));
  }
  if (residual.mode == Residual::Mode::kBroadcast) c.request_scratch(residual.mm_bytes);
  c.request_scratch(mm->scratch_bytes());
  return std::unique_ptr<OpKernel>(
      new MatMulKernel(std::move(mm).value(), packed, has_bias, c_input, beta, residual));
}

Status infer_matmul(InferContext& c) {
  SEER_RETURN_IF_ERROR(check_float_inputs(c, 2));
  SEER_ASSIGN_OR_RETURN(Shape out, matmul_shape(c));
  c.set_output(0, DataType::kFloat32, out);
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create_matmul(PrepareContext& c, Activation act, bool bias,
                                                  bool residual = false) {
  MatMulParams p;
  p.a_dims = promoted(c.input_shape(0), true);
  p.b_dims = promoted(c.input_shape(1), false);
  p.activation = act;
  if (bias) {
    p.bias_dims = bias_dims_of(c.input_shape(2));
    // The kernel sees the promoted output; a bias written for a 1-D operand's output needs the
    // dropped dim back, which only matters when that bias has rank >= 2 (rare): refuse then.
    if ((c.input_shape(0).rank() == 1 || c.input_shape(1).rank() == 1) && p.bias_dims.size() > 1)
      return c.unsupported("a bias of rank {} with a 1-D operand", p.bias_dims.size());
  }
  Residual res;
  if (residual) {
    SEER_ASSIGN_OR_RETURN(Shape mm_out, matmul_shape(c));
    if (c.input_shape(3) == mm_out && mm_out == c.output_shape(0)) {
      res.mode = Residual::Mode::kPostOp;
    } else {
      res.mode = Residual::Mode::kBroadcast;
      res.bc = ops::Broadcast::plan(c.output_shape(0), {mm_out, c.input_shape(3)});
      res.mm_bytes = static_cast<size_t>(mm_out.numel()) * sizeof(float);
    }
  }
  return make_kernel(c, p, bias, -1, 1.f, res);
}

StatusOr<Activation> parse_activation(const NodeContext& c) {
  const std::string a = c.node().attr_string("activation", "");
  if (a.empty()) return Activation::none();
  if (a == "relu") return Activation::relu();
  if (a == "gelu_erf") return Activation::gelu_erf();
  if (a == "gelu_tanh") return Activation::gelu_tanh();
  if (a == "sigmoid") return Activation::sigmoid();
  return c.unsupported("activation '{}'", a);
}

Status infer_gemm(InferContext& c) {
  SEER_RETURN_IF_ERROR(check_float_inputs(c, 3));
  const Shape& a = c.input_shape(0);
  const Shape& b = c.input_shape(1);
  if (a.rank() != 2 || b.rank() != 2) return c.error("Gemm needs 2-D A and B");
  const bool ta = c.node().attr_int("transA", 0) != 0, tb = c.node().attr_int("transB", 0) != 0;
  const int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
  const int64_t kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
  if (k != kb) return c.error("inner dimensions differ: {} vs {}", k, kb);
  if (c.has_input(2)) {
    const Shape& cs = c.input_shape(2);
    if (cs.rank() > 2) return c.error("C of rank {}", cs.rank());
    const int64_t cm = cs.rank() == 2 ? cs[0] : 1, cn = cs.rank() >= 1 ? cs.dim(-1) : 1;
    if ((cm != 1 && cm != m) || (cn != 1 && cn != n))
      return c.error("C {} does not broadcast to [{},{}]", cs.to_string(), m, n);
  }
  c.set_output(0, DataType::kFloat32, Shape{m, n});
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create_gemm(PrepareContext& c) {
  MatMulParams p;
  p.a_dims = c.input_shape(0).to_vector();
  p.b_dims = c.input_shape(1).to_vector();
  p.trans_a = c.node().attr_int("transA", 0) != 0;
  p.trans_b = c.node().attr_int("transB", 0) != 0;
  p.alpha = c.node().attr_float("alpha", 1.f);
  const float beta = c.node().attr_float("beta", 1.f);
  const bool has_c = c.has_input(2) && beta != 0.f;
  // beta == 1: C is the kernel's bias (constant or not); otherwise added after the GEMM.
  const bool c_as_bias = has_c && beta == 1.f;
  if (c_as_bias) p.bias_dims = bias_dims_of(c.input_shape(2));
  return make_kernel(c, p, c_as_bias, has_c && !c_as_bias ? 2 : -1, beta);
}

}  // namespace

SEER_REGISTER_OPS(matmul) {
  registry.add({.name = "MatMul",
                .domain = "",
                .min_opset = 1,
                .attributes = {},
                .infer = infer_matmul,
                .create = [](PrepareContext& c) { return create_matmul(c, Activation::none(), false); }});
  registry.add({.name = "Gemm",
                .domain = "",
                .min_opset = 1,
                .attributes = {"alpha", "beta", "transA", "transB", "broadcast"},
                .infer = infer_gemm,
                .create = create_gemm});
  registry.add({.name = "FusedMatMul",
                .domain = kSeerDomain,
                .min_opset = 1,
                .attributes = {"activation"},
                .infer =
                    [](InferContext& c) -> Status {
                      SEER_RETURN_IF_ERROR(parse_activation(c).status());
                      SEER_RETURN_IF_ERROR(check_float_inputs(c, 4));
                      SEER_ASSIGN_OR_RETURN(Shape out, matmul_shape(c));
                      if (c.has_input(3)) {  // residual: out = act(A·B + bias) + R, broadcast
                        SEER_ASSIGN_OR_RETURN(out, ops::broadcast_shapes(c, out, c.input_shape(3)));
                      }
                      c.set_output(0, DataType::kFloat32, out);
                      return Status();
                    },
                .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  SEER_ASSIGN_OR_RETURN(Activation act, parse_activation(c));
                  return create_matmul(c, act, c.has_input(2), c.has_input(3));
                }});
}

}  // namespace seer::engine
