#include "image/pillow_resample.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

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

std::atomic<bool> g_simd_allowed{true};

bool use_avx2() {
  static const bool supported = __builtin_cpu_supports("avx2");
  return supported && g_simd_allowed.load(std::memory_order_relaxed);
}

// Pillow's horizontal pass for one row, as Resample.c writes it.
void horizontal_row_scalar(const uint8_t* in, const ResampleAxis& ax, int out_w, uint8_t* out) {
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

// The vertical pass for one output row: `rows[t]` is the intermediate row under tap t.
void vertical_row_scalar(const uint8_t* const* rows, const int32_t* k, int taps, size_t len,
                         uint8_t* out) {
  for (size_t i = 0; i < len; ++i) {
    int32_t s = 1 << (kPrecisionBits - 1);
    for (int t = 0; t < taps; ++t) s += rows[t][i] * k[t];
    out[i] = clip8(s);
  }
}

#if defined(__x86_64__) || defined(__i386__)
#define SEER_HAVE_AVX2_PATHS 1

// The same sums in 8 int32 lanes. Integer addition is associative and Pillow's sums never
// overflow int32, so any order of the products gives Pillow's bits.
//
// Horizontal: an output pixel reads 3 * xmax consecutive bytes (xmax RGB pixels). They are
// multiplied, 8 at a time, by `k3` (each weight repeated for R, G and B, zero past 3 * xmax);
// vector v holds bytes 8v..8v+7, whose channels repeat with period 3 in v, so three
// accumulators (v mod 3) keep every lane on one channel, summed per channel at the end.
// Outputs whose last 8-byte load would pass the row's end (the rightmost one or two) take the
// scalar loop.
__attribute__((target("avx2"))) void horizontal_row_avx2(const uint8_t* in, int in_w,
                                                         const ResampleAxis& ax,
                                                         const int32_t* k3, int k3_stride,
                                                         int out_w, uint8_t* out) {
  const size_t row_bytes = static_cast<size_t>(in_w) * 3;
  for (int xx = 0; xx < out_w; ++xx) {
    const int xmin = ax.bounds[xx * 2];
    const int xmax = ax.bounds[xx * 2 + 1];
    const size_t first = static_cast<size_t>(xmin) * 3;
    const int nv = (3 * xmax + 7) / 8;
    int32_t s[3] = {1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1),
                    1 << (kPrecisionBits - 1)};
    if (first + static_cast<size_t>(nv) * 8 > row_bytes) {
      const int32_t* k = &ax.coeffs[static_cast<size_t>(xx) * ax.ksize];
      const uint8_t* p = in + first;
      for (int x = 0; x < xmax; ++x, p += 3) {
        s[0] += p[0] * k[x];
        s[1] += p[1] * k[x];
        s[2] += p[2] * k[x];
      }
    } else {
      const uint8_t* p = in + first;
      const int32_t* k = k3 + static_cast<size_t>(xx) * k3_stride;
      __m256i acc[3] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
#define SEER_MAC(v)                                                                    \
  _mm256_mullo_epi32(                                                                  \
      _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8 * (v)))), \
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + 8 * (v))))
      int v = 0;
      for (; v + 3 <= nv; v += 3) {
        acc[0] = _mm256_add_epi32(acc[0], SEER_MAC(v));
        acc[1] = _mm256_add_epi32(acc[1], SEER_MAC(v + 1));
        acc[2] = _mm256_add_epi32(acc[2], SEER_MAC(v + 2));
      }
      if (v < nv) acc[0] = _mm256_add_epi32(acc[0], SEER_MAC(v));
      if (v + 1 < nv) acc[1] = _mm256_add_epi32(acc[1], SEER_MAC(v + 1));
#undef SEER_MAC
      alignas(32) int32_t lanes[24];
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc[0]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 8), acc[1]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 16), acc[2]);
      for (int i = 0; i < 24; i += 3) {  // lane i of the 24 holds channel i % 3
        s[0] += lanes[i];
        s[1] += lanes[i + 1];
        s[2] += lanes[i + 2];
      }
    }
    out[xx * 3 + 0] = clip8(s[0]);
    out[xx * 3 + 1] = clip8(s[1]);
    out[xx * 3 + 2] = clip8(s[2]);
  }
}

