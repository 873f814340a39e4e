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

PillowResizer::PillowResizer(const PaddedRgb& geometry, int out_width, int out_height,
                             PillowFilter filter)
    : geo_(geometry), out_w_(out_width), out_h_(out_height) {
  assert(geo_.left >= 0 && geo_.top >= 0 && geo_.left + geo_.width <= geo_.canvas_width &&
         geo_.top + geo_.height <= geo_.canvas_height);
  const int cw = geo_.canvas_width;
  const int ch = geo_.canvas_height;
  // Pillow skips a pass whose axis keeps its size (need_horizontal / need_vertical).
  need_h_ = out_w_ != cw;
  need_v_ = out_h_ != ch;
  mid_w_ = need_h_ ? out_w_ : cw;
  y_first_ = 0;
  y_last_ = ch;
  if (need_v_) {
    vert_ = pillow_resample_axis(ch, 0.f, static_cast<float>(ch), out_h_, filter);
    y_first_ = vert_.bounds[0];
    y_last_ = vert_.bounds[(out_h_ - 1) * 2] + vert_.bounds[(out_h_ - 1) * 2 + 1];
  }
  const size_t canvas_row = static_cast<size_t>(cw) * 3;
  scratch_.assign(canvas_row, geo_.fill);
  if (need_h_) horiz_ = pillow_resample_axis(cw, 0.f, static_cast<float>(cw), out_w_, filter);
  // Every intermediate row starts as the fill row's result; picture rows overwrite theirs.
  const size_t mid_row = static_cast<size_t>(mid_w_) * 3;
  std::vector<uint8_t> fill_result(mid_row, geo_.fill);
  if (need_h_) {
    std::vector<uint8_t> fill_row(canvas_row, geo_.fill);
    horizontal_row(fill_row.data(), horiz_, out_w_, fill_result.data());
  }
  mid_.resize(mid_row * static_cast<size_t>(y_last_ - y_first_));
  for (int y = y_first_; y < y_last_; ++y) {
    std::memcpy(mid_.data() + mid_row * (y - y_first_), fill_result.data(), mid_row);
  }
}

void PillowResizer::push_picture_row(int picture_y, const uint8_t* rgb) {
  const int y = geo_.top + picture_y;
  if (y < y_first_ || y >= y_last_) return;  // no output pixel reads this row
  const uint8_t* row = rgb;
  if (geo_.left != 0 || geo_.width != geo_.canvas_width) {
    std::memcpy(scratch_.data() + static_cast<size_t>(geo_.left) * 3, rgb,
                static_cast<size_t>(geo_.width) * 3);
    row = scratch_.data();
  }
  const size_t mid_row = static_cast<size_t>(mid_w_) * 3;
  uint8_t* dst = mid_.data() + mid_row * (y - y_first_);
  if (need_h_) {
    horizontal_row(row, horiz_, out_w_, dst);
  } else {
    std::memcpy(dst, row, mid_row);
  }
}

void PillowResizer::finish(uint8_t* out) {
  const size_t mid_row = static_cast<size_t>(mid_w_) * 3;
  if (!need_v_) {
    std::memcpy(out, mid_.data(), mid_row * static_cast<size_t>(out_h_));
    return;
  }
  // Vertical pass: the same sums as Pillow's (integer addition is exact in any order), taken
  // row by row so the reads are contiguous.
  std::vector<int32_t> acc(mid_row);
  for (int yy = 0; yy < out_h_; ++yy) {
    const int ymin = vert_.bounds[yy * 2] - y_first_;
    const int ymax = vert_.bounds[yy * 2 + 1];
    const int32_t* k = &vert_.coeffs[static_cast<size_t>(yy) * vert_.ksize];
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < ymax; ++y) {
      const uint8_t* row = mid_.data() + mid_row * static_cast<size_t>(y + ymin);
      const int32_t w = k[y];
      for (size_t i = 0; i < mid_row; ++i) acc[i] += row[i] * w;
    }
    uint8_t* dst = out + mid_row * static_cast<size_t>(yy);
    for (size_t i = 0; i < mid_row; ++i) dst[i] = clip8(acc[i]);
  }
}

void pillow_resize_rgb(const PaddedRgb& src, int out_width, int out_height, PillowFilter filter,
                       uint8_t* out) {
  PillowResizer resizer(src, out_width, out_height, filter);
  for (int y = 0; y < src.height; ++y) {
    resizer.push_picture_row(y, src.pixels + src.stride * static_cast<size_t>(y));
  }
  resizer.finish(out);
}

}  // namespace seer
