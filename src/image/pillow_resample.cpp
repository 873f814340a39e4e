#include "image/pillow_resample.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

namespace seer {
namespace {

// Resample.c: PRECISION_BITS = 32 - 8 - 2 (8 bits of pixel, 2 of headroom for negative lobes).
constexpr int kPrecisionBits = 32 - 8 - 2;

// The filters as Resample.c writes them; the operation order is kept so the doubles, and so
// the rounded fixed-point weights, come out identical.
double bicubic_filter(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double bilinear_filter(double x) {
  if (x < 0.0) x = -x;
  if (x < 1.0) return 1.0 - x;
  return 0.0;
}

inline uint8_t clip8(int32_t in) {
  if (in >= (1 << kPrecisionBits << 8)) return 255;
  if (in <= 0) return 0;
  return static_cast<uint8_t>(in >> kPrecisionBits);
}

}  // namespace

ResampleAxis pillow_resample_axis(int in_size, float in0, float in1, int out_size,
                                  PillowFilter filter) {
  const double support_base = filter == PillowFilter::kBicubic ? 2.0 : 1.0;
  double (*fn)(double) = filter == PillowFilter::kBicubic ? bicubic_filter : bilinear_filter;
  const double scale = static_cast<double>(in1 - in0) / out_size;
  double filterscale = scale;
  if (filterscale < 1.0) filterscale = 1.0;
  const double support = support_base * filterscale;
  ResampleAxis axis;
  axis.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  axis.bounds.resize(static_cast<size_t>(out_size) * 2);
  axis.coeffs.assign(static_cast<size_t>(out_size) * axis.ksize, 0);
  std::vector<double> k(axis.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    double ww = 0.0;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    for (int x = 0; x < xmax; ++x) {
      const double w = fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    int32_t* out = &axis.coeffs[static_cast<size_t>(xx) * axis.ksize];
    for (int x = 0; x < xmax; ++x) {
      double v = k[x];
      if (ww != 0.0) v /= ww;
      out[x] = v < 0 ? static_cast<int32_t>(-0.5 + v * (1 << kPrecisionBits))
                     : static_cast<int32_t>(0.5 + v * (1 << kPrecisionBits));
    }
    axis.bounds[xx * 2] = xmin;
    axis.bounds[xx * 2 + 1] = xmax;
  }
  return axis;
}

namespace {

void horizontal_row(const uint8_t* in, const ResampleAxis& ax, int out_w, uint8_t* out) {
  for (int xx = 0; xx < out_w; ++xx) {
    const int xmin = ax.bounds[xx * 2];
    const int xmax = ax.bounds[xx * 2 + 1];
    const int32_t* k = &ax.coeffs[static_cast<size_t>(xx) * ax.ksize];
    int32_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
    const uint8_t* p = in + static_cast<size_t>(xmin) * 3;
    for (int x = 0; x < xmax; ++x, p += 3) {
      s0 += p[0] * k[x];
      s1 += p[1] * k[x];
      s2 += p[2] * k[x];
    }
    out[xx * 3 + 0] = clip8(s0);
    out[xx * 3 + 1] = clip8(s1);
    out[xx * 3 + 2] = clip8(s2);
  }
}

}  // namespace

void pillow_resize_rgb(const PaddedRgb& src, int out_width, int out_height, PillowFilter filter,
                       uint8_t* out) {
  assert(src.left >= 0 && src.top >= 0 && src.left + src.width <= src.canvas_width &&
         src.top + src.height <= src.canvas_height);
  const int cw = src.canvas_width;
  const int ch = src.canvas_height;
  // Pillow skips a pass whose axis keeps its size (need_horizontal / need_vertical).
  const bool need_h = out_width != cw;
  const bool need_v = out_height != ch;
  const size_t canvas_row = static_cast<size_t>(cw) * 3;
  std::vector<uint8_t> fill_row(canvas_row, src.fill);
  std::vector<uint8_t> scratch(canvas_row, src.fill);
  auto canvas_row_at = [&](int y) -> const uint8_t* {
    if (y < src.top || y >= src.top + src.height) return fill_row.data();
    const uint8_t* p = src.pixels + src.stride * static_cast<size_t>(y - src.top);
    if (src.left == 0 && src.width == cw) return p;
    std::memcpy(scratch.data() + static_cast<size_t>(src.left) * 3, p, static_cast<size_t>(src.width) * 3);
    return scratch.data();
  };

  const int mid_w = need_h ? out_width : cw;
  const size_t mid_row = static_cast<size_t>(mid_w) * 3;
  ResampleAxis vert;
  int y_first = 0, y_last = ch;
  if (need_v) {
    vert = pillow_resample_axis(ch, 0.f, static_cast<float>(ch), out_height, filter);
    y_first = vert.bounds[0];
    y_last = vert.bounds[(out_height - 1) * 2] + vert.bounds[(out_height - 1) * 2 + 1];
  }
  // Horizontal pass over the rows the vertical pass reads; the fill rows all give one result.
  std::vector<uint8_t> mid(mid_row * static_cast<size_t>(y_last - y_first));
  if (need_h) {
    const ResampleAxis horiz = pillow_resample_axis(cw, 0.f, static_cast<float>(cw), out_width, filter);
    std::vector<uint8_t> fill_result(mid_row);
    horizontal_row(fill_row.data(), horiz, out_width, fill_result.data());
    for (int y = y_first; y < y_last; ++y) {
      uint8_t* dst = mid.data() + mid_row * (y - y_first);
      const uint8_t* row = canvas_row_at(y);
      if (row == fill_row.data()) {
        std::memcpy(dst, fill_result.data(), mid_row);
      } else {
        horizontal_row(row, horiz, out_width, dst);
      }
    }
  } else {
    for (int y = y_first; y < y_last; ++y) {
      std::memcpy(mid.data() + mid_row * (y - y_first), canvas_row_at(y), mid_row);
    }
  }
  if (!need_v) {
    std::memcpy(out, mid.data(), mid_row * static_cast<size_t>(out_height));
    return;
  }
  // Vertical pass: the same sums as Pillow's (integer addition is exact in any order), taken
  // row by row so the reads are contiguous.
  std::vector<int32_t> acc(mid_row);
  for (int yy = 0; yy < out_height; ++yy) {
    const int ymin = vert.bounds[yy * 2] - y_first;
    const int ymax = vert.bounds[yy * 2 + 1];
    const int32_t* k = &vert.coeffs[static_cast<size_t>(yy) * vert.ksize];
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < ymax; ++y) {
      const uint8_t* row = mid.data() + mid_row * static_cast<size_t>(y + ymin);
      const int32_t w = k[y];
      for (size_t i = 0; i < mid_row; ++i) acc[i] += row[i] * w;
    }
    uint8_t* dst = out + mid_row * static_cast<size_t>(yy);
    for (size_t i = 0; i < mid_row; ++i) dst[i] = clip8(acc[i]);
  }
}

}  // namespace seer