// Vertical: 16 bytes of the output row at a time, every tap accumulated in registers; clip8 is
// clamp(s >> 22, 0, 255), which the two saturating packs do.
__attribute__((target("avx2"))) void vertical_row_avx2(const uint8_t* const* rows,
                                                       const int32_t* k, int taps, size_t len,
                                                       uint8_t* out) {
  const __m256i half = _mm256_set1_epi32(1 << (kPrecisionBits - 1));
  size_t i = 0;
  for (; i + 16 <= len; i += 16) {
    __m256i a = half, b = half;
    for (int t = 0; t < taps; ++t) {
      const __m128i px = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[t] + i));
      const __m256i w = _mm256_set1_epi32(k[t]);
      a = _mm256_add_epi32(a, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(px), w));
      b = _mm256_add_epi32(
          b, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(px, 8)), w));
    }
    a = _mm256_srai_epi32(a, kPrecisionBits);
    b = _mm256_srai_epi32(b, kPrecisionBits);
    const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xD8);
    const __m128i w8 = _mm_packus_epi16(_mm256_castsi256_si128(w16),
                                        _mm256_extracti128_si256(w16, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), w8);
  }
  for (; i < len; ++i) {
    int32_t s = 1 << (kPrecisionBits - 1);
    for (int t = 0; t < taps; ++t) s += rows[t][i] * k[t];
    out[i] = clip8(s);
  }
}
#endif

}  // namespace

void set_pillow_resample_simd(bool enabled) { g_simd_allowed.store(enabled); }

PillowResizer::PillowResizer(const PaddedRgb& geometry, int out_width, int out_height,
                             PillowFilter filter, RowOrder order)
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
  if (geo_.left != 0 || geo_.width != cw) scratch_.assign(canvas_row, geo_.fill);
  const size_t mid_row = static_cast<size_t>(mid_w_) * 3;
  fill_result_.assign(mid_row, geo_.fill);
  if (need_h_) {
    horiz_ = pillow_resample_axis(cw, 0.f, static_cast<float>(cw), out_w_, filter);
    horiz3_stride_ = (3 * horiz_.ksize + 7) / 8 * 8;
    horiz3_.assign(static_cast<size_t>(out_w_) * horiz3_stride_, 0);
    for (int xx = 0; xx < out_w_; ++xx) {
      const int32_t* k = &horiz_.coeffs[static_cast<size_t>(xx) * horiz_.ksize];
      int32_t* k3 = &horiz3_[static_cast<size_t>(xx) * horiz3_stride_];
      for (int x = 0; x < horiz_.bounds[xx * 2 + 1]; ++x) k3[3 * x] = k3[3 * x + 1] = k3[3 * x + 2] = k[x];
    }
    std::vector<uint8_t> fill_row(canvas_row, geo_.fill);
    horizontal_row_scalar(fill_row.data(), horiz_, out_w_, fill_result_.data());
  }
  // Ring mode needs rows in order and a vertical pass (without one the intermediate is the
  // output, no larger than it).
  ring_ = order == RowOrder::kTopDown && need_v_;
  // No zero fill: every intermediate row is written (picture row or fill result) before the
  // vertical pass reads it.
  if (ring_) {
    ring_rows_ = vert_.ksize;
    next_row_ = y_first_;
    mid_.reset(new uint8_t[mid_row * static_cast<size_t>(ring_rows_)]);
    out_.reset(new uint8_t[mid_row * static_cast<size_t>(out_h_)]);
  } else {
    const size_t rows = static_cast<size_t>(y_last_ - y_first_);
    mid_.reset(new uint8_t[mid_row * rows]);
    for (size_t y = 0; y < rows; ++y) std::memcpy(mid_.get() + mid_row * y, fill_result_.data(), mid_row);
  }
}

uint8_t* PillowResizer::mid_row_for(int canvas_y) {
  const size_t mid_row = static_cast<size_t>(mid_w_) * 3;
  const int slot = ring_ ? (canvas_y - y_first_) % ring_rows_ : canvas_y - y_first_;
  return mid_.get() + mid_row * static_cast<size_t>(slot);
}

