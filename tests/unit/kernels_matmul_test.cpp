// MatMul/Gemm kernel against a naive double-precision loop (fp32: 1e-4 relative to magnitude;
// bf16: the reference uses the same bf16-rounded inputs, so the bound stays tight at 1e-4 plus
// bf16 rounding of nothing else — accumulation is fp32).
#include "engine/kernels/matmul.h"

#include <gtest/gtest.h>

#include "kernels_test_util.h"

namespace seer::kernels {
namespace {

using testing::AlignedBytes;
using testing::expect_close;
using testing::random_vec;

struct Case {
  std::vector<int64_t> a, b;
  bool ta = false, tb = false, b_const = false;
  std::vector<int64_t> bias;
  bool residual = false;
  float alpha = 1.f;
  Activation act;
  Precision prec = Precision::kF32;
};

double ref_act(double x, const Activation& a) {
  switch (a.kind) {
    case Activation::Kind::kRelu: return x > 0 ? x : 0;
    case Activation::Kind::kGeluErf: return testing::gelu_erf_ref(x);
    case Activation::Kind::kGeluTanh: return testing::gelu_tanh_ref(x);
    default: return x;
  }
}

void run_case(const Case& c) {
  MatMulParams p;
  p.a_dims = c.a;
  p.b_dims = c.b;
  p.trans_a = c.ta;
  p.trans_b = c.tb;
  p.b_constant = c.b_const;
  p.bias_dims = c.bias;
  p.residual = c.residual;
  p.alpha = c.alpha;
  p.activation = c.act;
  p.precision = c.prec;
  auto mm = MatMul::create(p);
  ASSERT_TRUE(mm.ok()) << mm.status().to_string();
  const auto& od = mm->output_dims();
  const size_t rank = od.size();
  auto a = random_vec(product(c.a), 1), b = random_vec(product(c.b), 2);
  auto bias = random_vec(c.bias.empty() ? 0 : product(c.bias), 3);
  auto res = random_vec(product(od), 4);
  std::vector<float> out(product(od), -7.f);

  AlignedBytes packed(mm->packed_b_bytes()), scratch(mm->scratch_bytes());
  const void* bptr = b.data();
  if (c.b_const) {
    ASSERT_TRUE(mm->pack_b(b.data(), packed.data()).ok());
    bptr = packed.data();
  }
  Status st = mm->run({.a = a.data(), .b = bptr, .bias = c.bias.empty() ? nullptr : bias.data(),
                       .residual = c.residual ? res.data() : nullptr, .out = out.data(),
                       .scratch = scratch.data()});
  ASSERT_TRUE(st.ok()) << st.to_string();

  if (c.prec == Precision::kBF16) {
    a = testing::round_bf16(a);
    b = testing::round_bf16(b);
  }
  // Naive reference with explicit broadcasting.
  auto pad = [&](std::vector<int64_t> d) {
    d.insert(d.begin(), rank - d.size(), 1);
    return d;
  };
  auto ad = pad(c.a), bd = pad(c.b), biasd = c.bias.empty() ? std::vector<int64_t>{} : pad(c.bias);
  const int64_t M = od[rank - 2], N = od[rank - 1], K = c.ta ? ad[rank - 2] : ad[rank - 1];
  const int64_t batch = product(od, 0, rank - 2);
  std::vector<double> want(out.size());
  std::vector<int64_t> idx(rank - 2);
  for (int64_t bi = 0; bi < batch; ++bi) {
    int64_t rem = bi, a_off = 0, b_off = 0, bias_off = 0, a_st = ad[rank - 2] * ad[rank - 1],
            b_st = bd[rank - 2] * bd[rank - 1], bias_st = biasd.empty() ? 0 : biasd[rank - 2] * biasd[rank - 1];
    for (size_t d = rank - 2; d-- > 0;) {
      int64_t i = rem % od[d];
      rem /= od[d];
      a_off += (ad[d] == 1 ? 0 : i) * a_st;
      b_off += (bd[d] == 1 ? 0 : i) * b_st;
      a_st *= ad[d];
      b_st *= bd[d];
      if (!biasd.empty()) {
        bias_off += (biasd[d] == 1 ? 0 : i) * bias_st;
        bias_st *= biasd[d];
      }
    }
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) {
          double av = c.ta ? a[a_off + k * M + m] : a[a_off + m * K + k];
          double bv = c.tb ? b[b_off + n * K + k] : b[b_off + k * N + n];
          s += av * bv;
        }
        s *= c.alpha;
        if (!biasd.empty()) {
          int64_t bm = biasd[rank - 2] == 1 ? 0 : m, bn = biasd[rank - 1] == 1 ? 0 : n;
          s += bias[bias_off + bm * biasd[rank - 1] + bn];
        }
        s = ref_act(s, c.act);
        const int64_t o = (bi * M + m) * N + n;
        if (c.residual) s += res[o];
        want[o] = s;
      }
  }
  expect_close(out, want, 1e-4, "matmul");
}

TEST(KernelsMatMul, ConstantWeightsBiasGeluM1) {
  run_case({.a = {1, 37}, .b = {37, 19}, .b_const = true, .bias = {19}, .act = Activation::gelu_erf()});
}
TEST(KernelsMatMul, FoldedBatchResidualRelu) {
  run_case({.a = {2, 5, 33}, .b = {33, 20}, .b_const = true, .bias = {20}, .residual = true,
            .act = Activation::relu()});
}
TEST(KernelsMatMul, BroadcastBatchDynamic) {
  run_case({.a = {2, 3, 5, 17}, .b = {3, 17, 7}});
  run_case({.a = {1, 4, 17}, .b = {2, 1, 17, 9}});
}
TEST(KernelsMatMul, AttentionShapesTransB) {
  run_case({.a = {2, 3, 11, 16}, .b = {2, 3, 11, 16}, .tb = true, .alpha = 0.25f});
}
TEST(KernelsMatMul, GemmTransposesAlphaBias) {
  run_case({.a = {13, 6}, .b = {9, 13}, .ta = true, .tb = true, .b_const = true, .bias = {6, 9},
            .alpha = 0.5f});
  // Dynamic B with alpha and bias: the bias must not be scaled (oneDNN output scales would).
  run_case({.a = {6, 13}, .b = {13, 9}, .bias = {1}, .alpha = 2.f});
  run_case({.a = {6, 13}, .b = {13, 9}, .b_const = true, .bias = {6, 1}});
  run_case({.a = {6, 13}, .b = {13, 9}, .bias = {6, 1}, .alpha = 3.f, .act = Activation::relu()});
}
TEST(KernelsMatMul, Bf16ConstantAndDynamic) {
  run_case({.a = {3, 7, 70}, .b = {70, 45}, .b_const = true, .bias = {45},
            .act = Activation::gelu_tanh(), .prec = Precision::kBF16});
  run_case({.a = {2, 9, 40}, .b = {2, 40, 21}, .prec = Precision::kBF16});
}
TEST(KernelsMatMul, RejectsMismatchedInner) {
  MatMulParams p;
  p.a_dims = {3, 4};
  p.b_dims = {5, 6};
  EXPECT_EQ(MatMul::create(p).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace seer::kernels
