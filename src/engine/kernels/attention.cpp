#pragma GCC optimize("fp-contract=fast")
#include "engine/kernels/attention.h"

#include <omp.h>

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/kernel_types.h"
#include "engine/kernels/vec_math.h"

namespace seer::kernels {

using namespace vec;

namespace {

constexpr int64_t kBlockQ = 64;
constexpr int64_t kBlockK = 64;  // = 4 vectors of 16: the score micro-kernel's width
constexpr int kKVecs = kBlockK / kLanes;
// The fp32 path's softmax step: two packed key blocks, which halves the per-row work of each
// step (max and sum reductions, the rescale of O) and the tile calls.
constexpr int64_t kBlockS = 2 * kBlockK;

struct Tile {  // one thread's working set, carved from scratch
  float* kt;    // [key blocks][head_dim][kBlockK]: Kᵀ of the whole head, packed once per task
  float* v;     // [key blocks · kBlockK][dv_pad]
  float* s;     // [kBlockQ][kBlockS] (bf16 path: [kBlockQ][kBlockK])
  float* o;     // [kBlockQ][dv_pad]
  float* q;     // [kBlockQ][head_dim]: the block's Q rows, contiguous (see attention_block)
  float* m;     // [kBlockQ] running max
  float* l;     // [kBlockQ] running sum
  uint32_t* q2;  // bf16 path: [kBlockQ][d_pad / 2] pairs of Q's row
  uint32_t* p2;  // bf16 path: [kBlockQ][kBlockK / 2] pairs of P's row
};

int64_t even(int64_t x) { return (x + 1) & ~int64_t{1}; }

size_t tile_bytes(int64_t d, int64_t dv_pad, int64_t kv_pad) {
  return align64(d * kv_pad * 4) + align64(kv_pad * dv_pad * 4) + align64(kBlockQ * kBlockS * 4) +
         align64(kBlockQ * dv_pad * 4) + align64(kBlockQ * d * 4) + 2 * align64(kBlockQ * 4) +
         align64(kBlockQ * even(d) * 2) + align64(kBlockQ * kBlockK * 2);
}

Tile carve(uint8_t* base, int64_t d, int64_t dv_pad, int64_t kv_pad) {
  Tile t;
  t.kt = reinterpret_cast<float*>(base);
  base += align64(d * kv_pad * 4);
  t.v = reinterpret_cast<float*>(base);
  base += align64(kv_pad * dv_pad * 4);
  t.s = reinterpret_cast<float*>(base);
  base += align64(kBlockQ * kBlockS * 4);
  t.o = reinterpret_cast<float*>(base);
  base += align64(kBlockQ * dv_pad * 4);
  t.q = reinterpret_cast<float*>(base);
  base += align64(kBlockQ * d * 4);
  t.m = reinterpret_cast<float*>(base);
  base += align64(kBlockQ * 4);
  t.l = reinterpret_cast<float*>(base);
  base += align64(kBlockQ * 4);
  t.q2 = reinterpret_cast<uint32_t*>(base);
  base += align64(kBlockQ * even(d) * 2);
  t.p2 = reinterpret_cast<uint32_t*>(base);
  return t;
}

// S[r][0..64) = Q[r]·Kt for R rows: R×4 accumulators stay in registers over the d loop.
template <int R>
SEER_INLINE void scores_rows(const float* q, int64_t q_stride, const float* kt, int64_t d, float* s,
                             int64_t s_stride) {
  vf16 acc[R][kKVecs];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < kKVecs; ++c) acc[r][c] = splat(0.f);  // `= {}` became a rep stos to the stack
  for (int64_t i = 0; i < d; ++i) {
    vf16 kv[kKVecs];
#pragma GCC unroll 4
    for (int c = 0; c < kKVecs; ++c) kv[c] = load(kt + i * kBlockK + c * kLanes);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const vf16 qv = splat(q[r * q_stride + i]);
#pragma GCC unroll 4
      for (int c = 0; c < kKVecs; ++c) acc[r][c] += qv * kv[c];
    }
  }
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < kKVecs; ++c) store(s + r * s_stride + c * kLanes, acc[r][c]);
}

