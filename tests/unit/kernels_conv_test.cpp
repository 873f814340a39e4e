// Conv / ConvTranspose kernels against naive NCHW loops in double precision.
// fp32: 1e-4 relative to magnitude; bf16: the reference uses the same bf16-rounded inputs and
// weights (accumulation is fp32 in both), so 1e-4 still holds.
#include "engine/kernels/conv.h"

#include <gtest/gtest.h>

#include "kernels_test_util.h"

namespace seer::kernels {
namespace {

using testing::AlignedBytes;
using testing::random_vec;

std::vector<double> ref_conv(const ConvParams& p, const std::vector<float>& x,
                             const std::vector<float>& w, const std::vector<float>& b, int64_t oh,
                             int64_t ow) {
  const int64_t G = p.groups, icg = p.c_in / G, ocg = p.c_out / G;
  std::vector<double> y(p.n * p.c_out * oh * ow, 0.0);
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t oc = 0; oc < p.c_out; ++oc) {
      const int64_t g = oc / ocg;
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = p.has_bias ? b[oc] : 0.0;
          for (int64_t ic = 0; ic < icg; ++ic)
            for (int64_t u = 0; u < p.kh; ++u)
              for (int64_t v = 0; v < p.kw; ++v) {
                int64_t hi = i * p.stride_h - p.pad_top + u * p.dilation_h;
                int64_t wi = j * p.stride_w - p.pad_left + v * p.dilation_w;
                if (hi < 0 || hi >= p.h || wi < 0 || wi >= p.w) continue;
                s += double(x[((n * p.c_in + g * icg + ic) * p.h + hi) * p.w + wi]) *
                     w[((oc * icg + ic) * p.kh + u) * p.kw + v];
              }
          if (p.activation.kind == Activation::Kind::kRelu) s = std::max(s, 0.0);
          y[((n * p.c_out + oc) * oh + i) * ow + j] = s;
        }
    }
  return y;
}

// ConvTranspose as the scatter it is: every input pixel adds w * x into the output window.
std::vector<double> ref_conv_transpose(const ConvParams& p, const std::vector<float>& x,
                                       const std::vector<float>& w, const std::vector<float>& b,
                                       int64_t oh, int64_t ow) {
  const int64_t G = p.groups, icg = p.c_in / G, ocg = p.c_out / G;
  std::vector<double> y(p.n * p.c_out * oh * ow, 0.0);
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t ic = 0; ic < p.c_in; ++ic) {
      const int64_t g = ic / icg;
      for (int64_t i = 0; i < p.h; ++i)
        for (int64_t j = 0; j < p.w; ++j)
          for (int64_t oc = 0; oc < ocg; ++oc)
            for (int64_t u = 0; u < p.kh; ++u)
              for (int64_t v = 0; v < p.kw; ++v) {
                int64_t ho = i * p.stride_h - p.pad_top + u * p.dilation_h;
                int64_t wo = j * p.stride_w - p.pad_left + v * p.dilation_w;
                if (ho < 0 || ho >= oh || wo < 0 || wo >= ow) continue;
                y[((n * p.c_out + g * ocg + oc) * oh + ho) * ow + wo] +=
                    double(x[((n * p.c_in + ic) * p.h + i) * p.w + j]) *
                    w[((ic * ocg + oc) * p.kh + u) * p.kw + v];
              }
    }
  if (p.has_bias)
    for (int64_t n = 0; n < p.n; ++n)
      for (int64_t oc = 0; oc < p.c_out; ++oc)
        for (int64_t k = 0; k < oh * ow; ++k) y[(n * p.c_out + oc) * oh * ow + k] += b[oc];
  return y;
}

