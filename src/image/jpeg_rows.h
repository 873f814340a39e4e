// Direct libjpeg(-turbo) row reader for plain JPEGs, so the exact decode skips libvips's
// pipeline (which allocates and zero-fills a fresh strip buffer per stage per strip: ~144 MB of
// memset for a 12-MP photo).
//
//   JpegRowsResult r = read_jpeg_rows(bytes, nullptr, 1, w, h, [&](int y, const uint8_t* rgb) {...});
//   if (r == JpegRowsResult::kNotEligible) { /* nothing delivered: decode with libvips */ }
//   if (r == JpegRowsResult::kRestart)     { /* rows were delivered: start over with libvips */ }
//
// Eligible: 3-component YCbCr/RGB and 1-component gray JPEGs (CMYK/YCCK go to libvips, which
// inverts Adobe CMYK). Settings are libjpeg's defaults, the ones libvips's jpegload and Pillow
// use (JDCT_ISLOW, fancy upsampling; scale 1/shrink for shrink-on-load), so the pixels are the
// same bytes libvips would give. Any libjpeg warning (corrupt data it conceals, truncation) or
// error makes the result kRestart: the caller re-decodes with libvips, which applies its own
// fail-on policy and error messages, so behaviour on damaged files does not change.
// Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace seer {

enum class JpegRowsResult { kDone, kNotEligible, kRestart };

// Reads `path` when non-null, else `bytes`. Rows are RGB (3 bytes a pixel), top to bottom;
// `expect_width` × `expect_height` is the size libvips reported at this shrink (a mismatch is
// kNotEligible).
JpegRowsResult read_jpeg_rows(std::span<const uint8_t> bytes, const std::string* path, int shrink,
                              int expect_width, int expect_height,
                              const std::function<void(int y, const uint8_t* rgb)>& on_row);

// Test hook: false makes the decoder use libvips for every JPEG (the reference the direct path
// must equal). Default true.
void set_direct_jpeg_rows(bool enabled);
bool direct_jpeg_rows_enabled();
// How many reads ended in kRestart in this process (so tests can show the path ran).
uint64_t direct_jpeg_restart_count();

}  // namespace seer
