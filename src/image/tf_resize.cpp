#include "image/tf_resize.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace seer {
namespace {
// tf's toFloat().div(255): a float32 division, correctly rounded.
inline float to_unit(uint8_t v) { return static_cast<float>(v) / 255.0f; }
}  // namespace

void tf_resize_bilinear_align_corners(const uint8_t* src, int in_w, int in_h, int channels,
                                      float* dst, int out_w, int out_h) {
  // tfjs-backend-cpu ResizeBilinear: with alignCorners the corner pixels map to corners.
  const double eff_in_h = out_h > 1 ? in_h - 1 : in_h;
  const double eff_in_w = out_w > 1 ? in_w - 1 : in_w;
  const double eff_out_h = out_h > 1 ? out_h - 1 : out_h;
  const double eff_out_w = out_w > 1 ? out_w - 1 : out_w;
  const double row_ratio = eff_in_h / eff_out_h;
  const double col_ratio = eff_in_w / eff_out_w;
  const size_t row_stride = static_cast<size_t>(in_w) * channels;
  size_t o = 0;
  for (int r = 0; r < out_h; ++r) {
    const double src_row = row_ratio * r;
    const int row_floor = std::max(0, static_cast<int>(std::floor(src_row)));
    const double row_frac = src_row - row_floor;
    const int row_ceil = std::min(in_h - 1, static_cast<int>(std::ceil(src_row)));
    const uint8_t* top = src + row_stride * row_floor;
    const uint8_t* bottom = src + row_stride * row_ceil;
    for (int c = 0; c < out_w; ++c) {
      const double src_col = col_ratio * c;
      const int col_floor = std::max(0, static_cast<int>(std::floor(src_col)));
      const double col_frac = src_col - col_floor;
      const int col_ceil = std::min(in_w - 1, static_cast<int>(std::ceil(src_col)));
      for (int d = 0; d < channels; ++d) {
        const double tl = to_unit(top[col_floor * channels + d]);
        const double tr = to_unit(top[col_ceil * channels + d]);
        const double bl = to_unit(bottom[col_floor * channels + d]);
        const double br = to_unit(bottom[col_ceil * channels + d]);
        const double t = tl + (tr - tl) * col_frac;
        const double b = bl + (br - bl) * col_frac;
        dst[o++] = static_cast<float>(t + (b - t) * row_frac);
      }
    }
  }
}

}  // namespace seer
