// Limits a decode enforces before (and while) it spends memory on pixels.
//
//   DecodeLimits limits;                 // the documented defaults below
//   limits.max_pixels = 50'000'000;      // tighter for a small box
//   SEER_ASSIGN_OR_RETURN(DecodedImage img, decode_image(bytes, {.limits = limits}, ledger));
//
// Every check happens on the header, before a pixel buffer exists, so a decompression bomb
// (a few KB of PNG that claims 100 000 × 100 000) costs nothing. A value over a limit is a
// PayloadTooLarge whose message names the limit and the value. Plain value type.
#pragma once

#include <cstdint>

namespace seer {

struct DecodeLimits {
  // Bytes of encoded input (a file's size or an upload's length). 128 MiB: a 24-MP phone JPEG is
  // ~10 MB, a 16-bit RGB TIFF scan of 8000×6000 is ~290 MB and is refused by default.
  uint64_t max_input_bytes = 128ull << 20;
  // width × height of the stored image. Pillow's DecompressionBombError threshold
  // (2 × Image.MAX_IMAGE_PIXELS = 178 956 970), so seer refuses nothing Pillow's default accepts.
  // At 4 bytes a pixel this is ~683 MiB of decode buffer; the ledger's budget still applies.
  uint64_t max_pixels = 178'956'970;
  // Either side. 65 535 is the largest a JPEG can declare; PNG/TIFF/WebP claims above it are
  // refused even when the pixel count is small (a 100 000 × 1 strip).
  uint32_t max_width = 65'535;
  uint32_t max_height = 65'535;
};

}  // namespace seer