void PillowResizer::push_picture_row(int picture_y, const uint8_t* rgb) {
  const int y = geo_.top + picture_y;
  if (y < y_first_ || y >= y_last_) return;  // no output pixel reads this row
  if (ring_) {
    assert(y >= next_row_ && "RowOrder::kTopDown: rows must arrive top to bottom");
    if (y < next_row_) return;
    const size_t mid_row = static_cast<size_t>(mid_w_) * 3;
    for (; next_row_ < y; ++next_row_) {  // padding (or skipped) rows above this one
      std::memcpy(mid_row_for(next_row_), fill_result_.data(), mid_row);
      emit_ready_rows();
    }
  }
  const uint8_t* row = rgb;
  if (!scratch_.empty()) {
    std::memcpy(scratch_.data() + static_cast<size_t>(geo_.left) * 3, rgb,
                static_cast<size_t>(geo_.width) * 3);
    row = scratch_.data();
  }
  uint8_t* dst = mid_row_for(y);
  if (!need_h_) {
    std::memcpy(dst, row, static_cast<size_t>(mid_w_) * 3);
#ifdef SEER_HAVE_AVX2_PATHS
  } else if (use_avx2()) {
    horizontal_row_avx2(row, geo_.canvas_width, horiz_, horiz3_.data(), horiz3_stride_, out_w_,
                        dst);
#endif
  } else {
    horizontal_row_scalar(row, horiz_, out_w_, dst);
  }
  if (ring_) {
    next_row_ = y + 1;
    emit_ready_rows();
  }
}

void PillowResizer::vertical_row(int yy, uint8_t* dst) const {
  const size_t mid_row = static_cast<size_t>(mid_w_) * 3;
  const int ymin = vert_.bounds[yy * 2];
  const int taps = vert_.bounds[yy * 2 + 1];
  const int32_t* k = &vert_.coeffs[static_cast<size_t>(yy) * vert_.ksize];
  // Row pointers per tap (ring slots wrap); the sums are Pillow's, only taken row-contiguous.
  const uint8_t* rows_small[64] = {};
  std::vector<const uint8_t*> rows_big;
  const uint8_t** rows = rows_small;
  if (taps > 64) {
    rows_big.resize(taps);
    rows = rows_big.data();
  }
  for (int t = 0; t < taps; ++t) {
    const int y = ymin + t;
    const int slot = ring_ ? (y - y_first_) % ring_rows_ : y - y_first_;
    rows[t] = mid_.get() + mid_row * static_cast<size_t>(slot);
  }
#ifdef SEER_HAVE_AVX2_PATHS
  if (use_avx2()) {
    vertical_row_avx2(rows, k, taps, mid_row, dst);
    return;
  }
#endif
  vertical_row_scalar(rows, k, taps, mid_row, dst);
}

void PillowResizer::emit_ready_rows() {
  const size_t mid_row = static_cast<size_t>(mid_w_) * 3;
  while (next_out_ < out_h_ &&
         vert_.bounds[next_out_ * 2] + vert_.bounds[next_out_ * 2 + 1] <= next_row_) {
    vertical_row(next_out_, out_.get() + mid_row * static_cast<size_t>(next_out_));
    ++next_out_;
  }
}

void PillowResizer::finish(uint8_t* out) {
  const size_t mid_row = static_cast<size_t>(mid_w_) * 3;
  if (!need_v_) {
    std::memcpy(out, mid_.get(), mid_row * static_cast<size_t>(out_h_));
    return;
  }
  if (ring_) {
    for (; next_row_ < y_last_; ++next_row_) {  // padding rows below the picture
      std::memcpy(mid_row_for(next_row_), fill_result_.data(), mid_row);
      emit_ready_rows();
    }
    emit_ready_rows();
    std::memcpy(out, out_.get(), mid_row * static_cast<size_t>(out_h_));
    return;
  }
  for (int yy = 0; yy < out_h_; ++yy) vertical_row(yy, out + mid_row * static_cast<size_t>(yy));
}

void pillow_resize_rgb(const PaddedRgb& src, int out_width, int out_height, PillowFilter filter,
                       uint8_t* out) {
  PillowResizer resizer(src, out_width, out_height, filter, RowOrder::kTopDown);
  for (int y = 0; y < src.height; ++y) {
    resizer.push_picture_row(y, src.pixels + src.stride * static_cast<size_t>(y));
  }
  resizer.finish(out);
}

}  // namespace seer
