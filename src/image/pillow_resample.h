// Pillow's Image.resize for 8-bit RGB, reproduced bit for bit (libImaging/Resample.c,
// ImagingResample with the default box): separable, horizontal pass first into an 8-bit
// intermediate, per-output-pixel coefficient tables normalised to sum 1 and converted to
// 22-bit fixed point, accumulators starting at 1 << 21, results clipped to 0..255. The filter's
// support is scaled by max(in/out, 1), so downscaling is antialiased; upscaling works too.
//
//   PaddedRgb src{.pixels = rgb, .width = w, .height = h, .stride = w * 3,
//                 .canvas_width = m, .canvas_height = m, .left = (m - w) / 2, .top = (m - h) / 2,
//                 .fill = 255};                               // white pad to a square, virtually
//   std::vector<uint8_t> out(448 * 448 * 3);
//   pillow_resize_rgb(src, 448, 448, PillowFilter::kBicubic, out.data());
//
// The padded canvas is never materialised: rows outside the picture are the fill value, so the
// only extra memory is the intermediate (out_width × canvas_height × 3 bytes). The result is
// what Pillow gives for `canvas.paste(img, (left, top)); canvas.resize((W, H), filter)`.
// Pure function of its inputs; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace seer {

enum class PillowFilter { kBilinear, kBicubic };

// 8-bit RGB pixels (3 bytes a pixel) placed at (left, top) on a canvas_width × canvas_height
// canvas of `fill`. The picture must lie inside the canvas.
struct PaddedRgb {
  const uint8_t* pixels = nullptr;
  int width = 0;
  int height = 0;
  size_t stride = 0;  // bytes between rows
  int canvas_width = 0;
  int canvas_height = 0;
  int left = 0;
  int top = 0;
  uint8_t fill = 255;
};

// Pillow's precomputed coefficients for one axis (precompute_coeffs + normalize_coeffs_8bpc).
struct ResampleAxis {
  int ksize = 0;
  std::vector<int> bounds;      // per output: first input index, count
  std::vector<int32_t> coeffs;  // per output: ksize fixed-point weights
};
ResampleAxis pillow_resample_axis(int in_size, float in0, float in1, int out_size,
                                  PillowFilter filter);

// The same resize fed one picture row at a time, so a decoder can stream rows into it and the
// photo never exists in memory as a whole:
//
//   PillowResizer r(geometry, 448, 448, PillowFilter::kBicubic, RowOrder::kTopDown);
//   for (each decoded row y, increasing) r.push_picture_row(y, rgb_row);  // geometry.width px
//   r.finish(tile);                                                        // 448 × 448 × 3 bytes
//
// RowOrder::kAny accepts rows in any order and holds the whole intermediate (out_width ×
// canvas_height × 3 bytes). RowOrder::kTopDown requires increasing y (a row at or above one
// already pushed is a programmer error: asserted, ignored in release builds) and holds only a
// ring of ksize intermediate rows plus the output, computing each output row as soon as its
// last input row arrives. Both give the same bytes. Rows never pushed count as `fill`.
// Not thread-safe; one resizer per image.
enum class RowOrder { kAny, kTopDown };

class PillowResizer {
 public:
  PillowResizer(const PaddedRgb& geometry, int out_width, int out_height, PillowFilter filter,
                RowOrder order = RowOrder::kAny);
  void push_picture_row(int picture_y, const uint8_t* rgb);
  void finish(uint8_t* out);

 private:
  uint8_t* mid_row_for(int canvas_y);  // where the horizontal pass of canvas row y goes
  void emit_ready_rows();              // ring mode: output rows whose inputs are all in
  void vertical_row(int yy, uint8_t* dst) const;

  PaddedRgb geo_;
  int out_w_ = 0, out_h_ = 0, mid_w_ = 0, y_first_ = 0, y_last_ = 0;
  bool need_h_ = false, need_v_ = false, ring_ = false;
  int ring_rows_ = 0;  // ring mode: intermediate rows kept (vertical ksize)
  int next_row_ = 0;   // ring mode: next canvas row to enter the ring
  int next_out_ = 0;   // ring mode: next output row to compute
  ResampleAxis horiz_, vert_;
  std::vector<int32_t> horiz3_;       // SIMD horizontal pass: coefficients repeated per channel
  int horiz3_stride_ = 0;             // int32s per output pixel in horiz3_
  std::vector<uint8_t> scratch_;      // one canvas row: fill + picture row
  std::vector<uint8_t> fill_result_;  // horizontal pass of a fill row
  std::unique_ptr<uint8_t[]> mid_;    // horizontal-pass output: canvas rows or the ring
  std::unique_ptr<uint8_t[]> out_;    // ring mode: the output rows computed so far
};

// Test hook: false forces the portable scalar loops (true, the default, picks the fastest the
// CPU supports). Both give identical bytes; tests compare them.
void set_pillow_resample_simd(bool enabled);

// Writes out_width × out_height × 3 bytes to `out`. Sizes must be positive.
void pillow_resize_rgb(const PaddedRgb& src, int out_width, int out_height, PillowFilter filter,
                       uint8_t* out);

}  // namespace seer
