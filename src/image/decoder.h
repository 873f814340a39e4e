// Image decoding with libvips: bytes or a file → an upright 8-bit RGB/RGBA DecodedImage.
//
//   MemoryLedger& ledger = ...;
//   DecodeOptions opt;                            // exact full decode, EXIF orientation applied
//   SEER_ASSIGN_OR_RETURN(DecodedImage img, decode_image(bytes, opt, ledger));
//
//   opt.shrink_on_load = 4;                       // JPEG DCT-domain / WebP scaled decode
//   SEER_ASSIGN_OR_RETURN(DecodedImage small, decode_image_file("big.jpg", opt, ledger));
//
// Formats: JPEG (baseline, progressive, grayscale, CMYK), PNG (1–16 bit, gray, palette with
// tRNS, alpha), WebP (lossy, lossless, alpha), GIF (first frame), TIFF (8/16-bit gray, RGB,
// RGBA, CMYK), BMP (through libvips's ImageMagick loader, only for data that starts "BM"), and
// HEIF/AVIF when Debian's libvips has its heif module. Anything else is Unsupported.
// Conversions follow Pillow's `convert("RGBA")`: gray is replicated; CMYK uses Pillow's integer
// cmyk2rgb (not an ICC transform); 16-bit samples keep their high byte (v >> 8, as Pillow does
// for 16-bit RGB PNGs — Pillow clips 16-bit *gray* to 0..255 instead, which seer does not copy).
//
// Errors: PayloadTooLarge (bytes, pixels, width, height over DecodeLimits, naming limit and
// value), Unsupported (format or sample layout), InvalidArgument (truncated or corrupt data:
// libvips runs with fail_on = error, so a file cut short or a broken header, table or zlib
// stream fails; damage that libjpeg itself conceals with a warning, such as a corrupt entropy
// segment, decodes as it does in Pillow),
// ResourceExhausted (the ledger's budget refuses the pixel buffer), NotFound (file).
//
// Pixel source: libvips for every format, except that plain JPEGs (YCbCr, RGB or gray; any
// shrink) are read with libjpeg-turbo directly (image/jpeg_rows.h) — same library defaults, so
// the same pixels, without libvips's per-strip buffer allocation; a JPEG whose direct read meets
// any libjpeg warning or error is decoded again by libvips, so damaged files behave as before.
//
// Thread-safe: any number of threads may decode at once (libvips is started once, its operation
// cache is disabled so memory stays flat, and each decode runs on the calling thread).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "image/decode_limits.h"
#include "image/decoded_image.h"
#include "memory/ledger.h"

namespace seer {

struct DecodeOptions {
  DecodeLimits limits;
  bool apply_orientation = true;  // EXIF orientation (ImageOps.exif_transpose); off = as stored
  // 1 = exact full decode. 2, 4 or 8: JPEG decodes at 1/n in the DCT domain, WebP at 1/n scale
  // (other formats ignore it). Not bit-exact with Pillow; see choose_shrink() and preprocess.h.
  int shrink_on_load = 1;
  std::string owner = "system";  // ledger owner of the pixel buffer (tag decode)
};

StatusOr<DecodedImage> decode_image(std::span<const uint8_t> bytes, const DecodeOptions& options,
                                    MemoryLedger& ledger);
StatusOr<DecodedImage> decode_image_file(const std::string& path, const DecodeOptions& options,
                                         MemoryLedger& ledger);

// Streaming decode: the upright rows handed to `on_row` one at a time, so the photo never
// exists in memory as a whole. For orientations 1–4 only libvips's few strips and one row are
// alive (rows arrive top to bottom, or bottom to top for 3 and 4); orientations 5–8 transpose,
// which needs every row first, so those decode into a ledger buffer (tag decode) and replay it.
// `on_begin` sees the upright geometry (and the row order) before any row and may refuse (its
// Status is returned). It is called again, and every row delivered again, if a direct JPEG read
// hits damaged data after some rows and the decode restarts with libvips.
struct RowStreamInfo {
  std::string format;
  int width = 0;  // upright
  int height = 0;
  int channels = 0;  // 3 or 4, as DecodedImage
  int source_width = 0;
  int source_height = 0;
  int orientation = 1;
  int shrink = 1;
  bool bottom_up = false;  // rows arrive from the last to the first (orientations 3 and 4)
};
using RowBeginFn = std::function<Status(const RowStreamInfo&)>;
using RowFn = std::function<void(int y, const uint8_t* row)>;  // width * channels bytes
Status decode_image_rows(std::span<const uint8_t> bytes, const DecodeOptions& options,
                         MemoryLedger& ledger, const RowBeginFn& on_begin, const RowFn& on_row);
Status decode_image_rows_file(const std::string& path, const DecodeOptions& options,
                              MemoryLedger& ledger, const RowBeginFn& on_begin,
                              const RowFn& on_row);

// Header only: format and stored size (no pixels decoded), after the byte and format checks but
// before the pixel limits, so callers can pick a shrink factor. Same errors as decode_image.
struct ImageHeader {
  std::string format;
  int width = 0;
  int height = 0;
  int orientation = 1;
};
StatusOr<ImageHeader> read_image_header(std::span<const uint8_t> bytes, const DecodeLimits& limits);
StatusOr<ImageHeader> read_image_header_file(const std::string& path, const DecodeLimits& limits);

// Sniffs the container from the first bytes: "jpeg", "png", ... or "" when unknown.
std::string_view sniff_image_format(std::span<const uint8_t> head);

// The largest of {1, 2, 4, 8} that keeps `longest_side / n >= margin * needed_side`: the
// shrink-on-load factor for a source whose long side is `longest_side` when the result will
// be resampled so that side becomes `needed_side`. Only JPEG and WebP honour it.
int choose_shrink(int longest_side, int needed_side, double margin = 2.0);

}  // namespace seer
