// Fused scaled-dot-product attention, flash-attention style: O = softmax(scale·Q·Kᵀ + bias)·V
// without ever materialising the Sq×Sk score matrix.
//
//   kernels::AttentionParams p;
//   p.batch = 8; p.heads = 12; p.q_len = p.kv_len = 785; p.head_dim = p.v_dim = 64;
//   p.scale = 0.125f;
//   p.set_dense();                              // Q, K, V, O as dense [B, H, S, D]
//   SEER_ASSIGN_OR_RETURN(kernels::Attention att, kernels::Attention::create(p));   // at load
//   att.run({.q = q, .k = k, .v = v, .out = o, .scratch = s});  // s: att.scratch_bytes()
//
// A task (OpenMP, both cores) takes one (batch, head) — or a slice of its query blocks when
// there are fewer heads than threads — packs that head's K once (as Kᵀ in blocks of 64 keys, so
// the score micro-kernel streams 64 keys per FMA; transposed 16×16 in registers) and V (padded to
// 16 lanes), then for each block of 64 queries walks the keys 128 at a time (fp32; 64 for bf16):
// 64×128 scores, a running row max and sum (online softmax: earlier partial outputs are rescaled
// by e^{m_old - m_new}), P·V accumulated into a 64×Dv fp32 tile. Per-thread scratch: the packed
// head (2·S·D floats, ~420 KiB for ViT-B at S = 785) plus ~72 KiB of tiles (the block's Q rows,
// pre-scaled, copied contiguous among them); the S×S scores never exist beyond one 64×128 block.
// fp32 at the WD14 ViT shape (12 heads, S = 784, D = 64, QKV-strided), one thread of an AVX-512
// EPYC: ~150 GFLOP/s (12.3 ms).
// Inputs and output fp32. The products run in fp32, or with params.bf16 (bf16 models) on
// AVX512_BF16's vdpbf16ps with Q, K, P, V rounded to bf16 and fp32 accumulation; the softmax
// is fp32 either way. Up to two additive biases (e.g. SwinV2's relative-position bias and its
// shifted-window mask) broadcast to [B, H, Sq, Sk] through per-dimension strides (0 =
// broadcast). Operands may be strided views (e.g. straight out of a fused QKV projection, or
// [B,S,H,D] heads interleaved): only the last dimension must be contiguous. At S = 785 all four
// in [B,S,H,D] cost ~3% over dense [B,H,S,D] (K/V rows prefetched while packing), far less than
// the Transpose copies they replace.
//
// Thread-safety: run() is const and reentrant given distinct out/scratch.
#pragma once

#include <cstdint>
#include <memory>

#include "core/status.h"

namespace seer::kernels {

struct AttentionParams {
  int64_t batch = 1, heads = 1, q_len = 0, kv_len = 0, head_dim = 0, v_dim = 0;
  float scale = 1.f;
  struct Strides {  // element strides of the batch, head and sequence dimensions
    int64_t b = 0, h = 0, s = 0;
  };
  Strides q, k, v, out;
  struct Bias {  // element strides of [B, H, Sq, Sk]; 0 broadcasts; col stride 0 or 1
    int64_t b = 0, h = 0, row = 0, col = 0;
  };
  int num_biases = 0;  // 0..2
  Bias bias[2];
  // Q·Kᵀ and P·V with bf16 operands and fp32 accumulation (AVX512_BF16; where the CPU lacks it,
  // fp32). Softmax stays fp32.
  bool bf16 = false;

  // Dense [B, H, S, D] strides for q/k/v/out.
  void set_dense();
  // Dense strides for a bias of shape `dims` (rank <= 4, right-aligned to [B, H, Sq, Sk]).
  static Bias dense_bias(const int64_t* dims, int rank);
};

class Attention {
 public:
  static StatusOr<Attention> create(const AttentionParams& params);
  const AttentionParams& params() const { return p_; }
  size_t scratch_bytes() const { return per_thread_bytes_ * threads_; }
  double flops() const {
    return 2.0 * p_.batch * p_.heads * p_.q_len * p_.kv_len * (p_.head_dim + p_.v_dim);
  }

  struct Args {
    const float* q = nullptr;
    const float* k = nullptr;
    const float* v = nullptr;
    const float* bias[2] = {nullptr, nullptr};
    float* out = nullptr;
    void* scratch = nullptr;
  };
  void run(const Args& args) const;

 private:
  AttentionParams p_;
  size_t per_thread_bytes_ = 0;
  int threads_ = 1;
  int64_t dv_pad_ = 0;
  int64_t kv_pad_ = 0;
  bool bf16_ = false;
};

}  // namespace seer::kernels
