// A decoded image: 8-bit RGB or RGBA pixels, upright (EXIF orientation applied unless asked
// not to), in a ledger Buffer tagged `decode`.
//
//   SEER_ASSIGN_OR_RETURN(DecodedImage img, decode_image(bytes, {}, ledger));
//   const uint8_t* row = img.row(y);          // img.width * img.channels bytes
//
// The pixel values are those Pillow's `Image.open(f)` → `ImageOps.exif_transpose` →
// `convert("RGBA")` (channels == 4) or `convert("RGB")` (channels == 3) gives, for the formats
// listed in image/decoder.h. Move-only (owns its Buffer); not thread-safe to mutate.
#pragma once

#include <cstdint>
#include <string>

#include "memory/ledger.h"

namespace seer {

struct DecodedImage {
  int width = 0;
  int height = 0;
  int channels = 0;  // 3 (RGB) or 4 (RGBA, straight alpha)
  Buffer pixels;     // height rows of width * channels bytes, no row padding

  // What was read, for logs and tests.
  std::string format;    // "jpeg", "png", "webp", "gif", "tiff", "bmp", "heif"
  int source_width = 0;  // as stored in the file, before shrink-on-load and orientation
  int source_height = 0;
  int orientation = 1;  // EXIF orientation found (1..8); 1 when absent
  int shrink = 1;       // shrink-on-load factor used (1 = full decode)

  bool has_alpha() const { return channels == 4; }
  size_t row_bytes() const { return static_cast<size_t>(width) * static_cast<size_t>(channels); }
  const uint8_t* row(int y) const {
    return pixels.as<uint8_t>() + row_bytes() * static_cast<size_t>(y);
  }
  uint8_t* row(int y) { return pixels.as<uint8_t>() + row_bytes() * static_cast<size_t>(y); }
};

}  // namespace seer
