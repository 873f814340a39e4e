#include "image/pillow_alpha.h"

namespace seer {
namespace {

constexpr uint32_t kPrecisionBits = 7;  // AlphaComposite.c
inline uint32_t shift_for_div255(uint32_t a) { return ((a >> 8) + a) >> 8; }

template <typename PixelFn>
void repack_rgba_to_rgb(DecodedImage& image, PixelFn fn) {
  if (image.channels != 4) return;
  uint8_t* base = image.pixels.as<uint8_t>();
  const size_t n = static_cast<size_t>(image.width) * static_cast<size_t>(image.height);
  // Forward in-place repack: pixel i is written at 3i, read from 4i >= 3i.
  for (size_t i = 0; i < n; ++i) {
    uint8_t px[4] = {base[4 * i], base[4 * i + 1], base[4 * i + 2], base[4 * i + 3]};
    fn(px, base + 3 * i);
  }
  image.channels = 3;
}

}  // namespace

void composite_pixel_over_white(const uint8_t* src, uint8_t* out) {
  const uint32_t sa = src[3];
  if (sa == 0) {  // Pillow copies the destination pixel
    out[0] = out[1] = out[2] = 255;
    return;
  }
  constexpr uint32_t da = 255, dc = 255;
  const uint32_t blend = da * (255 - sa);
  const uint32_t outa255 = sa * 255 + blend;
  const uint32_t coef1 = sa * 255 * 255 * (1u << kPrecisionBits) / outa255;
  const uint32_t coef2 = 255 * (1u << kPrecisionBits) - coef1;
  for (int c = 0; c < 3; ++c) {
    const uint32_t tmp = src[c] * coef1 + dc * coef2;
    out[c] =
        static_cast<uint8_t>(shift_for_div255(tmp + (0x80u << kPrecisionBits)) >> kPrecisionBits);
  }
}

void composite_over_white(DecodedImage& image) {
  repack_rgba_to_rgb(image,
                     [](const uint8_t* px, uint8_t* out) { composite_pixel_over_white(px, out); });
}

void drop_alpha(DecodedImage& image) {
  repack_rgba_to_rgb(image, [](const uint8_t* px, uint8_t* out) {
    out[0] = px[0];
    out[1] = px[1];
    out[2] = px[2];
  });
}

}  // namespace seer
