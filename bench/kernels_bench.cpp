// Micro-benchmark of seer's compute kernels (not a test; never in ctest): GFLOP/s of the ViT-B
// GEMMs, a ResNet-style 3x3 conv and the fused attention, fp32 and bf16, with the unfused
// attention (two oneDNN batched GEMMs + softmax) as the peer in the same run.
//
//   cmake --build build --target seer_kernels_bench && OMP_NUM_THREADS=2 build/seer_kernels_bench [seconds]
//
// Each line: median time per call over >= `seconds` (default 1) after a warm-up, and GFLOP/s.
// Designated initializers leave the other fields at their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#include "engine/kernels/attention.h"
#include "engine/kernels/conv.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/normalization.h"

using namespace seer;
using namespace seer::kernels;

namespace {

double g_seconds = 1.0;

struct Aligned {
  explicit Aligned(size_t bytes) : p(static_cast<float*>(std::aligned_alloc(64, (bytes + 127) / 64 * 64))) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    for (size_t i = 0; i < bytes / 4; ++i) p[i] = d(rng);
  }
  ~Aligned() { std::free(p); }
  float* p;
};

// Median seconds per call.
double time_it(const std::function<void()>& fn) {
  fn();
  std::vector<double> t;
  const auto start = std::chrono::steady_clock::now();
  do {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  } while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < g_seconds || t.size() < 3);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void report(const char* what, double flops, double sec, const std::string& impl = "") {
  std::printf("%-44s %9.3f ms  %7.1f GFLOP/s  %s\n", what, sec * 1e3, flops / sec / 1e9, impl.c_str());
}

void bench_matmul(int64_t batch, int64_t m, int64_t k, int64_t n, Precision prec) {
  MatMulParams p;
  p.a_dims = {batch, m, k};
  p.b_dims = {k, n};
  p.b_constant = true;
  p.bias_dims = {n};
  p.precision = prec;
  auto mm = MatMul::create(p);
  if (!mm.ok()) {
    std::printf("matmul: %s\n", mm.status().to_string().c_str());
    return;
  }
  Aligned a(batch * m * k * 4), b(k * n * 4), bias(n * 4), out(batch * m * n * 4);
  Aligned packed(mm->packed_b_bytes()), scratch(mm->scratch_bytes() + 64);
  (void)mm->pack_b(b.p, packed.p);
  double s = time_it([&] { (void)mm->run({.a = a.p, .b = packed.p, .bias = bias.p, .out = out.p, .scratch = scratch.p}); });
  char what[128];
  std::snprintf(what, sizeof what, "MatMul %ldx%ldx%ld batch %ld +bias %s", m, k, n, batch, std::string(to_string(prec)).c_str());
  report(what, mm->flops(), s, mm->impl_name());
}

void bench_conv(int64_t n, int64_t c, int64_t hw, Precision prec) {
  ConvParams p{.n = n, .c_in = c, .h = hw, .w = hw, .c_out = c, .kh = 3, .kw = 3, .pad_top = 1,
               .pad_left = 1, .pad_bottom = 1, .pad_right = 1, .has_bias = true, .precision = prec};
  auto conv = Conv::create(p);
  if (!conv.ok()) {
    std::printf("conv: %s\n", conv.status().to_string().c_str());
    return;
  }
  Aligned x(n * c * hw * hw * 4), w(c * c * 9 * 4), b(c * 4), y(n * c * hw * hw * 4);
  Aligned packed(conv->packed_weights_bytes()), scratch(conv->scratch_bytes() + 64);
  (void)conv->pack_weights(w.p, packed.p);
  double s = time_it([&] { (void)conv->run({.src = x.p, .weights = packed.p, .bias = b.p, .dst = y.p, .scratch = scratch.p}); });
  char what[128];
  std::snprintf(what, sizeof what, "Conv 3x3 %ldx%ldx%ld batch %ld NCHW %s", hw, hw, c, n, std::string(to_string(prec)).c_str());
  report(what, conv->flops(), s, conv->impl_name());
}

void bench_attention(int64_t b, int64_t h, int64_t s, int64_t d) {
  AttentionParams p;
  p.batch = b;
  p.heads = h;
  p.q_len = p.kv_len = s;
  p.head_dim = p.v_dim = d;
  p.scale = 1.f / std::sqrt(float(d));
  p.set_dense();
  auto att = Attention::create(p);
  Aligned q(b * h * s * d * 4), k(b * h * s * d * 4), v(b * h * s * d * 4), o(b * h * s * d * 4);
  Aligned scratch(att->scratch_bytes() + 64);
  double t = time_it([&] { att->run({.q = q.p, .k = k.p, .v = v.p, .out = o.p, .scratch = scratch.p}); });
  char what[128];
  std::snprintf(what, sizeof what, "Attention fused B%ld H%ld S%ld D%ld fp32", b, h, s, d);
  report(what, att->flops(), t);

  // Peer: Q·Kᵀ (oneDNN batched GEMM) -> softmax -> P·V, materialising B·H·S·S scores.
  MatMulParams p1;
  p1.a_dims = {b, h, s, d};
  p1.b_dims = {b, h, s, d};
  p1.trans_b = true;
  p1.alpha = p.scale;
  MatMulParams p2;
  p2.a_dims = {b, h, s, s};
  p2.b_dims = {b, h, s, d};
  auto m1 = MatMul::create(p1);
  auto m2 = MatMul::create(p2);
  Aligned scores(b * h * s * s * 4), s1(m1->scratch_bytes() + 64), s2(m2->scratch_bytes() + 64);
  double u = time_it([&] {
    (void)m1->run({.a = q.p, .b = k.p, .out = scores.p, .scratch = s1.p});
    softmax(scores.p, scores.p, b * h * s, s, 1, false);
    (void)m2->run({.a = scores.p, .b = v.p, .out = o.p, .scratch = s2.p});
  });
  std::snprintf(what, sizeof what, "Attention unfused peer (GEMM+softmax+GEMM)");
  report(what, att->flops(), u);
  std::printf("%-44s %9.2fx\n", "  fused / unfused speed", u / t);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_seconds = std::atof(argv[1]);
  std::printf("seer kernel micro-benchmark: %d OpenMP threads, median per call\n", omp_get_max_threads());
  for (Precision prec : {Precision::kF32, Precision::kBF16}) {
    bench_matmul(8, 785, 768, 768, prec);
    bench_matmul(8, 785, 768, 3072, prec);
    bench_matmul(1, 785, 768, 768, prec);
  }
  for (Precision prec : {Precision::kF32, Precision::kBF16}) {
    bench_conv(1, 64, 56, prec);
    bench_conv(8, 64, 56, prec);
  }
  bench_attention(1, 12, 785, 64);
  bench_attention(2, 12, 785, 64);
  return 0;
}
