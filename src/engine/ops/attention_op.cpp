// seer.Attention (engine/fused_ops.h): O = softmax(scale·Q·Kᵀ + bias)·V over [B, H, S, D],
// created by the fusion pass from MatMul -> (Mul|Div scale) -> (Add bias) -> Softmax -> MatMul.
// Attributes q_layout / k_layout / v_layout / out_layout ("bhsd" default, or "bshd") say where
// the pass absorbed the head Transposes of HF-style exports: the kernel then reads or writes
// [B, S, H, D] through strides and no Transpose copy runs.
// Runs the flash-style kernel (engine/kernels/attention.h): the Sq×Sk scores never exist in full.
// Also seer.QkvAttention, the same kernel reading Q, K, V straight out of a [B, S, 3, H, D]
// projection and writing [B, S, H, D] (passes/fuse_kernels.h: fuse_qkv_attention).
#include "engine/fused_ops.h"
#include "engine/kernels/attention.h"
#include "engine/op.h"

namespace seer::engine {
namespace {

using kernels::Attention;
using kernels::AttentionParams;

class AttentionKernel final : public OpKernel {
 public:
  AttentionKernel(Attention att, bool has_bias) : att_(std::move(att)), has_bias_(has_bias) {}
  Status run(RunContext& ctx) const override {
    Attention::Args a;
    a.q = ctx.input(0).data<float>();
    a.k = ctx.input(1).data<float>();
    a.v = ctx.input(2).data<float>();
    a.bias[0] = has_bias_ ? ctx.input(3).data<float>() : nullptr;
    a.out = ctx.output(0).data<float>();
    a.scratch = ctx.scratch();
    att_.run(a);
    return Status();
  }

 private:
  Attention att_;
  bool has_bias_;
};

// An operand's layout attribute (q_layout, k_layout, v_layout, out_layout): "bhsd" (the default:
// [B, H, S, D], or [B·H, S, D] at rank 3) or "bshd" ([B, S, H, D]: heads still interleaved as
// the projection wrote them, rank 4 only). The fusion pass sets "bshd" where it absorbed a
// Transpose(perm [0,2,1,3]) (for K: a Transpose(perm [0,2,3,1]) that gave Kᵀ).
StatusOr<bool> interleaved(const NodeContext& c, const char* attr) {
  const std::string layout = c.node().attr_string(attr, "bhsd");
  if (layout == "bhsd") return false;
  if (layout == "bshd") return true;
  return c.unsupported("{} '{}' (only bhsd or bshd)", attr, layout);
}

// One operand's logical [B, H, S, D] and the element strides of B, H, S in its buffer.
struct Operand {
  int64_t dims[4];
  AttentionParams::Strides strides;
};

Operand operand(const Shape& s, bool bshd) {
  Operand o;
  if (bshd) {  // [B, S, H, D]
    o.dims[0] = s[0], o.dims[1] = s[2], o.dims[2] = s[1], o.dims[3] = s[3];
    o.strides = {s[1] * s[2] * s[3], s[3], s[2] * s[3]};
  } else {  // [B, H, S, D] or [B·H, S, D]
    const int off = s.rank() == 3 ? 1 : 0;
    o.dims[0] = off ? 1 : s[0], o.dims[1] = s[1 - off], o.dims[2] = s[2 - off], o.dims[3] = s[3 - off];
    o.strides = {o.dims[1] * o.dims[2] * o.dims[3], o.dims[2] * o.dims[3], o.dims[3]};
  }
  return o;
}

StatusOr<AttentionParams> read_params(const NodeContext& c) {
  for (int i = 0; i < 4; ++i)
    if (c.has_input(i) && c.input_dtype(i) != DataType::kFloat32)
      return c.unsupported("input {} has dtype {} (only float32)", i, to_string(c.input_dtype(i)));
  bool bshd[3];
  const char* attrs[3] = {"q_layout", "k_layout", "v_layout"};
  for (int i = 0; i < 3; ++i) {
    SEER_ASSIGN_OR_RETURN(bshd[i], interleaved(c, attrs[i]));
  }
  SEER_ASSIGN_OR_RETURN(const bool out_bshd, interleaved(c, "out_layout"));
  // Rank 4 [B, H, S, D] (or [B, S, H, D] per layout), or rank 3 [B·H, S, D] (exports that merge
  // batch and heads; dense only).
  const int rank = c.input_shape(0).rank();
  if ((rank != 3 && rank != 4) || c.input_shape(1).rank() != rank || c.input_shape(2).rank() != rank)
    return c.error("Q, K, V must all be [B, H, S, D] or [B·H, S, D]");
  if (rank == 3 && (bshd[0] || bshd[1] || bshd[2] || out_bshd))
    return c.error("layout bshd needs rank-4 operands");
  const Operand q = operand(c.input_shape(0), bshd[0]), k = operand(c.input_shape(1), bshd[1]),
                v = operand(c.input_shape(2), bshd[2]);
  if (k.dims[0] != q.dims[0] || v.dims[0] != q.dims[0] || k.dims[1] != q.dims[1] || v.dims[1] != q.dims[1] ||
      k.dims[3] != q.dims[3] || v.dims[2] != k.dims[2])
    return c.error("Q {} K {} V {} do not agree", c.input_shape(0).to_string(), c.input_shape(1).to_string(),
                   c.input_shape(2).to_string());
  AttentionParams p;
  p.batch = q.dims[0];
  p.heads = q.dims[1];
  p.q_len = q.dims[2];
  p.kv_len = k.dims[2];
  p.head_dim = q.dims[3];
  p.v_dim = v.dims[3];
  p.scale = c.node().attr_float("scale", 1.f);
  p.q = q.strides;
  p.k = k.strides;
  p.v = v.strides;
  p.out = out_bshd ? AttentionParams::Strides{p.q_len * p.heads * p.v_dim, p.v_dim, p.heads * p.v_dim}
                   : AttentionParams::Strides{p.heads * p.q_len * p.v_dim, p.q_len * p.v_dim, p.v_dim};
  if (c.has_input(3)) {
    const Shape& b = c.input_shape(3);
    if (b.rank() > 4) return c.error("bias rank {} above 4", b.rank());
    const int64_t full[4] = {p.batch, p.heads, p.q_len, p.kv_len};
    for (int i = 0; i < b.rank(); ++i)
      if (b[i] != 1 && b[i] != full[4 - b.rank() + i]) return c.error("bias {} does not broadcast", b.to_string());
    p.num_biases = 1;
    p.bias[0] = AttentionParams::dense_bias(b.begin(), b.rank());
  }
  return p;
}

// The output's shape: [B, H, Sq, Dv] ([B·H, Sq, Dv] for rank-3 operands) or, with out_layout
// bshd, [B, Sq, H, Dv].
Shape output_shape(const NodeContext& c, const AttentionParams& p) {
  if (c.node().attr_string("out_layout", "bhsd") == "bshd") return Shape{p.batch, p.q_len, p.heads, p.v_dim};
  Shape out{p.batch, p.heads, p.q_len, p.v_dim};
  if (c.input_shape(0).rank() == 3) out.erase(0);
  return out;
}

// seer.QkvAttention(X [B, S, 3, H, D]) -> [B, S, H, D]: Q, K, V read strided out of X, heads
// written interleaved (what Transpose(perm [0,2,1,3]) of [B, H, S, D] would give).
class QkvAttentionKernel final : public OpKernel {
 public:
  QkvAttentionKernel(Attention att, int64_t hd) : att_(std::move(att)), hd_(hd) {}
  Status run(RunContext& ctx) const override {
    const float* x = ctx.input(0).data<float>();
    Attention::Args a;
    a.q = x;
    a.k = x + hd_;
    a.v = x + 2 * hd_;
    a.out = ctx.output(0).data<float>();
    a.scratch = ctx.scratch();
    att_.run(a);
    return Status();
  }

