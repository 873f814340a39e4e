// The ops that seer's graph passes create (src/engine/passes/), and which file implements each.
// A pass only fuses when OpRegistry::find() has the target op, so a missing kernel just means
// the pattern stays unfused.
//
//   seer.FusedMatMul(A, B, bias?, residual?) -> Y  [ops/matmul_op.cpp]
//       Y = act(A @ B + bias) + residual; A, B with ONNX MatMul semantics (batched, broadcast),
//       bias broadcastable to A @ B (usually [N]), residual broadcast with it (numpy rules;
//       usually the same shape); attribute `activation` (string): "" | "relu" | "gelu_erf" |
//       "gelu_tanh" | "sigmoid". Created from MatMul + Add(constant bias) [+ Relu/Gelu/Sigmoid]
//       [+ Add(tensor)]. Node opset 1.
//   LayerNormalization(X, scale, bias?) -> Y    [kernels helper: ops/layer_norm_op.cpp]
//       the ai.onnx op; fused nodes carry opset 17 whatever the model's opset (axis, epsilon
//       attributes; only output 0).
//   Gelu(X) -> Y                                 [engine: ops/elementwise_ops.cpp]
//       the ai.onnx op; fused nodes carry opset 20; attribute `approximate` "none" | "tanh".
//   seer.Attention(Q, K, V, bias?) -> O          [kernels helper: ops/attention_op.cpp]
//       Q [B,H,Sq,D], K [B,H,Sk,D] (not transposed), V [B,H,Sk,Dv], bias broadcastable to
//       [B,H,Sq,Sk] (additive); attribute `scale` (float). O = softmax(scale·Q·Kᵀ + bias)·V,
//       [B,H,Sq,Dv]. Node opset 1. Optional string attributes q_layout, k_layout, v_layout,
//       out_layout: "bhsd" (default, as above) or "bshd" (that operand is [B,S,H,D], rank 4).
//   seer.QkvAttention(X) -> O                    [ops/attention_op.cpp]
//       X [B,S,3,H,D] (a QKV projection reshaped), O [B,S,H,D] = seer.Attention of X's three
//       slices with heads interleaved back; attribute `scale`. Node opset 1.
#pragma once

namespace seer::engine {

inline constexpr const char* kSeerDomain = "seer";
inline constexpr int kFusedLayerNormOpset = 17;
inline constexpr int kFusedGeluOpset = 20;

}  // namespace seer::engine
