#pragma GCC optimize("fp-contract=fast")
#include "engine/kernels/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "engine/kernels/kernel_types.h"
#include "engine/kernels/vec_math.h"

namespace seer::kernels {

using namespace vec;

namespace {

constexpr int64_t kBlockQ = 64;
constexpr int64_t kBlockK = 64;  // = 4 vectors of 16: the score micro-kernel's width
constexpr int kKVecs = kBlockK / kLanes;

struct Tile {  // one thread's working set, carved from scratch
  float* kt;    // [key blocks][head_dim][kBlockK]: Kᵀ of the whole head, packed once per task
  float* v;     // [key blocks · kBlockK][dv_pad]
  float* s;     // [kBlockQ][kBlockK]
  float* o;     // [kBlockQ][dv_pad]
  float* m;     // [kBlockQ] running max
  float* l;     // [kBlockQ] running sum
};

size_t tile_bytes(int64_t d, int64_t dv_pad, int64_t kv_pad) {
  return align64(d * kv_pad * 4) + align64(kv_pad * dv_pad * 4) + align64(kBlockQ * kBlockK * 4) +
         align64(kBlockQ * dv_pad * 4) + 2 * align64(kBlockQ * 4);
}

Tile carve(uint8_t* base, int64_t d, int64_t dv_pad, int64_t kv_pad) {
  Tile t;
  t.kt = reinterpret_cast<float*>(base);
  base += align64(d * kv_pad * 4);
  t.v = reinterpret_cast<float*>(base);
  base += align64(kv_pad * dv_pad * 4);
  t.s = reinterpret_cast<float*>(base);
  base += align64(kBlockQ * kBlockK * 4);
  t.o = reinterpret_cast<float*>(base);
  base += align64(kBlockQ * dv_pad * 4);
  t.m = reinterpret_cast<float*>(base);
  base += align64(kBlockQ * 4);
  t.l = reinterpret_cast<float*>(base);
  return t;
}

// S[r][0..64) = Q[r]·Kt for R rows: R×4 accumulators stay in registers over the d loop.
template <int R>
SEER_INLINE void scores_rows(const float* q, int64_t q_stride, const float* kt, int64_t d, float* s) {
  vf16 acc[R][kKVecs] = {};
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
    for (int c = 0; c < kKVecs; ++c) store(s + r * kBlockK + c * kLanes, acc[r][c]);
}

// O[r][c0..c0+16·NV) += P[r]·V for R rows: R×NV accumulators in registers over the key loop.
template <int R, int NV>
SEER_INLINE void pv_rows(const float* p, int64_t nk, const float* v, int64_t dv_pad, int64_t c0, float* o) {
  vf16 acc[R][NV];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) acc[r][c] = load(o + r * dv_pad + c0 + c * kLanes);
  for (int64_t j = 0; j < nk; ++j) {
    vf16 vv[NV];
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) vv[c] = load(v + j * dv_pad + c0 + c * kLanes);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const vf16 pv = splat(p[r * kBlockK + j]);
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
                             int nvec, float* o) {
  switch (nvec) {
    case 4: pv_rows<R, 4>(p, nk, v, dv_pad, c0, o); break;
    case 3: pv_rows<R, 3>(p, nk, v, dv_pad, c0, o); break;
    case 2: pv_rows<R, 2>(p, nk, v, dv_pad, c0, o); break;
    default: pv_rows<R, 1>(p, nk, v, dv_pad, c0, o); break;
  }
}

// Packs Kᵀ (zero keys past the end) and V (zero lanes past dv) of one head.
SEER_KERNEL_CLONES void pack_head(const AttentionParams& p, int64_t dv_pad, const float* kb,
                                  const float* vb, Tile t) {
  const int64_t d = p.head_dim, dv = p.v_dim;
  const int64_t kv_pad = (p.kv_len + kBlockK - 1) / kBlockK * kBlockK;
  for (int64_t j0 = 0; j0 < kv_pad; j0 += kBlockK) {
    float* kt = t.kt + j0 * d;
    for (int64_t j = 0; j < kBlockK; ++j) {
      if (j0 + j < p.kv_len) {
        const float* kr = kb + (j0 + j) * p.k.s;
        for (int64_t i = 0; i < d; ++i) kt[i * kBlockK + j] = kr[i];
      } else {
        for (int64_t i = 0; i < d; ++i) kt[i * kBlockK + j] = 0.f;
      }
    }
  }
  for (int64_t j = 0; j < kv_pad; ++j) {
    float* dst = t.v + j * dv_pad;
    if (j < p.kv_len) {
      const float* vr = vb + j * p.v.s;
      for (int64_t c = 0; c < dv; ++c) dst[c] = vr[c];
      for (int64_t c = dv; c < dv_pad; ++c) dst[c] = 0.f;
    } else {
      for (int64_t c = 0; c < dv_pad; ++c) dst[c] = 0.f;
    }
  }
}

SEER_KERNEL_CLONES void attention_block(const AttentionParams& p, int64_t dv_pad, const float* q,
                                        const float* const* bias, int64_t b, int64_t h, int64_t q0,
                                        float* out, Tile t) {
  const int64_t d = p.head_dim, dv = p.v_dim;
  const int64_t nq = std::min(kBlockQ, p.q_len - q0);
  const float* qb = q + b * p.q.b + h * p.q.h + q0 * p.q.s;
  for (int64_t r = 0; r < nq; ++r) {
    t.m[r] = -INFINITY;
    t.l[r] = 0.f;
  }
  std::fill(t.o, t.o + nq * dv_pad, 0.f);
  for (int64_t k0 = 0; k0 < p.kv_len; k0 += kBlockK) {
    const int64_t nk = std::min(kBlockK, p.kv_len - k0);
    const float* kt = t.kt + k0 * d;
    const float* vblk = t.v + k0 * dv_pad;
    // Scores.
    int64_t r = 0;
    for (; r + 4 <= nq; r += 4) scores_rows<4>(qb + r * p.q.s, p.q.s, kt, d, t.s + r * kBlockK);
    for (; r < nq; ++r) scores_rows<1>(qb + r * p.q.s, p.q.s, kt, d, t.s + r * kBlockK);
    // Scale, biases, online softmax.
    for (r = 0; r < nq; ++r) {
      float* sr = t.s + r * kBlockK;
      const int64_t qi = q0 + r;
      for (int c = 0; c < kKVecs; ++c) {
        vf16 x = load(sr + c * kLanes) * p.scale;
        for (int bi = 0; bi < p.num_biases; ++bi) {
          const AttentionParams::Bias& bs = p.bias[bi];
          const float* br = bias[bi] + b * bs.b + h * bs.h + qi * bs.row + (k0 + c * kLanes) * bs.col;
          const int w = static_cast<int>(std::clamp<int64_t>(nk - c * kLanes, 0, kLanes));
          x += bs.col ? load_n(br, w) : splat(br[0]);
        }
        store(sr + c * kLanes, x);
      }
      for (int64_t j = nk; j < kBlockK; ++j) sr[j] = -INFINITY;
      vf16 mx = load(sr);
      for (int c = 1; c < kKVecs; ++c) mx = vmax(mx, load(sr + c * kLanes));
      const float m_old = t.m[r];
      float m_new = std::max(m_old, hmax(mx));
      if (m_new == -INFINITY) m_new = 0.f;  // a fully masked block so far: keep exp() finite
      const vf16 vm = splat(m_new);
      vf16 sum{};
      for (int c = 0; c < kKVecs; ++c) {
        vf16 e = vexp(load(sr + c * kLanes) - vm);
        store(sr + c * kLanes, e);
        sum += e;
      }
      const float corr = m_old == m_new ? 1.f : std::exp(m_old - m_new);  // exp(-inf) = 0 on the first block
      t.l[r] = t.l[r] * corr + hsum(sum);
      t.m[r] = m_new;
      if (corr != 1.f) {
        float* orow = t.o + r * dv_pad;
        for (int64_t c = 0; c < dv_pad; c += kLanes) store(orow + c, load(orow + c) * corr);
      }
    }
    // O += P·V, 64 output columns at a time.
    for (int64_t c0 = 0; c0 < dv_pad; c0 += 4 * kLanes) {
      const int nvec = static_cast<int>(std::min<int64_t>(4, (dv_pad - c0) / kLanes));
      r = 0;
      for (; r + 4 <= nq; r += 4)
        pv_rows_any<4>(t.s + r * kBlockK, nk, vblk, dv_pad, c0, nvec, t.o + r * dv_pad);
      for (; r < nq; ++r) pv_rows_any<1>(t.s + r * kBlockK, nk, vblk, dv_pad, c0, nvec, t.o + r * dv_pad);
    }
  }
  float* ob = out + b * p.out.b + h * p.out.h + q0 * p.out.s;
  for (int64_t r = 0; r < nq; ++r) {
    const float inv = t.l[r] > 0.f ? 1.f / t.l[r] : 0.f;
    const float* orow = t.o + r * dv_pad;
    float* dst = ob + r * p.out.s;
    for (int64_t c = 0; c < dv; ++c) dst[c] = orow[c] * inv;
  }
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
      pack_head(p_, dv_pad_, args.k + b * p_.k.b + h * p_.k.h, args.v + b * p_.v.b + h * p_.v.h, tile);
      const int64_t qb_end = std::min(qblocks, (chunk + 1) * per_chunk);
      for (int64_t qb = chunk * per_chunk; qb < qb_end; ++qb)
        attention_block(p_, dv_pad_, args.q, args.bias, b, h, qb * kBlockQ, args.out, tile);
    }
  }
}

}  // namespace seer::kernels
