// Hand-written vector kernels (LayerNorm, BatchNorm, Softmax, GELU, pooling, fused attention)
// against naive double-precision loops. Tolerance 1e-4 relative to magnitude (fp32).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/kernels/attention.h"
#include "engine/kernels/kernel_types.h"
#include "engine/kernels/normalization.h"
#include "engine/kernels/pool.h"
#include "kernels_test_util.h"

namespace seer::kernels {
namespace {

using testing::AlignedBytes;
using testing::expect_close;
using testing::random_vec;

TEST(KernelsLayerNorm, OddWidthsWithAndWithoutBias) {
  for (int64_t cols : {1, 7, 16, 37, 768}) {
    const int64_t rows = 5;
    auto x = random_vec(rows * cols, 1, -3.f, 5.f), g = random_vec(cols, 2), b = random_vec(cols, 3);
    for (bool with_bias : {true, false}) {
      std::vector<float> y(x.size());
      layer_norm(x.data(), g.data(), with_bias ? b.data() : nullptr, y.data(), rows, cols, 1e-5f);
      std::vector<double> want(x.size());
      for (int64_t r = 0; r < rows; ++r) {
        double mean = 0, var = 0;
        for (int64_t c = 0; c < cols; ++c) mean += x[r * cols + c];
        mean /= cols;
        for (int64_t c = 0; c < cols; ++c) var += std::pow(x[r * cols + c] - mean, 2);
        var /= cols;
        for (int64_t c = 0; c < cols; ++c)
          want[r * cols + c] = (x[r * cols + c] - mean) / std::sqrt(var + 1e-5) * g[c] +
                               (with_bias ? b[c] : 0.0);
      }
      expect_close(y, want, 1e-4, "layer_norm");
    }
  }
}

TEST(KernelsBatchNorm, FoldedAffine) {
  const int64_t n = 2, c = 3, inner = 19;
  auto x = random_vec(n * c * inner, 4), s = random_vec(c, 5), b = random_vec(c, 6),
       m = random_vec(c, 7), v = random_vec(c, 8, 0.1f, 2.f);
  std::vector<float> a(c), bb(c), y(x.size());
  fold_batch_norm(s.data(), b.data(), m.data(), v.data(), 1e-3f, c, a.data(), bb.data());
  channel_affine(x.data(), a.data(), bb.data(), y.data(), n, c, inner);
  std::vector<double> want(x.size());
  for (int64_t i = 0; i < n * c * inner; ++i) {
    const int64_t ch = (i / inner) % c;
    want[i] = (x[i] - m[ch]) / std::sqrt(double(v[ch]) + 1e-3) * s[ch] + b[ch];
  }
  expect_close(y, want, 1e-5, "batch_norm");
}

void check_softmax(int64_t outer, int64_t len, int64_t inner, bool log) {
  auto x = random_vec(outer * len * inner, 9, -20.f, 20.f);
  std::vector<float> y(x.size());
  softmax(x.data(), y.data(), outer, len, inner, log);
  std::vector<double> want(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double mx = -1e300, sum = 0;
      for (int64_t a = 0; a < len; ++a) mx = std::max(mx, double(x[(o * len + a) * inner + i]));
      for (int64_t a = 0; a < len; ++a) sum += std::exp(x[(o * len + a) * inner + i] - mx);
      for (int64_t a = 0; a < len; ++a) {
        const double z = x[(o * len + a) * inner + i] - mx;
        want[(o * len + a) * inner + i] = log ? z - std::log(sum) : std::exp(z) / sum;
      }
    }
  expect_close(y, want, 1e-5, log ? "log_softmax" : "softmax");
}

TEST(KernelsSoftmax, LastAxisAndInnerAxis) {
  for (bool log : {false, true}) {
    check_softmax(3, 1, 1, log);
    check_softmax(4, 785, 1, log);
    check_softmax(2, 13, 1, log);
    check_softmax(2, 5, 21, log);
  }
}

TEST(KernelsSoftmax, LargeNegativeInputsGiveZeroNotNaN) {
  std::vector<float> x = {0.f, -std::numeric_limits<float>::infinity(), -1000.f, 1.f}, y(4);
  softmax(x.data(), y.data(), 1, 4, 1, false);
  EXPECT_EQ(y[1], 0.f);
  EXPECT_EQ(y[2], 0.f);
  EXPECT_NEAR(y[0] + y[3], 1.f, 1e-6);
}

TEST(KernelsGelu, ErfAndTanh) {
  auto x = random_vec(1000, 10, -8.f, 8.f);
  x.push_back(0.f);
  x.push_back(1e-3f);
  for (bool t : {false, true}) {
    std::vector<float> y(x.size());
    gelu(x.data(), y.data(), x.size(), t);
    std::vector<double> want(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      want[i] = t ? testing::gelu_tanh_ref(x[i]) : testing::gelu_erf_ref(x[i]);
    expect_close(y, want, 1e-6, t ? "gelu_tanh" : "gelu_erf");
  }
}

std::vector<double> ref_pool(const PoolParams& p, const std::vector<float>& x, int64_t oh, int64_t ow) {
  std::vector<double> y;
  for (int64_t pl = 0; pl < p.n * p.c; ++pl)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double m = -1e300, s = 0;
        int64_t valid = 0, padded = 0;
        for (int64_t u = 0; u < p.kh; ++u)
          for (int64_t v = 0; v < p.kw; ++v) {
            int64_t hi = i * p.stride_h - p.pad_top + u * p.dilation_h;
            int64_t wi = j * p.stride_w - p.pad_left + v * p.dilation_w;
            if (hi < p.h + p.pad_bottom && wi < p.w + p.pad_right) ++padded;
            if (hi < 0 || hi >= p.h || wi < 0 || wi >= p.w) continue;
            double e = x[(pl * p.h + hi) * p.w + wi];
            m = std::max(m, e);
            s += e;
            ++valid;
          }
        if (p.kind == PoolParams::Kind::kMax) y.push_back(m);
        else y.push_back(s / (p.count_include_pad ? padded : valid));
      }
  return y;
}

TEST(KernelsPool, MaxAndAverageWithPadsCeilDilation) {
  using K = PoolParams::Kind;
  std::vector<PoolParams> cases = {
      {.kind = K::kMax, .n = 1, .c = 3, .h = 9, .w = 8, .kh = 3, .kw = 3, .stride_h = 2,
       .stride_w = 2, .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1},
      {.kind = K::kMax, .n = 2, .c = 2, .h = 7, .w = 9, .kh = 2, .kw = 3, .stride_h = 2,
       .stride_w = 1, .dilation_h = 2, .dilation_w = 2, .ceil_mode = true},
      {.kind = K::kAverage, .n = 1, .c = 2, .h = 7, .w = 6, .kh = 3, .kw = 2, .stride_h = 2,
       .stride_w = 2, .pad_top = 1, .pad_left = 0, .pad_bottom = 0, .pad_right = 1},
      {.kind = K::kAverage, .n = 1, .c = 2, .h = 7, .w = 6, .kh = 3, .kw = 3, .stride_h = 2,
       .stride_w = 2, .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1,
       .ceil_mode = true, .count_include_pad = true},
  };
  for (const auto& p : cases) {
    auto pool = Pool::create(p);
    ASSERT_TRUE(pool.ok()) << pool.status().to_string();
    auto od = pool->output_dims();
    auto x = random_vec(p.n * p.c * p.h * p.w, 20);
    std::vector<float> y(product(od));
    pool->run(x.data(), y.data());
    expect_close(y, ref_pool(p, x, od[2], od[3]), 1e-6, "pool");
  }
  // Known sizes: 7 with k3 s2 p1 ceil -> 4; 6 with k2 s2 ceil -> 3; 5 with k2 s2 ceil -> 3.
  EXPECT_EQ(pool_output_size(7, 3, 2, 1, 1, 1, true), 4);
  EXPECT_EQ(pool_output_size(5, 2, 2, 1, 0, 0, true), 3);
  EXPECT_EQ(pool_output_size(5, 2, 2, 1, 0, 0, false), 2);
}

struct AttCase {
  int64_t b, h, sq, sk, d, dv;
  int biases;
};

void check_attention(const AttCase& c) {
  AttentionParams p;
  p.batch = c.b;
  p.heads = c.h;
  p.q_len = c.sq;
  p.kv_len = c.sk;
  p.head_dim = c.d;
  p.v_dim = c.dv;
  p.scale = 1.f / std::sqrt(float(c.d));
  p.set_dense();
  // bias 0: [H, Sq, Sk] (relative position), bias 1: [B, 1, 1, Sk] key mask (0 / -inf).
  const int64_t b0_dims[3] = {c.h, c.sq, c.sk}, b1_dims[4] = {c.b, 1, 1, c.sk};
  p.num_biases = c.biases;
  p.bias[0] = AttentionParams::dense_bias(b0_dims, 3);
  p.bias[1] = AttentionParams::dense_bias(b1_dims, 4);
  auto att = Attention::create(p);
  ASSERT_TRUE(att.ok());
  auto q = random_vec(c.b * c.h * c.sq * c.d, 31, -2.f, 2.f), k = random_vec(c.b * c.h * c.sk * c.d, 32, -2.f, 2.f),
       v = random_vec(c.b * c.h * c.sk * c.dv, 33), bias0 = random_vec(c.h * c.sq * c.sk, 34);
  std::vector<float> bias1(c.b * c.sk, 0.f);
  for (int64_t i = 0; i < c.b * c.sk; ++i)
    if (i % 3 == 1) bias1[i] = -std::numeric_limits<float>::infinity();
  std::vector<float> out(c.b * c.h * c.sq * c.dv);
  AlignedBytes scratch(att->scratch_bytes());
  att->run({.q = q.data(), .k = k.data(), .v = v.data(), .bias = {bias0.data(), bias1.data()},
            .out = out.data(), .scratch = scratch.data()});
  std::vector<double> want(out.size());
  std::vector<double> s(c.sk);
  for (int64_t b = 0; b < c.b; ++b)
    for (int64_t h = 0; h < c.h; ++h)
      for (int64_t i = 0; i < c.sq; ++i) {
        double mx = -1e300;
        for (int64_t j = 0; j < c.sk; ++j) {
          double acc = 0;
          for (int64_t e = 0; e < c.d; ++e)
            acc += double(q[((b * c.h + h) * c.sq + i) * c.d + e]) * k[((b * c.h + h) * c.sk + j) * c.d + e];
          acc *= p.scale;
          if (c.biases > 0) acc += bias0[(h * c.sq + i) * c.sk + j];
          if (c.biases > 1) acc += bias1[b * c.sk + j];
          s[j] = acc;
          mx = std::max(mx, acc);
        }
        double sum = 0;
        for (int64_t j = 0; j < c.sk; ++j) sum += (s[j] = std::exp(s[j] - mx));
        for (int64_t e = 0; e < c.dv; ++e) {
          double o = 0;
          for (int64_t j = 0; j < c.sk; ++j) o += s[j] * v[((b * c.h + h) * c.sk + j) * c.dv + e];
          want[((b * c.h + h) * c.sq + i) * c.dv + e] = o / sum;
        }
      }
  expect_close(out, want, 1e-4, "attention");
}

TEST(KernelsAttention, MatchesNaiveSoftmaxQKV) {
  check_attention({1, 2, 70, 70, 64, 64, 0});     // partial key and query blocks
  check_attention({2, 3, 5, 130, 24, 40, 1});     // odd head dims, Sq != Sk
  check_attention({2, 1, 129, 65, 16, 80, 2});    // masked keys, Dv > 64
  check_attention({1, 1, 1, 1, 8, 8, 0});
}

}  // namespace
}  // namespace seer::kernels
