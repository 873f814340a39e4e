// Fusions that target the kernels helper's fused ops (engine/fused_ops.h):
//
//   int n = 0;
//   SEER_RETURN_IF_ERROR(fuse_matmul_bias(graph, &n));   // MatMul + Add(const) [+ act] -> seer.FusedMatMul
//   SEER_RETURN_IF_ERROR(fuse_attention(graph, &n));     // MatMul(Q,Kᵀ) [·s] [+bias] Softmax MatMul(·,V) -> seer.Attention
//
// Meant to be called from fuse_patterns() (passes.h). Each rewrites in place, only when the
// target op is registered, only through single-consumer intermediates that are not graph
// outputs, and re-sorts the graph (finalize) when it changed anything; *count is incremented
// per rewrite. Not thread-safe (one graph, one loader thread).
#pragma once

#include "core/status.h"
#include "engine/graph.h"

namespace seer::engine {

// MatMul(A, B) -> Add(·, bias) where bias is a constant whose values vary along the last
// dimension only (shape [..1.., N]); then an optional Relu / Sigmoid / Gelu (ai.onnx) consumer
// becomes the activation; then a single-consumer Add of a non-constant tensor (a residual
// connection) becomes input 3, added by the kernel (oneDNN binary post-op).
Status fuse_matmul_bias(Graph& graph, int* count);

// MatMul(Q, Transpose(K, perm=[0,1,3,2])) -> [Mul|Div by a constant scalar] -> [Add(·, bias)]
// -> Softmax(last axis) -> MatMul(·, V), Q/K/V of rank 4 ([B, H, S, D]; rank 3 with perm
// [0,2,1] as [B·H, S, D]), into seer.Attention(Q, K, V, bias?)
// with attribute scale. Constant scalar Mul on Q or on Kᵀ (what scaled_dot_product_attention
// exports) folds into the scale too. HF-style exports' head Transposes are absorbed as layout
// attributes ("bshd": that operand is [B,S,H,D]): Kᵀ given as Transpose(K, perm [0,2,3,1]) of
// [B,S,H,D] (k_layout); a Transpose(perm [0,2,1,3]) producing Q or V with no other consumer
// (q_layout, v_layout); a Transpose(perm [0,2,1,3]) that is the output's only consumer
// (out_layout: the node then writes that Transpose's output).
Status fuse_attention(Graph& graph, int* count);

// seer.Attention(Squeeze(Split(Transpose(X, perm [2,0,3,1,4]), axis 0)) ×3) -> Transpose(perm
// [0,2,1,3]) (or out_layout bshd), the attention block of timm ViTs (Q, K, V in the dense
// layout), into seer.QkvAttention(X [B,S,3,H,D]) ->
// [B,S,H,D]: the kernel reads Q, K, V strided out of the QKV projection and writes the heads
// interleaved, so none of the five copies remain.
Status fuse_qkv_attention(Graph& graph, int* count);

}  // namespace seer::engine