// O[r][c0..c0+16·NV) += P[r]·V for R rows: R×NV accumulators in registers over the key loop.
// `first`: the block's first key block, O starts from 0 (spares clearing it).
template <int R, int NV>
SEER_INLINE void pv_rows(const float* p, int64_t nk, const float* v, int64_t dv_pad, int64_t c0, bool first,
                         float* o) {
  vf16 acc[R][NV];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) acc[r][c] = first ? splat(0.f) : load(o + r * dv_pad + c0 + c * kLanes);
  for (int64_t j = 0; j < nk; ++j) {
    vf16 vv[NV];
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) vv[c] = load(v + j * dv_pad + c0 + c * kLanes);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const vf16 pv = splat(p[r * kBlockS + j]);
#pragma GCC unroll 4
      for (int c = 0; c < NV; ++c) acc[r][c] += pv * vv[c];
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) store(o + r * dv_pad + c0 + c * kLanes, acc[r][c]);
}

template <int R>
SEER_INLINE void pv_rows_any(const float* p, int64_t nk, const float* v, int64_t dv_pad, int64_t c0,
                             int nvec, bool first, float* o) {
  switch (nvec) {
    case 4: pv_rows<R, 4>(p, nk, v, dv_pad, c0, first, o); break;
    case 3: pv_rows<R, 3>(p, nk, v, dv_pad, c0, first, o); break;
    case 2: pv_rows<R, 2>(p, nk, v, dv_pad, c0, first, o); break;
    default: pv_rows<R, 1>(p, nk, v, dv_pad, c0, first, o); break;
  }
}

// K and V rows of a [B,S,H,D] layout sit H·D floats apart (3 KiB for ViT-B): the hardware
// prefetcher, which follows streams within a page, misses them, so the packs fetch rows ahead.
constexpr int64_t kPrefetchRows = 8;
SEER_INLINE void prefetch_row(const float* base, int64_t row, int64_t rows, int64_t stride, int64_t n) {
  if (row >= rows) return;
  const float* r = base + row * stride;
  for (int64_t c = 0; c < n; c += kLanes) __builtin_prefetch(r + c);
}

