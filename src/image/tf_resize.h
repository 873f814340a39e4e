// tf.image.resizeBilinear(x / 255, [out_h, out_w], alignCorners = true, halfPixelCenters =
// false) as tfjs's CPU kernel computes it, for x 8-bit: each sample becomes float32(v) / 255.0f
// (tf's float32 div), interpolation runs in float64 (JS numbers), the output is float32. This is
// nsfwjs's `fromPixels(img).toFloat().div(255)` then `resizeBilinear(..., true)`. The division
// happens per sample read, so no float copy of the photo is made.
//
//   tf_resize_bilinear_align_corners(rgb_u8, w, h, 3, dst_f32, 224, 224);
//
// Pure function; thread-safe.
#pragma once

#include <cstdint>

namespace seer {

void tf_resize_bilinear_align_corners(const uint8_t* src, int in_w, int in_h, int channels,
                                      float* dst, int out_w, int out_h);

}  // namespace seer