 private:
  Attention att_;
  int64_t hd_;  // H·D: the offset of K (and 2·H·D of V) in a token's row
};

StatusOr<AttentionParams> read_qkv_params(const NodeContext& c) {
  if (c.input_dtype(0) != DataType::kFloat32)
    return c.unsupported("input has dtype {} (only float32)", to_string(c.input_dtype(0)));
  const Shape& x = c.input_shape(0);
  if (x.rank() != 5 || x[2] != 3) return c.error("input {} is not [B, S, 3, H, D]", x.to_string());
  AttentionParams p;
  p.batch = x[0];
  p.heads = x[3];
  p.q_len = p.kv_len = x[1];
  p.head_dim = p.v_dim = x[4];
  p.scale = c.node().attr_float("scale", 1.f);
  const int64_t hd = x[3] * x[4];
  p.q = p.k = p.v = {x[1] * 3 * hd, x[4], 3 * hd};
  p.out = {x[1] * hd, x[4], hd};
  return p;
}

}  // namespace

SEER_REGISTER_OPS(attention) {
  registry.add({.name = "QkvAttention",
                .domain = kSeerDomain,
                .min_opset = 1,
                .attributes = {"scale"},
                .infer = [](InferContext& c) -> Status {
                  SEER_ASSIGN_OR_RETURN(AttentionParams p, read_qkv_params(c));
                  c.set_output(0, DataType::kFloat32, Shape{p.batch, p.q_len, p.heads, p.head_dim});
                  return Status();
                },
                .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  SEER_ASSIGN_OR_RETURN(AttentionParams p, read_qkv_params(c));
                  p.bf16 = c.precision() == Precision::kBF16;
                  SEER_ASSIGN_OR_RETURN(Attention att, Attention::create(p));
                  c.request_scratch(att.scratch_bytes());
                  return std::unique_ptr<OpKernel>(new QkvAttentionKernel(std::move(att), p.heads * p.head_dim));
                }});
  registry.add({.name = "Attention",
                .domain = kSeerDomain,
                .min_opset = 1,
                .attributes = {"scale", "q_layout", "k_layout", "v_layout", "out_layout"},
                .infer = [](InferContext& c) -> Status {
                  SEER_ASSIGN_OR_RETURN(AttentionParams p, read_params(c));
                  c.set_output(0, DataType::kFloat32, output_shape(c, p));
                  return Status();
                },
                .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  SEER_ASSIGN_OR_RETURN(AttentionParams p, read_params(c));
                  p.bf16 = c.precision() == Precision::kBF16;
                  SEER_ASSIGN_OR_RETURN(Attention att, Attention::create(p));
                  c.request_scratch(att.scratch_bytes());
                  return std::unique_ptr<OpKernel>(new AttentionKernel(std::move(att), c.has_input(3)));
                }});
}

}  // namespace seer::engine