// In-register transpose of 16 rows of 16: stage B swaps bit B of the row and column index
// (rows i and i|B trade the column halves that differ in bit B), so four stages transpose.
// Generic two-input shuffles: one vpermt2ps / vshuff32x4 each on AVX-512.
template <int B>
SEER_INLINE void transpose_stage(vf16* r) {
  static_assert(B == 1 || B == 2 || B == 4 || B == 8);
  for (int i = 0; i < kLanes; ++i) {
    if (i & B) continue;
    const vf16 a = r[i], b = r[i | B];
    if constexpr (B == 1) {
      r[i] = __builtin_shufflevector(a, b, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
      r[i | B] = __builtin_shufflevector(a, b, 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
    } else if constexpr (B == 2) {
      r[i] = __builtin_shufflevector(a, b, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
      r[i | B] = __builtin_shufflevector(a, b, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
    } else if constexpr (B == 4) {
      r[i] = __builtin_shufflevector(a, b, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
      r[i | B] = __builtin_shufflevector(a, b, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
    } else {
      r[i] = __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
      r[i | B] = __builtin_shufflevector(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    }
  }
}

// Kᵀ of one block of 64 keys from `nk` rows (zero keys past nk): 16×16 tiles transposed in
// registers, so both the loads and the stores are whole vectors (element-wise, the strided
// scalar stores made the pack ~8% of the attention time); head dims past the last multiple of
// 16 element-wise.
SEER_INLINE void pack_kt_block(const float* kr, int64_t k_stride, int64_t nk, int64_t d, float* kt) {
  const int64_t d16 = d / kLanes * kLanes;
  for (int64_t j = 0; j < kBlockK; j += kLanes) {
    for (int64_t i = 0; i < d16; i += kLanes) {
      vf16 r[kLanes];
#pragma GCC unroll 16
      for (int jj = 0; jj < kLanes; ++jj)
        r[jj] = j + jj < nk ? load(kr + (j + jj) * k_stride + i) : splat(0.f);
      transpose_stage<8>(r);
      transpose_stage<4>(r);
      transpose_stage<2>(r);
      transpose_stage<1>(r);
#pragma GCC unroll 16
      for (int ii = 0; ii < kLanes; ++ii) store(kt + (i + ii) * kBlockK + j, r[ii]);
    }
    for (int64_t i = d16; i < d; ++i)
      for (int64_t jj = 0; jj < kLanes; ++jj)
        kt[i * kBlockK + j + jj] = j + jj < nk ? kr[(j + jj) * k_stride + i] : 0.f;
  }
}

// Packs Kᵀ (zero keys past the end) and V (zero lanes past dv) of one head. V stays a copy:
// read in place from a [B,S,H,D] layout its 64 rows of a key block would fall into a few L1
// sets (the same reason Q is copied in attention_block).
SEER_KERNEL_CLONES void pack_head(const AttentionParams& p, int64_t dv_pad, const float* kb,
                                  const float* vb, Tile t) {
  const int64_t d = p.head_dim, dv = p.v_dim;
  const int64_t kv_pad = (p.kv_len + kBlockK - 1) / kBlockK * kBlockK;
  for (int64_t j0 = 0; j0 < kv_pad; j0 += kBlockK) {
    const int64_t nk = std::clamp<int64_t>(p.kv_len - j0, 0, kBlockK);
    for (int64_t j = 0; j < nk; ++j) prefetch_row(kb, j0 + kBlockK + j, p.kv_len, p.k.s, d);
    pack_kt_block(kb + j0 * p.k.s, p.k.s, nk, d, t.kt + j0 * d);
  }
  const int64_t dv16 = dv / kLanes * kLanes;
  for (int64_t j = 0; j < kv_pad; ++j) {
    float* dst = t.v + j * dv_pad;
    if (j < p.kv_len) {
      const float* vr = vb + j * p.v.s;
      prefetch_row(vb, j + kPrefetchRows, p.kv_len, p.v.s, dv);
      for (int64_t c = 0; c < dv16; c += kLanes) store(dst + c, load(vr + c));
      if (dv16 < dv_pad) store(dst + dv16, load_n(vr + dv16, static_cast<int>(dv - dv16)));
    } else {
      for (int64_t c = 0; c < dv_pad; c += kLanes) store(dst + c, splat(0.f));
    }
  }
}

// Scale, biases and the online softmax of one 64×64 score block in t.s: on return t.s holds
// P = e^{s - m_new} (0 past the last key), t.m / t.l the running max and sum, and the partial
// outputs in t.o are rescaled by e^{m_old - m_new}. `scale` is 1 where Q was scaled already.
template <int64_t W>  // the score row width: kBlockS (fp32) or kBlockK (bf16)
SEER_INLINE void online_softmax(const AttentionParams& p, float scale, const float* const* bias, int64_t b,
                                int64_t h, int64_t q0, int64_t k0, int64_t nq, int64_t nk, int64_t dv_pad,
                                const Tile& t) {
  const bool first_pass = scale != 1.f || p.num_biases > 0;
  const int nv = static_cast<int>((nk + kLanes - 1) / kLanes);  // vectors holding keys
  for (int64_t r = 0; r < nq; ++r) {
    float* sr = t.s + r * W;
    const int64_t qi = q0 + r;
    for (int c = 0; c < nv && first_pass; ++c) {
      vf16 x = load(sr + c * kLanes) * scale;
      for (int bi = 0; bi < p.num_biases; ++bi) {
        const AttentionParams::Bias& bs = p.bias[bi];
        const float* br = bias[bi] + b * bs.b + h * bs.h + qi * bs.row + (k0 + c * kLanes) * bs.col;
        const int w = static_cast<int>(std::clamp<int64_t>(nk - c * kLanes, 0, kLanes));
        x += bs.col ? load_n(br, w) : splat(br[0]);
      }
      store(sr + c * kLanes, x);
    }
    for (int64_t j = nk; j < nv * kLanes; ++j) sr[j] = -INFINITY;
    vf16 mx = load(sr);
#pragma GCC unroll 8
    for (int c = 1; c < nv; ++c) mx = vmax(mx, load(sr + c * kLanes));
    const float m_old = t.m[r];
    float m_new = std::max(m_old, hmax(mx));
    if (m_new == -INFINITY) m_new = 0.f;  // a fully masked block so far: keep exp() finite
    const vf16 vm = splat(m_new);
    vf16 sum = splat(0.f);
#pragma GCC unroll 8
    for (int c = 0; c < nv; ++c) {
      vf16 e = vexp(load(sr + c * kLanes) - vm);
      store(sr + c * kLanes, e);
      sum += e;
    }
    const float corr = m_old == m_new ? 1.f : std::exp(m_old - m_new);  // exp(-inf) = 0 on the first block
    t.l[r] = t.l[r] * corr + hsum(sum);
    t.m[r] = m_new;
    if (corr != 1.f && m_old != -INFINITY) {  // -inf: the first key block, O not started yet
      float* orow = t.o + r * dv_pad;
      for (int64_t c = 0; c < dv_pad; c += kLanes) store(orow + c, load(orow + c) * corr);
    }
  }
}

// Running max and sum; `clear_o` zeroes the output tile too (the fp32 path's first P·V starts
// from 0 instead).
SEER_INLINE void start_block(int64_t nq, int64_t dv_pad, bool clear_o, const Tile& t) {
  for (int64_t r = 0; r < nq; ++r) {
    t.m[r] = -INFINITY;
    t.l[r] = 0.f;
  }
  if (clear_o) std::fill(t.o, t.o + nq * dv_pad, 0.f);
}

SEER_INLINE void write_out(const AttentionParams& p, int64_t dv_pad, int64_t b, int64_t h, int64_t q0,
                           int64_t nq, float* out, const Tile& t) {
  float* ob = out + b * p.out.b + h * p.out.h + q0 * p.out.s;
  for (int64_t r = 0; r < nq; ++r) {
    const float inv = t.l[r] > 0.f ? 1.f / t.l[r] : 0.f;
    const float* orow = t.o + r * dv_pad;
    float* dst = ob + r * p.out.s;
    int64_t c = 0;
    for (; c + kLanes <= p.v_dim; c += kLanes) store(dst + c, load(orow + c) * inv);
    if (c < p.v_dim) store_n(dst + c, load(orow + c) * inv, static_cast<int>(p.v_dim - c));
  }
}

// The two products of one key block, each its own (non-inlined) function: inlined into
// attention_block, with its softmax and four pv_rows widths around it, GCC spilled one of the
// 16 P·V accumulators to the stack, and the store-to-load chain through it cost ~25% of the time.
SEER_KERNEL_CLONES __attribute__((noinline)) void scores_tile(const float* qb, int64_t d, const float* kt,
                                                             int64_t nq, int64_t nk, float* s) {
  for (int64_t k0 = 0; k0 < nk; k0 += kBlockK) {  // packed blocks of 64 keys
    const float* ktb = kt + k0 * d;
    int64_t r = 0;
    for (; r + 4 <= nq; r += 4) scores_rows<4>(qb + r * d, d, ktb, d, s + r * kBlockS + k0, kBlockS);
    for (; r < nq; ++r) scores_rows<1>(qb + r * d, d, ktb, d, s + r * kBlockS + k0, kBlockS);
  }
}

// O += P·V, 64 output columns at a time.
SEER_KERNEL_CLONES __attribute__((noinline)) void pv_tile(const float* s, int64_t nk, const float* vblk,
                                                         int64_t dv_pad, int64_t nq, bool first, float* o) {
  for (int64_t c0 = 0; c0 < dv_pad; c0 += 4 * kLanes) {
    const int nvec = static_cast<int>(std::min<int64_t>(4, (dv_pad - c0) / kLanes));
    int64_t r = 0;
    for (; r + 4 <= nq; r += 4)
      pv_rows_any<4>(s + r * kBlockS, nk, vblk, dv_pad, c0, nvec, first, o + r * dv_pad);
    for (; r < nq; ++r) pv_rows_any<1>(s + r * kBlockS, nk, vblk, dv_pad, c0, nvec, first, o + r * dv_pad);
  }
}

// ---------------------------------------------------------------- AVX2 tiles
// The two products again, for CPUs without AVX-512: on the x86-64-v3 clone GCC lowers the
// 16-lane vf16 to pairs of ymm through the stack (splat by 16 scalar stores, accumulators
// spilled), ~4 GFLOP/s. These use 8-lane ymm intrinsics: 2 rows × 32 columns of accumulators
// (8 of the 16 registers). Same sums in the same order per output, so results match the
// AVX-512 path's up to FMA rounding.
#define SEER_AVX2_TARGET __attribute__((target("avx2,fma")))

bool use_avx2_tiles() {
  static const bool use = [] {
    __builtin_cpu_init();
    return !__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return use;
}

// S[r][h..h+32) = Q[r]·Kt[.., h..h+32) for R rows.
template <int R>
SEER_AVX2_TARGET SEER_INLINE void scores_rows_avx2(const float* q, int64_t d, const float* kt, float* s,
                                                   int64_t s_stride) {
  __m256 acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < 4; ++c) acc[r][c] = _mm256_setzero_ps();
  for (int64_t i = 0; i < d; ++i) {
    __m256 kv[4];
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) kv[c] = _mm256_loadu_ps(kt + i * kBlockK + c * 8);
#pragma GCC unroll 2
    for (int r = 0; r < R; ++r) {
      const __m256 qv = _mm256_broadcast_ss(q + r * d + i);
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) acc[r][c] = _mm256_fmadd_ps(qv, kv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < 4; ++c) _mm256_storeu_ps(s + r * s_stride + c * 8, acc[r][c]);
}

SEER_AVX2_TARGET __attribute__((noinline)) void scores_tile_avx2(const float* qb, int64_t d, const float* kt,
                                                                int64_t nq, int64_t nk, float* s) {
  for (int64_t k0 = 0; k0 < nk; k0 += kBlockK) {
    const float* ktb = kt + k0 * d;
    for (int64_t h = 0; h < kBlockK; h += 32) {
      int64_t r = 0;
      for (; r + 2 <= nq; r += 2) scores_rows_avx2<2>(qb + r * d, d, ktb + h, s + r * kBlockS + k0 + h, kBlockS);
      for (; r < nq; ++r) scores_rows_avx2<1>(qb + r * d, d, ktb + h, s + r * kBlockS + k0 + h, kBlockS);
    }
  }
}

// O[r][c0..c0+8·NC) += P[r]·V for R rows.
template <int R, int NC>
SEER_AVX2_TARGET SEER_INLINE void pv_rows_avx2(const float* p, int64_t nk, const float* v, int64_t dv_pad,
                                               int64_t c0, bool first, float* o) {
  __m256 acc[R][NC];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c)
      acc[r][c] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(o + r * dv_pad + c0 + c * 8);
  for (int64_t j = 0; j < nk; ++j) {
    __m256 vv[NC];
#pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) vv[c] = _mm256_loadu_ps(v + j * dv_pad + c0 + c * 8);
#pragma GCC unroll 2
    for (int r = 0; r < R; ++r) {
      const __m256 pv = _mm256_broadcast_ss(p + r * kBlockS + j);
#pragma GCC unroll 4
      for (int c = 0; c < NC; ++c) acc[r][c] = _mm256_fmadd_ps(pv, vv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c) _mm256_storeu_ps(o + r * dv_pad + c0 + c * 8, acc[r][c]);
}

template <int NC>
SEER_AVX2_TARGET SEER_INLINE void pv_cols_avx2(const float* s, int64_t nk, const float* vblk, int64_t dv_pad,
                                               int64_t nq, int64_t c0, bool first, float* o) {
  int64_t r = 0;
  for (; r + 2 <= nq; r += 2) pv_rows_avx2<2, NC>(s + r * kBlockS, nk, vblk, dv_pad, c0, first, o + r * dv_pad);
  for (; r < nq; ++r) pv_rows_avx2<1, NC>(s + r * kBlockS, nk, vblk, dv_pad, c0, first, o + r * dv_pad);
}

SEER_AVX2_TARGET __attribute__((noinline)) void pv_tile_avx2(const float* s, int64_t nk, const float* vblk,
                                                            int64_t dv_pad, int64_t nq, bool first, float* o) {
  int64_t c0 = 0;
  for (; c0 + 32 <= dv_pad; c0 += 32) pv_cols_avx2<4>(s, nk, vblk, dv_pad, nq, c0, first, o);
  if (c0 < dv_pad) pv_cols_avx2<2>(s, nk, vblk, dv_pad, nq, c0, first, o);  // dv_pad: a multiple of 16
}

SEER_KERNEL_CLONES void attention_block(const AttentionParams& p, int64_t dv_pad, const float* q,
                                        const float* const* bias, int64_t b, int64_t h, int64_t q0,
                                        float* out, Tile t) {
  const int64_t d = p.head_dim;
  const int64_t nq = std::min(kBlockQ, p.q_len - q0);
  // The block's Q rows are re-read for every key block: copied contiguous first. Read in place
  // from a [B,S,H,D] layout (row stride H·D, e.g. 3 KiB for ViT-B) the 64 rows would fall into
  // a few L1 sets and evict each other (~20% slower at S = 785).
  const float* qsrc = q + b * p.q.b + h * p.q.h + q0 * p.q.s;
  // Scaled on the way, which spares the softmax a pass over the scores (exact for the usual
  // power-of-two scale 1/√64).
  const float scale = p.scale;
  for (int64_t r = 0; r < nq; ++r) {
    const float* src = qsrc + r * p.q.s;
    float* dst = t.q + r * d;
    int64_t i = 0;
    for (; i + kLanes <= d; i += kLanes) store(dst + i, load(src + i) * scale);
    for (; i < d; ++i) dst[i] = src[i] * scale;
  }
  const float* qb = t.q;
  // The next block's Q rows are read after this one's S×D work: fetched now, they are in cache.
  for (int64_t r = 0; r < nq && q0 + kBlockQ + r < p.q_len; ++r)
    for (int64_t i = 0; i < d; i += kLanes) __builtin_prefetch(qsrc + (kBlockQ + r) * p.q.s + i);
  start_block(nq, dv_pad, false, t);
  const bool avx2 = use_avx2_tiles();
  for (int64_t k0 = 0; k0 < p.kv_len; k0 += kBlockS) {
    const int64_t nk = std::min(kBlockS, p.kv_len - k0);
    const float* kt = t.kt + k0 * d;
    const float* vblk = t.v + k0 * dv_pad;
    if (avx2) {
      scores_tile_avx2(qb, d, kt, nq, nk, t.s);
    } else {
      scores_tile(qb, d, kt, nq, nk, t.s);
    }
    online_softmax<kBlockS>(p, 1.f, bias, b, h, q0, k0, nq, nk, dv_pad, t);
    if (avx2) {
      pv_tile_avx2(t.s, nk, vblk, dv_pad, nq, k0 == 0, t.o);
    } else {
      pv_tile(t.s, nk, vblk, dv_pad, nq, k0 == 0, t.o);
    }
  }
  write_out(p, dv_pad, b, h, q0, nq, out, t);
}

// ---------------------------------------------------------------- bf16 (AVX512_BF16)
// The same blocks with both products on vdpbf16ps: Q, K, P and V rounded to bf16, fp32
// accumulation, softmax in fp32. Operands are bf16 pairs along the reduction axis packed in one
// 32-bit word (dims 2i, 2i+1 of a Q row or K row; keys 2j, 2j+1 of a P row or V column), so one
// instruction does 16 lanes × 2 products. Built for AVX512_BF16 only; create() checks the CPU.
#define SEER_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))

SEER_INLINE uint32_t bf16_bits(float x) {  // round to nearest even (finite inputs)
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}
SEER_INLINE uint32_t bf16_pair(float lo, float hi) { return bf16_bits(lo) | (bf16_bits(hi) << 16); }

// Kᵀ as pairs [key block][d_pad/2][kBlockK] and V as pairs [kv_pad/2][dv_pad] (zero padded).
SEER_BF16_TARGET void pack_head_bf16(const AttentionParams& p, int64_t dv_pad, const float* kb,
                                     const float* vb, Tile t) {
  const int64_t d = p.head_dim, dv = p.v_dim, d2 = even(d) / 2;
  const int64_t kv_pad = (p.kv_len + kBlockK - 1) / kBlockK * kBlockK;
  uint32_t* kt = reinterpret_cast<uint32_t*>(t.kt);
  for (int64_t j0 = 0; j0 < kv_pad; j0 += kBlockK) {
    uint32_t* blk = kt + j0 * d2;
    for (int64_t j = 0; j < kBlockK; ++j) {
      if (j0 + j < p.kv_len) {
        const float* kr = kb + (j0 + j) * p.k.s;
        prefetch_row(kb, j0 + j + kPrefetchRows, p.kv_len, p.k.s, d);
        for (int64_t i = 0; i < d2; ++i)
          blk[i * kBlockK + j] = bf16_pair(kr[2 * i], 2 * i + 1 < d ? kr[2 * i + 1] : 0.f);
      } else {
        for (int64_t i = 0; i < d2; ++i) blk[i * kBlockK + j] = 0;
      }
    }
  }
  uint32_t* v2 = reinterpret_cast<uint32_t*>(t.v);
  for (int64_t j = 0; j < kv_pad; j += 2) {
    uint32_t* dst = v2 + (j / 2) * dv_pad;
    const float* r0 = j < p.kv_len ? vb + j * p.v.s : nullptr;
    const float* r1 = j + 1 < p.kv_len ? vb + (j + 1) * p.v.s : nullptr;
    prefetch_row(vb, j + kPrefetchRows, p.kv_len, p.v.s, dv);
    prefetch_row(vb, j + 1 + kPrefetchRows, p.kv_len, p.v.s, dv);
    for (int64_t c = 0; c < dv_pad; ++c) {
      const bool in = c < dv;
      dst[c] = bf16_pair(r0 && in ? r0[c] : 0.f, r1 && in ? r1[c] : 0.f);
    }
  }
}

template <int R>
SEER_BF16_TARGET SEER_INLINE void scores_rows_bf16(const uint32_t* q2, int64_t d2, const uint32_t* kt, float* s) {
  __m512 acc[R][kKVecs];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < kKVecs; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t i = 0; i < d2; ++i) {
    __m512bh kv[kKVecs];
#pragma GCC unroll 4
    for (int c = 0; c < kKVecs; ++c) kv[c] = (__m512bh)_mm512_loadu_si512(kt + i * kBlockK + c * kLanes);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512bh qv = (__m512bh)_mm512_set1_epi32(static_cast<int>(q2[r * d2 + i]));
#pragma GCC unroll 4
      for (int c = 0; c < kKVecs; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], qv, kv[c]);
    }
  }
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < kKVecs; ++c) _mm512_storeu_ps(s + r * kBlockK + c * kLanes, acc[r][c]);
}

template <int R, int NV>
SEER_BF16_TARGET SEER_INLINE void pv_rows_bf16(const uint32_t* p2, int64_t nk2, const uint32_t* v2, int64_t dv_pad, int64_t c0,
                              float* o) {
  __m512 acc[R][NV];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) acc[r][c] = _mm512_loadu_ps(o + r * dv_pad + c0 + c * kLanes);
  for (int64_t j = 0; j < nk2; ++j) {
    __m512bh vv[NV];
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) vv[c] = (__m512bh)_mm512_loadu_si512(v2 + j * dv_pad + c0 + c * kLanes);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512bh pv = (__m512bh)_mm512_set1_epi32(static_cast<int>(p2[r * (kBlockK / 2) + j]));
#pragma GCC unroll 4
      for (int c = 0; c < NV; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], pv, vv[c]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) _mm512_storeu_ps(o + r * dv_pad + c0 + c * kLanes, acc[r][c]);
}

template <int R>
SEER_BF16_TARGET SEER_INLINE void pv_rows_bf16_any(const uint32_t* p2, int64_t nk2, const uint32_t* v2, int64_t dv_pad,
                                  int64_t c0, int nvec, float* o) {
  switch (nvec) {
    case 4: pv_rows_bf16<R, 4>(p2, nk2, v2, dv_pad, c0, o); break;
    case 3: pv_rows_bf16<R, 3>(p2, nk2, v2, dv_pad, c0, o); break;
    case 2: pv_rows_bf16<R, 2>(p2, nk2, v2, dv_pad, c0, o); break;
    default: pv_rows_bf16<R, 1>(p2, nk2, v2, dv_pad, c0, o); break;
  }
}

SEER_BF16_TARGET void attention_block_bf16(const AttentionParams& p, int64_t dv_pad, const float* q,
                                           const float* const* bias, int64_t b, int64_t h, int64_t q0,
                                           float* out, Tile t) {
  const int64_t d = p.head_dim, d2 = even(d) / 2;
  const int64_t nq = std::min(kBlockQ, p.q_len - q0);
  const float* qb = q + b * p.q.b + h * p.q.h + q0 * p.q.s;
  for (int64_t r = 0; r < nq; ++r) {
    const float* qr = qb + r * p.q.s;
    for (int64_t i = 0; i < d2; ++i) t.q2[r * d2 + i] = bf16_pair(qr[2 * i], 2 * i + 1 < d ? qr[2 * i + 1] : 0.f);
  }
  start_block(nq, dv_pad, true, t);
  const uint32_t* kt_all = reinterpret_cast<const uint32_t*>(t.kt);
  const uint32_t* v_all = reinterpret_cast<const uint32_t*>(t.v);
  for (int64_t k0 = 0; k0 < p.kv_len; k0 += kBlockK) {
    const int64_t nk = std::min(kBlockK, p.kv_len - k0);
    const uint32_t* kt = kt_all + k0 * d2;
    const uint32_t* vblk = v_all + (k0 / 2) * dv_pad;
    int64_t r = 0;
    for (; r + 4 <= nq; r += 4) scores_rows_bf16<4>(t.q2 + r * d2, d2, kt, t.s + r * kBlockK);
    for (; r < nq; ++r) scores_rows_bf16<1>(t.q2 + r * d2, d2, kt, t.s + r * kBlockK);
    online_softmax<kBlockK>(p, p.scale, bias, b, h, q0, k0, nq, nk, dv_pad, t);
    // P rows to bf16 pairs; keys past nk are exactly 0 (e^-inf), so odd nk pads with 0.
    const int64_t nk2 = (nk + 1) / 2;
    for (r = 0; r < nq; ++r) {
      const float* sr = t.s + r * kBlockK;
      uint32_t* pr = t.p2 + r * (kBlockK / 2);
      for (int64_t j = 0; j < nk2; ++j) pr[j] = bf16_pair(sr[2 * j], sr[2 * j + 1]);
    }
    for (int64_t c0 = 0; c0 < dv_pad; c0 += 4 * kLanes) {
      const int nvec = static_cast<int>(std::min<int64_t>(4, (dv_pad - c0) / kLanes));
      r = 0;
      for (; r + 4 <= nq; r += 4)
        pv_rows_bf16_any<4>(t.p2 + r * (kBlockK / 2), nk2, vblk, dv_pad, c0, nvec, t.o + r * dv_pad);
      for (; r < nq; ++r)
        pv_rows_bf16_any<1>(t.p2 + r * (kBlockK / 2), nk2, vblk, dv_pad, c0, nvec, t.o + r * dv_pad);
    }
  }
  write_out(p, dv_pad, b, h, q0, nq, out, t);
}

}  // namespace

void AttentionParams::set_dense() {
  q = {heads * q_len * head_dim, q_len * head_dim, head_dim};
  k = {heads * kv_len * head_dim, kv_len * head_dim, head_dim};
  v = {heads * kv_len * v_dim, kv_len * v_dim, v_dim};
  out = {heads * q_len * v_dim, q_len * v_dim, v_dim};
}

AttentionParams::Bias AttentionParams::dense_bias(const int64_t* dims, int rank) {
  int64_t full[4] = {1, 1, 1, 1};
  for (int i = 0; i < rank; ++i) full[4 - rank + i] = dims[i];
  int64_t st[4];
  int64_t acc = 1;
  for (int i = 3; i >= 0; --i) {
    st[i] = full[i] == 1 ? 0 : acc;
    acc *= full[i];
  }
  return {st[0], st[1], st[2], st[3]};
}

StatusOr<Attention> Attention::create(const AttentionParams& p) {
  if (p.batch < 1 || p.heads < 1 || p.q_len < 1 || p.kv_len < 1 || p.head_dim < 1 || p.v_dim < 1)
    return Status::invalid_argument("Attention: empty dimension");
  if (p.num_biases < 0 || p.num_biases > 2) return Status::invalid_argument("Attention: 0..2 biases");
  for (int i = 0; i < p.num_biases; ++i)
    if (p.bias[i].col != 0 && p.bias[i].col != 1)
      return Status::invalid_argument("Attention: bias columns must be contiguous or broadcast");
  Attention a;
  a.p_ = p;
  a.dv_pad_ = (p.v_dim + kLanes - 1) / kLanes * kLanes;
  a.kv_pad_ = (p.kv_len + kBlockK - 1) / kBlockK * kBlockK;
  a.per_thread_bytes_ = tile_bytes(p.head_dim, a.dv_pad_, a.kv_pad_);
  a.threads_ = std::max(1, omp_get_max_threads());
  a.bf16_ = p.bf16 && __builtin_cpu_supports("avx512bf16");
  return a;
}

void Attention::run(const Args& args) const {
  const int64_t qblocks = (p_.q_len + kBlockQ - 1) / kBlockQ;
  const int64_t heads = p_.batch * p_.heads;
  // A task packs one head's K/V once and runs a run of its query blocks. Whole heads when
  // there are enough of them to keep every thread busy; otherwise heads split in chunks.
  // Enough tasks that a thread descheduled by the OS (a busy machine) does not leave the
  // others idle at the end; re-packing K/V per task costs ~1% at S = 785.
  const int64_t want_tasks = 16 * static_cast<int64_t>(threads_);
  const int64_t chunks = std::clamp<int64_t>((want_tasks + heads - 1) / heads, 1, qblocks);
  const int64_t per_chunk = (qblocks + chunks - 1) / chunks;
  const int64_t tasks = heads * chunks;
  const int threads = static_cast<int>(std::min<int64_t>(threads_, tasks));
  uint8_t* scratch = static_cast<uint8_t*>(args.scratch);
#pragma omp parallel num_threads(threads)
  {
    const Tile tile = carve(scratch + omp_get_thread_num() * per_thread_bytes_, p_.head_dim, dv_pad_, kv_pad_);
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t bh = task / chunks, chunk = task % chunks;
      const int64_t b = bh / p_.heads, h = bh % p_.heads;
      const float* kb = args.k + b * p_.k.b + h * p_.k.h;
      const float* vb = args.v + b * p_.v.b + h * p_.v.h;
      const int64_t qb_end = std::min(qblocks, (chunk + 1) * per_chunk);
      if (bf16_) {
        pack_head_bf16(p_, dv_pad_, kb, vb, tile);
        for (int64_t qb = chunk * per_chunk; qb < qb_end; ++qb)
          attention_block_bf16(p_, dv_pad_, args.q, args.bias, b, h, qb * kBlockQ, args.out, tile);
      } else {
        pack_head(p_, dv_pad_, kb, vb, tile);
        for (int64_t qb = chunk * per_chunk; qb < qb_end; ++qb)
          attention_block(p_, dv_pad_, args.q, args.bias, b, h, qb * kBlockQ, args.out, tile);
      }
    }
  }
}

}  // namespace seer::kernels
