// Removing alpha the two ways the reference pipelines do, in place on a DecodedImage.
//
//   composite_over_white(img);   // WD14 Space: Image.new("RGBA", size, WHITE).alpha_composite(im)
//                                //             then convert("RGB")
//   drop_alpha(img);             // classifiers: im.convert("RGB") (alpha discarded, no blend)
//
// Both turn a 4-channel image into 3 channels (rows repacked in place; the Buffer keeps its
// size) and leave 3-channel images alone. composite_over_white uses Pillow's integer
// arithmetic (libImaging/AlphaComposite.c, 7 extra bits, rounded divisions by 255), so every
// semi-transparent pixel matches Debian's Pillow exactly. (Pillow-SIMD builds compute the blend
// coefficient differently and can differ by 1 on such pixels; stock Pillow has no SIMD path.)
// Not thread-safe on the same image.
#pragma once

#include <cstdint>

#include "image/decoded_image.h"

namespace seer {

void composite_over_white(DecodedImage& image);
void drop_alpha(DecodedImage& image);

// One RGBA pixel over an opaque white background, as AlphaComposite.c computes it.
void composite_pixel_over_white(const uint8_t* rgba, uint8_t* rgb);

}  // namespace seer