void run_case(const ConvParams& p) {
  auto conv = Conv::create(p);
  ASSERT_TRUE(conv.ok()) << conv.status().to_string();
  auto od = conv->output_dims();
  const int64_t w_elems = p.transposed ? p.c_in * (p.c_out / p.groups) * p.kh * p.kw
                                       : p.c_out * (p.c_in / p.groups) * p.kh * p.kw;
  auto x = random_vec(p.n * p.c_in * p.h * p.w, 11), w = random_vec(w_elems, 12),
       b = random_vec(p.c_out, 13);
  std::vector<float> y(product(od), -5.f);
  AlignedBytes packed(conv->packed_weights_bytes()), scratch(conv->scratch_bytes());
  ASSERT_TRUE(conv->pack_weights(w.data(), packed.data()).ok());
  Status st = conv->run({.src = x.data(), .weights = packed.data(),
                         .bias = p.has_bias ? b.data() : nullptr, .dst = y.data(),
                         .scratch = scratch.data()});
  ASSERT_TRUE(st.ok()) << st.to_string();
  if (p.precision == Precision::kBF16) {
    x = testing::round_bf16(x);
    w = testing::round_bf16(w);
  }
  auto want = p.transposed ? ref_conv_transpose(p, x, w, b, od[2], od[3])
                           : ref_conv(p, x, w, b, od[2], od[3]);
  testing::expect_close(y, want, 1e-4, conv->impl_name().c_str());
}

TEST(KernelsConv, Plain3x3PadBiasRelu) {
  run_case({.n = 2, .c_in = 5, .h = 9, .w = 7, .c_out = 6, .kh = 3, .kw = 3, .pad_top = 1,
            .pad_left = 1, .pad_bottom = 1, .pad_right = 1, .has_bias = true,
            .activation = Activation::relu()});
}
TEST(KernelsConv, StridedDilatedAsymmetricPads) {
  run_case({.n = 1, .c_in = 3, .h = 13, .w = 11, .c_out = 4, .kh = 3, .kw = 2, .stride_h = 2,
            .stride_w = 3, .dilation_h = 2, .dilation_w = 1, .pad_top = 0, .pad_left = 2,
            .pad_bottom = 1, .pad_right = 0});
}
TEST(KernelsConv, GroupsAndDepthwise) {
  run_case({.n = 1, .c_in = 8, .h = 6, .w = 6, .c_out = 4, .kh = 3, .kw = 3, .groups = 2,
            .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1, .has_bias = true});
  run_case({.n = 2, .c_in = 16, .h = 7, .w = 5, .c_out = 16, .kh = 3, .kw = 3, .groups = 16,
            .stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_left = 1, .pad_bottom = 1,
            .pad_right = 1, .has_bias = true});
}
TEST(KernelsConv, PatchEmbedding1x1AndSinglePixel) {
  run_case({.n = 2, .c_in = 3, .h = 32, .w = 32, .c_out = 24, .kh = 16, .kw = 16, .stride_h = 16,
            .stride_w = 16, .has_bias = true});
  run_case({.n = 3, .c_in = 7, .h = 1, .w = 1, .c_out = 5, .has_bias = true});
}
TEST(KernelsConv, Bf16) {
  run_case({.n = 1, .c_in = 16, .h = 10, .w = 9, .c_out = 32, .kh = 3, .kw = 3, .pad_top = 1,
            .pad_left = 1, .pad_bottom = 1, .pad_right = 1, .has_bias = true,
            .precision = Precision::kBF16});
}
TEST(KernelsConvTranspose, StridesOutputPaddingGroups) {
  run_case({.n = 1, .c_in = 4, .h = 5, .w = 4, .c_out = 6, .kh = 3, .kw = 3, .stride_h = 2,
            .stride_w = 2, .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1,
            .transposed = true, .output_pad_h = 1, .output_pad_w = 1, .has_bias = true});
  run_case({.n = 2, .c_in = 6, .h = 3, .w = 3, .c_out = 4, .kh = 2, .kw = 3, .groups = 2,
            .stride_h = 3, .stride_w = 1, .dilation_h = 1, .dilation_w = 2, .transposed = true});
  // output_padding past the last contribution: those rows/cols hold only the bias.
  run_case({.n = 1, .c_in = 2, .h = 3, .w = 3, .c_out = 3, .kh = 3, .kw = 3, .stride_h = 3,
            .stride_w = 2, .transposed = true, .output_pad_h = 1, .output_pad_w = 1, .has_bias = true});
}
TEST(KernelsConv, RejectsBadGroups) {
  EXPECT_EQ(Conv::create({.c_in = 6, .h = 4, .w = 4, .c_out = 4, .groups = 4}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace seer::kernels
