// PillowResizer's fast paths (AVX2 horizontal and vertical passes, the ring of rows for
// top-down pushes) against a plain transcription of Pillow's Resample.c loops written here:
// materialised padded canvas, horizontal pass into a full intermediate, vertical pass, 8-bit
// clip. Every row order and both SIMD settings must give the same bytes. (Bit-exactness against
// Pillow itself is tests/model/image_pillow_test.py.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "image/pillow_resample.h"

namespace seer {
namespace {

uint8_t clip8(int32_t v) {
  if (v >= (1 << 30)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> 22);
}

// Resample.c's ImagingResampleHorizontal_8bpc / ImagingResampleVertical_8bpc on a canvas.
std::vector<uint8_t> reference_resize(const PaddedRgb& g, int out_w, int out_h, PillowFilter f) {
  const int cw = g.canvas_width, ch = g.canvas_height;
  std::vector<uint8_t> canvas(static_cast<size_t>(cw) * ch * 3, g.fill);
  for (int y = 0; y < g.height; ++y) {
    std::copy_n(g.pixels + g.stride * y, g.width * 3,
                canvas.begin() + (static_cast<size_t>(g.top + y) * cw + g.left) * 3);
  }
  std::vector<uint8_t> mid = canvas;
  int mid_w = cw;
  if (out_w != cw) {
    const ResampleAxis ax = pillow_resample_axis(cw, 0.f, static_cast<float>(cw), out_w, f);
    mid.assign(static_cast<size_t>(out_w) * ch * 3, 0);
    for (int y = 0; y < ch; ++y) {
      for (int xx = 0; xx < out_w; ++xx) {
        for (int c = 0; c < 3; ++c) {
          int32_t s = 1 << 21;
          for (int x = 0; x < ax.bounds[2 * xx + 1]; ++x) {
            s += canvas[(static_cast<size_t>(y) * cw + ax.bounds[2 * xx] + x) * 3 + c] *
                 ax.coeffs[static_cast<size_t>(xx) * ax.ksize + x];
          }
          mid[(static_cast<size_t>(y) * out_w + xx) * 3 + c] = clip8(s);
        }
      }
    }
    mid_w = out_w;
  }
  if (out_h == ch) return mid;
  const ResampleAxis ay = pillow_resample_axis(ch, 0.f, static_cast<float>(ch), out_h, f);
  std::vector<uint8_t> out(static_cast<size_t>(mid_w) * out_h * 3);
  for (int yy = 0; yy < out_h; ++yy) {
    for (int i = 0; i < mid_w * 3; ++i) {
      int32_t s = 1 << 21;
      for (int y = 0; y < ay.bounds[2 * yy + 1]; ++y) {
        s += mid[static_cast<size_t>(ay.bounds[2 * yy] + y) * mid_w * 3 + i] *
             ay.coeffs[static_cast<size_t>(yy) * ay.ksize + y];
      }
      out[static_cast<size_t>(yy) * mid_w * 3 + i] = clip8(s);
    }
  }
  return out;
}

enum class Push { kInOrder, kReverse, kShuffled };

std::vector<uint8_t> resize_with(const PaddedRgb& g, int out_w, int out_h, PillowFilter f,
                                 RowOrder order, Push push, std::mt19937& rng) {
  std::vector<int> ys(g.height);
  for (int y = 0; y < g.height; ++y) ys[y] = y;
  if (push == Push::kReverse) std::reverse(ys.begin(), ys.end());
  if (push == Push::kShuffled) std::shuffle(ys.begin(), ys.end(), rng);
  PillowResizer r(g, out_w, out_h, f, order);
  for (int y : ys) r.push_picture_row(y, g.pixels + g.stride * y);
  std::vector<uint8_t> out(static_cast<size_t>(out_w) * out_h * 3);
  r.finish(out.data());
  return out;
}

TEST(ImageResample, FastPathsEqualReferenceOnRandomImages) {
  std::mt19937 rng(1234);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int iter = 0; iter < 60; ++iter) {
    const int w = uni(1, 260), h = uni(1, 260);
    const bool square = iter % 3 != 0;
    PaddedRgb g;
    g.width = w;
    g.height = h;
    g.stride = static_cast<size_t>(w) * 3 + uni(0, 5);  // odd strides too
    g.canvas_width = square ? std::max(w, h) : w + uni(0, 7);
    g.canvas_height = square ? std::max(w, h) : h + uni(0, 7);
    g.left = (g.canvas_width - w) / 2;
    g.top = (g.canvas_height - h) / 2;
    g.fill = static_cast<uint8_t>(iter % 2 ? 255 : uni(0, 255));
    std::vector<uint8_t> pixels(g.stride * h);
    // Smooth areas, hard edges and noise, so clipping at 0 and 255 happens.
    for (auto& p : pixels) p = static_cast<uint8_t>(uni(0, 3) == 0 ? uni(0, 1) * 255 : uni(0, 255));
    g.pixels = pixels.data();
    const int out_w = std::vector<int>{1, 7, 31, 64, 97, 300}[uni(0, 5)];
    const int out_h = iter % 4 == 0 ? g.canvas_height : std::vector<int>{1, 5, 33, 64, 120}[uni(0, 4)];
    for (PillowFilter f : {PillowFilter::kBicubic, PillowFilter::kBilinear}) {
      const std::vector<uint8_t> want = reference_resize(g, out_w, out_h, f);
      for (bool simd : {true, false}) {
        set_pillow_resample_simd(simd);
        const std::string what = "iter " + std::to_string(iter) + " " + std::to_string(w) + "x" +
                                 std::to_string(h) + " -> " + std::to_string(out_w) + "x" +
                                 std::to_string(out_h) + (simd ? " simd" : " scalar");
        EXPECT_EQ(want, resize_with(g, out_w, out_h, f, RowOrder::kTopDown, Push::kInOrder, rng))
            << what << " ring";
        EXPECT_EQ(want, resize_with(g, out_w, out_h, f, RowOrder::kAny, Push::kInOrder, rng))
            << what << " any/in order";
        EXPECT_EQ(want, resize_with(g, out_w, out_h, f, RowOrder::kAny, Push::kReverse, rng))
            << what << " any/reverse";
        EXPECT_EQ(want, resize_with(g, out_w, out_h, f, RowOrder::kAny, Push::kShuffled, rng))
            << what << " any/shuffled";
        std::vector<uint8_t> whole(want.size());
        pillow_resize_rgb(g, out_w, out_h, f, whole.data());
        EXPECT_EQ(want, whole) << what << " pillow_resize_rgb";
      }
    }
  }
  set_pillow_resample_simd(true);
}

// Rows never pushed count as the fill colour, in the ring as in the full intermediate.
TEST(ImageResample, SkippedRowsAreFill) {
  const int w = 50, h = 40;
  std::vector<uint8_t> pixels(w * h * 3);
  std::mt19937 rng(7);
  for (auto& p : pixels) p = static_cast<uint8_t>(rng());
  PaddedRgb g{pixels.data(), w, h, static_cast<size_t>(w) * 3, w, w, 0, 5, 200};
  std::vector<uint8_t> filled = pixels;
  for (int y = 0; y < h; y += 3) std::fill_n(filled.begin() + y * w * 3, w * 3, 200);
  PaddedRgb gf = g;
  gf.pixels = filled.data();
  const std::vector<uint8_t> want = reference_resize(gf, 17, 13, PillowFilter::kBicubic);
  for (RowOrder order : {RowOrder::kTopDown, RowOrder::kAny}) {
    PillowResizer r(g, 17, 13, PillowFilter::kBicubic, order);
    for (int y = 0; y < h; ++y) {
      if (y % 3 != 0) r.push_picture_row(y, pixels.data() + y * w * 3);
    }
    std::vector<uint8_t> out(17 * 13 * 3);
    r.finish(out.data());
    EXPECT_EQ(want, out);
  }
}

}  // namespace
}  // namespace seer
