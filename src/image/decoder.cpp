#include "image/decoder.h"

#include <sys/stat.h>
#include <vips/vips.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "image/jpeg_rows.h"
#include "image/vips_runtime.h"

namespace seer {
namespace {

struct GObjectUnref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
using VipsImagePtr = std::unique_ptr<VipsImage, GObjectUnref>;
using VipsRegionPtr = std::unique_ptr<VipsRegion, GObjectUnref>;

// Where the encoded bytes come from: memory (span) or a file (path; libvips reads it itself).
struct Source {
  std::span<const uint8_t> bytes;
  const std::string* path = nullptr;
  std::string describe() const { return path ? "'" + *path + "'" : "image data"; }
};

bool has_prefix(std::span<const uint8_t> head, std::string_view magic, size_t at = 0) {
  if (head.size() < at + magic.size()) return false;
  return std::memcmp(head.data() + at, magic.data(), magic.size()) == 0;
}

// Reads the first bytes of a file for sniffing; NotFound / InvalidArgument on failure.
StatusOr<std::vector<uint8_t>> read_file_head(const std::string& path, size_t n) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return Status::not_found("cannot open image '{}': {}", path, std::strerror(errno));
  std::vector<uint8_t> head(n);
  head.resize(std::fread(head.data(), 1, n, f.get()));
  return head;
}

// Opens the image lazily (header only; pixels are decoded when regions are prepared), top to
// bottom (sequential access: libvips keeps a few strips, never the whole image), failing on
// truncation or corruption instead of returning grey rows.
StatusOr<VipsImagePtr> open_image(const Source& src, std::string_view format, int shrink) {
  VipsImage* out = nullptr;
  const int access = VIPS_ACCESS_SEQUENTIAL;
  const int fail = VIPS_FAIL_ON_ERROR;
  void* buf = const_cast<uint8_t*>(src.bytes.data());
  const size_t len = src.bytes.size();
  const char* path = src.path ? src.path->c_str() : nullptr;
  int rc = -1;
#define SEER_VIPS_LOAD(loader, ...)                                                       \
  rc = path ? vips_##loader(path, &out, "access", access, "fail_on", fail, ##__VA_ARGS__) \
            : vips_##loader##_buffer(buf, len, &out, "access", access, "fail_on", fail,   \
                                     ##__VA_ARGS__)
  if (format == "jpeg") {
    SEER_VIPS_LOAD(jpegload, "shrink", shrink, nullptr);
  } else if (format == "png") {
    SEER_VIPS_LOAD(pngload, nullptr);
  } else if (format == "webp") {
    SEER_VIPS_LOAD(webpload, "scale", 1.0 / shrink, nullptr);
  } else if (format == "gif") {
    SEER_VIPS_LOAD(gifload, nullptr);
  } else if (format == "tiff") {
    SEER_VIPS_LOAD(tiffload, nullptr);
  } else if (format == "heif") {
    SEER_VIPS_LOAD(heifload, nullptr);
  } else if (format == "bmp") {
    SEER_VIPS_LOAD(magickload, nullptr);
  } else {
    return Status::unsupported("{}: unsupported image format", src.describe());
  }
#undef SEER_VIPS_LOAD
  if (rc != 0 || out == nullptr) {
    return vips_failure(StatusCode::kInvalidArgument,
                        fmt::format("{}: not a readable {} image", src.describe(), format));
  }
  return VipsImagePtr(out);
}

Status check_pixel_limits(const DecodeLimits& limits, int w, int h, std::string_view what) {
  if (w <= 0 || h <= 0)
    return Status::invalid_argument("{}: image has no pixels ({} × {})", what, w, h);
  if (static_cast<uint64_t>(w) > limits.max_width) {
    return Status::payload_too_large("{}: width {} exceeds the limit max_width = {}", what, w,
                                     limits.max_width);
  }
  if (static_cast<uint64_t>(h) > limits.max_height) {
    return Status::payload_too_large("{}: height {} exceeds the limit max_height = {}", what, h,
                                     limits.max_height);
  }
  const uint64_t pixels = static_cast<uint64_t>(w) * static_cast<uint64_t>(h);
  if (pixels > limits.max_pixels) {
    return Status::payload_too_large("{}: {} × {} = {} pixels exceeds the limit max_pixels = {}",
                                     what, w, h, pixels, limits.max_pixels);
  }
  return Status::ok_status();
}

// The checks common to bytes and files: size, format, header, pixel limits.
struct Opened {
  std::string format;
  VipsImagePtr image;  // opened without shrink
  int width = 0, height = 0, orientation = 1;
};

StatusOr<Opened> open_checked(const Source& src, std::span<const uint8_t> head, uint64_t size,
                              const DecodeLimits& limits) {
  SEER_RETURN_IF_ERROR(ensure_vips_started());
  if (size > limits.max_input_bytes) {
    return Status::payload_too_large("{}: {} bytes exceeds the limit max_input_bytes = {}",
                                     src.describe(), size, limits.max_input_bytes);
  }
  if (size == 0) return Status::invalid_argument("{}: empty (0 bytes)", src.describe());
  Opened o;
  o.format = std::string(sniff_image_format(head));
  if (o.format.empty()) {
    return Status::unsupported(
        "{}: unsupported image format (not JPEG, PNG, WebP, GIF, TIFF, BMP or HEIF/AVIF)",
        src.describe());
  }
  SEER_ASSIGN_OR_RETURN(o.image, open_image(src, o.format, 1));
  o.width = vips_image_get_width(o.image.get());
  o.height = vips_image_get_height(o.image.get());
  o.orientation = vips_image_get_orientation(o.image.get());
  if (o.orientation < 1 || o.orientation > 8) o.orientation = 1;
  SEER_RETURN_IF_ERROR(check_pixel_limits(limits, o.width, o.height, src.describe()));
  return o;
}

// Pillow's cmyk2rgb (libImaging/Convert.c): integer, no colour management.
inline uint8_t cmyk_channel(int v, int nk) {
  const int tmp = v * nk + 128;
  const int r = nk - (((tmp >> 8) + tmp) >> 8);
  return static_cast<uint8_t>(std::clamp(r, 0, 255));
}

// One libvips row (uchar or ushort samples, 1–5 bands) → RGB or RGBA bytes.
struct RowLayout {
  int bands = 0;
  bool sixteen = false;
  bool cmyk = false;
  int out_channels = 0;
};

StatusOr<RowLayout> row_layout(VipsImage* im, std::string_view what) {
  RowLayout l;
  l.bands = vips_image_get_bands(im);
  const VipsBandFormat fmt = vips_image_get_format(im);
  if (fmt != VIPS_FORMAT_UCHAR && fmt != VIPS_FORMAT_USHORT) {
    return Status::unsupported(
        "{}: sample format '{}' is not supported (8- or 16-bit integers only)", what,
        vips_enum_nick(VIPS_TYPE_BAND_FORMAT, fmt));
  }
  l.sixteen = fmt == VIPS_FORMAT_USHORT;
  const VipsInterpretation interp = vips_image_get_interpretation(im);
  l.cmyk = interp == VIPS_INTERPRETATION_CMYK && l.bands >= 4;
  if (interp == VIPS_INTERPRETATION_LAB || interp == VIPS_INTERPRETATION_LABS ||
      interp == VIPS_INTERPRETATION_LABQ || interp == VIPS_INTERPRETATION_XYZ) {
    return Status::unsupported("{}: colour space '{}' is not supported", what,
                               vips_enum_nick(VIPS_TYPE_INTERPRETATION, interp));
  }
  switch (l.bands) {
    case 1:
    case 3:
      l.out_channels = 3;
      break;
    case 2:
      l.out_channels = 4;
      break;
    case 4:
      l.out_channels = l.cmyk ? 3 : 4;
      break;
    case 5:
      if (!l.cmyk) return Status::unsupported("{}: 5-band image that is not CMYK + alpha", what);
      l.out_channels = 4;
      break;
    default:
      return Status::unsupported("{}: {} bands are not supported (1 to 5)", what, l.bands);
  }
  return l;
}

// Row converters, one per sample layout, chosen once per image so the pixel loops carry no
// format branches. 8-bit RGB and RGBA need no conversion: their libvips rows are passed on as
// they are (ConvertFn == nullptr).
using ConvertFn = void (*)(const uint8_t* in, int width, uint8_t* out);

template <bool kSixteen>
inline int sample_at(const uint8_t* in, size_t i) {
  if constexpr (kSixteen) {
    uint16_t v;
    std::memcpy(&v, in + 2 * i, 2);
    return v >> 8;
  } else {
    return in[i];
  }
}

template <bool kSixteen, int kBands, bool kCmyk>
void convert_row_as(const uint8_t* in, int width, uint8_t* out) {
  constexpr int oc = kCmyk ? (kBands == 5 ? 4 : 3) : (kBands == 1 || kBands == 3 ? 3 : 4);
  for (int x = 0; x < width; ++x) {
    const size_t i = static_cast<size_t>(x) * kBands;
    uint8_t* o = out + static_cast<size_t>(x) * oc;
    if constexpr (kCmyk) {
      const int nk = 255 - sample_at<kSixteen>(in, i + 3);
      o[0] = cmyk_channel(sample_at<kSixteen>(in, i), nk);
      o[1] = cmyk_channel(sample_at<kSixteen>(in, i + 1), nk);
      o[2] = cmyk_channel(sample_at<kSixteen>(in, i + 2), nk);
      if constexpr (oc == 4) o[3] = static_cast<uint8_t>(sample_at<kSixteen>(in, i + 4));
    } else if constexpr (kBands <= 2) {
      const uint8_t g = static_cast<uint8_t>(sample_at<kSixteen>(in, i));
      o[0] = o[1] = o[2] = g;
      if constexpr (oc == 4) o[3] = static_cast<uint8_t>(sample_at<kSixteen>(in, i + 1));
    } else {
      o[0] = static_cast<uint8_t>(sample_at<kSixteen>(in, i));
      o[1] = static_cast<uint8_t>(sample_at<kSixteen>(in, i + 1));
      o[2] = static_cast<uint8_t>(sample_at<kSixteen>(in, i + 2));
      if constexpr (oc == 4) o[3] = static_cast<uint8_t>(sample_at<kSixteen>(in, i + 3));
    }
  }
}

template <bool kSixteen>
ConvertFn converter_for_depth(const RowLayout& l) {
  if (l.cmyk) {
    return l.bands == 5 ? &convert_row_as<kSixteen, 5, true> : &convert_row_as<kSixteen, 4, true>;
  }
  switch (l.bands) {
    case 1: return &convert_row_as<kSixteen, 1, false>;
    case 2: return &convert_row_as<kSixteen, 2, false>;
    case 3: return &convert_row_as<kSixteen, 3, false>;
    default: return &convert_row_as<kSixteen, 4, false>;
  }
}

// nullptr: the libvips row already is the output row.
ConvertFn converter_for(const RowLayout& l) {
  if (l.sixteen) return converter_for_depth<true>(l);
  if (!l.cmyk && (l.bands == 3 || l.bands == 4)) return nullptr;
  return converter_for_depth<false>(l);
}

// Writes converted source row `y` into the upright image (Pillow's exif_transpose mapping:
// 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE,
// 8 ROTATE_90). Rotations scatter into columns, so no second full-size buffer is needed.
void place_row(const uint8_t* row, int y, int src_w, int src_h, int orientation, int ch,
               DecodedImage& out) {
  uint8_t* base = out.pixels.as<uint8_t>();
  const size_t stride = out.row_bytes();
  auto put = [&](int x, int dx, int dy) {
    std::memcpy(base + stride * dy + static_cast<size_t>(dx) * ch,
                row + static_cast<size_t>(x) * ch, ch);
  };
  switch (orientation) {
    case 1:
      std::memcpy(base + stride * y, row, stride);
      break;
    case 4:
      std::memcpy(base + stride * (src_h - 1 - y), row, stride);
      break;
    case 2:
      for (int x = 0; x < src_w; ++x) put(x, src_w - 1 - x, y);
      break;
    case 3:
      for (int x = 0; x < src_w; ++x) put(x, src_w - 1 - x, src_h - 1 - y);
      break;
    case 5:
      for (int x = 0; x < src_w; ++x) put(x, y, x);
      break;
    case 6:
      for (int x = 0; x < src_w; ++x) put(x, src_h - 1 - y, x);
      break;
    case 7:
      for (int x = 0; x < src_w; ++x) put(x, src_h - 1 - y, src_w - 1 - x);
      break;
    case 8:
      for (int x = 0; x < src_w; ++x) put(x, y, src_w - 1 - x);
      break;
  }
}

// Reopens with shrink-on-load when asked and possible; returns the effective shrink.
StatusOr<int> apply_shrink(const Source& src, Opened& opened, int shrink) {
  if (shrink != 1 && shrink != 2 && shrink != 4 && shrink != 8) {
    return Status::invalid_argument("shrink_on_load must be 1, 2, 4 or 8, not {}", shrink);
  }
  if (shrink == 1 || (opened.format != "jpeg" && opened.format != "webp")) return 1;
  opened.image.reset();
  SEER_ASSIGN_OR_RETURN(opened.image, open_image(src, opened.format, shrink));
  return shrink;
}

// Pulls the rows top to bottom, converted to RGB/RGBA; calls fn(y, row). Plain JPEGs are read
// with libjpeg directly (image/jpeg_rows.h: same pixels, none of libvips's per-strip buffer
// churn); if that read stops after delivering rows (damaged data), `restart()` is called and
// libvips delivers every row again from the top.
template <typename Fn, typename Restart>
Status for_each_source_row(const Source& src, VipsImage* im, const RowLayout& layout,
                           std::string_view format, int shrink, Fn&& fn, Restart&& restart) {
  const int w = vips_image_get_width(im);
  const int h = vips_image_get_height(im);
  if (format == "jpeg" && layout.out_channels == 3 && !layout.cmyk && direct_jpeg_rows_enabled()) {
    const JpegRowsResult r = read_jpeg_rows(src.bytes, src.path, shrink, w, h,
                                            [&](int y, const uint8_t* row) { fn(y, row); });
    if (r == JpegRowsResult::kDone) return Status::ok_status();
    if (r == JpegRowsResult::kRestart) SEER_RETURN_IF_ERROR(restart());
  }
  VipsRegionPtr region(vips_region_new(im));
  if (!region) return vips_failure(StatusCode::kInternal, "libvips region");
  const ConvertFn convert = converter_for(layout);
  std::vector<uint8_t> row(convert ? static_cast<size_t>(w) * layout.out_channels : 0);
  constexpr int kStrip = 16;
  for (int y0 = 0; y0 < h; y0 += kStrip) {
    VipsRect rect{0, y0, w, std::min(kStrip, h - y0)};
    if (vips_region_prepare(region.get(), &rect) != 0) {
      return vips_failure(StatusCode::kInvalidArgument,
                          fmt::format("{}: corrupt or truncated {} data", src.describe(), format));
    }
    for (int y = y0; y < y0 + rect.height; ++y) {
      const auto* in = reinterpret_cast<const uint8_t*>(VIPS_REGION_ADDR(region.get(), 0, y));
      if (convert) {
        convert(in, w, row.data());
        fn(y, row.data());
      } else {
        fn(y, in);
      }
    }
  }
  return Status::ok_status();
}

StatusOr<DecodedImage> decode_opened(const Source& src, Opened opened, const DecodeOptions& opt,
                                     MemoryLedger& ledger) {
  DecodedImage out;
  out.format = opened.format;
  out.source_width = opened.width;
  out.source_height = opened.height;
  out.orientation = opened.orientation;
  SEER_ASSIGN_OR_RETURN(out.shrink, apply_shrink(src, opened, opt.shrink_on_load));
  VipsImage* im = opened.image.get();
  const int w = vips_image_get_width(im);
  const int h = vips_image_get_height(im);
  SEER_ASSIGN_OR_RETURN(RowLayout layout, row_layout(im, src.describe()));
  const int orientation = opt.apply_orientation ? opened.orientation : 1;
  const bool swap = orientation >= 5;
  out.width = swap ? h : w;
  out.height = swap ? w : h;
  out.channels = layout.out_channels;
  SEER_ASSIGN_OR_RETURN(out.pixels,
                        ledger.allocate(DeviceId{}, opt.owner, MemoryTag::kDecode,
                                        out.row_bytes() * static_cast<size_t>(out.height)));
  SEER_RETURN_IF_ERROR(for_each_source_row(
      src, im, layout, out.format, out.shrink,
      [&](int y, const uint8_t* row) {
        place_row(row, y, w, h, orientation, layout.out_channels, out);
      },
      [] { return Status::ok_status(); }));  // every row is placed again
  return out;
}

Status stream_opened(const Source& src, Opened opened, const DecodeOptions& opt,
                     MemoryLedger& ledger, const RowBeginFn& on_begin, const RowFn& on_row) {
  const int orientation = opt.apply_orientation ? opened.orientation : 1;
  if (orientation >= 5) {  // transposed: every source row feeds every upright row
    SEER_ASSIGN_OR_RETURN(DecodedImage img, decode_opened(src, std::move(opened), opt, ledger));
    SEER_RETURN_IF_ERROR(
        on_begin({img.format, img.width, img.height, img.channels, img.source_width,
                  img.source_height, img.orientation, img.shrink}));
    for (int y = 0; y < img.height; ++y) on_row(y, img.row(y));
    return Status::ok_status();
  }
  RowStreamInfo info;
  info.format = opened.format;
  info.source_width = opened.width;
  info.source_height = opened.height;
  info.orientation = opened.orientation;
  SEER_ASSIGN_OR_RETURN(info.shrink, apply_shrink(src, opened, opt.shrink_on_load));
  VipsImage* im = opened.image.get();
  SEER_ASSIGN_OR_RETURN(RowLayout layout, row_layout(im, src.describe()));
  info.width = vips_image_get_width(im);
  info.height = vips_image_get_height(im);
  info.channels = layout.out_channels;
  const bool mirror = orientation == 2 || orientation == 3;
  const bool flip = orientation == 3 || orientation == 4;
  info.bottom_up = flip;
  SEER_RETURN_IF_ERROR(on_begin(info));
  const int ch = info.channels;
  std::vector<uint8_t> mirrored(mirror ? static_cast<size_t>(info.width) * ch : 0);
  return for_each_source_row(
      src, im, layout, info.format, info.shrink,
      [&](int y, const uint8_t* row) {
        if (mirror) {
          for (int x = 0; x < info.width; ++x) {
            std::memcpy(&mirrored[static_cast<size_t>(info.width - 1 - x) * ch],
                        row + static_cast<size_t>(x) * ch, ch);
          }
          row = mirrored.data();
        }
        on_row(flip ? info.height - 1 - y : y, row);
      },
      [&] { return on_begin(info); });  // the consumer starts over
}

ImageHeader to_header(const Opened& o) { return {o.format, o.width, o.height, o.orientation}; }

StatusOr<uint64_t> file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::not_found("cannot open image '{}': {}", path, std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::invalid_argument("'{}' is not a regular file", path);
  return static_cast<uint64_t>(st.st_size);
}

StatusOr<Opened> open_file_checked(const std::string& path, const DecodeLimits& limits) {
  SEER_ASSIGN_OR_RETURN(uint64_t size, file_size(path));
  std::vector<uint8_t> head;
  if (size <= limits.max_input_bytes) {
    SEER_ASSIGN_OR_RETURN(head, read_file_head(path, 64));
  }
  Source src{{}, &path};
  return open_checked(src, head, size, limits);
}

}  // namespace

std::string_view sniff_image_format(std::span<const uint8_t> head) {
  if (has_prefix(head, "\xFF\xD8\xFF")) return "jpeg";
  if (has_prefix(head, "\x89PNG\r\n\x1A\n")) return "png";
  if (has_prefix(head, "GIF87a") || has_prefix(head, "GIF89a")) return "gif";
  if (has_prefix(head, "RIFF") && has_prefix(head, "WEBP", 8)) return "webp";
  if (has_prefix(head, std::string_view("II*\0", 4)) ||
      has_prefix(head, std::string_view("MM\0*", 4)) ||
      has_prefix(head, std::string_view("II+\0", 4)) ||
      has_prefix(head, std::string_view("MM\0+", 4))) {
    return "tiff";
  }
  if (has_prefix(head, "BM")) return "bmp";
  if (has_prefix(head, "ftyp", 4)) {
    for (std::string_view brand :
         {"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1", "avif", "avis"}) {
      if (has_prefix(head, brand, 8)) return "heif";
    }
  }
  return "";
}

int choose_shrink(int longest_side, int needed_side, double margin) {
  int best = 1;
  for (int n : {2, 4, 8}) {
    if (static_cast<double>(longest_side) / n >= margin * needed_side) best = n;
  }
  return best;
}

StatusOr<ImageHeader> read_image_header(std::span<const uint8_t> bytes,
                                        const DecodeLimits& limits) {
  Source src{bytes, nullptr};
  SEER_ASSIGN_OR_RETURN(Opened o, open_checked(src, bytes.first(std::min<size_t>(bytes.size(), 64)),
                                               bytes.size(), limits));
  return to_header(o);
}

StatusOr<ImageHeader> read_image_header_file(const std::string& path, const DecodeLimits& limits) {
  SEER_ASSIGN_OR_RETURN(Opened o, open_file_checked(path, limits));
  return to_header(o);
}

StatusOr<DecodedImage> decode_image(std::span<const uint8_t> bytes, const DecodeOptions& options,
                                    MemoryLedger& ledger) {
  Source src{bytes, nullptr};
  SEER_ASSIGN_OR_RETURN(Opened o, open_checked(src, bytes.first(std::min<size_t>(bytes.size(), 64)),
                                               bytes.size(), options.limits));
  return decode_opened(src, std::move(o), options, ledger);
}

Status decode_image_rows(std::span<const uint8_t> bytes, const DecodeOptions& options,
                         MemoryLedger& ledger, const RowBeginFn& on_begin, const RowFn& on_row) {
  Source src{bytes, nullptr};
  SEER_ASSIGN_OR_RETURN(Opened o, open_checked(src, bytes.first(std::min<size_t>(bytes.size(), 64)),
                                               bytes.size(), options.limits));
  return stream_opened(src, std::move(o), options, ledger, on_begin, on_row);
}

Status decode_image_rows_file(const std::string& path, const DecodeOptions& options,
                              MemoryLedger& ledger, const RowBeginFn& on_begin,
                              const RowFn& on_row) {
  SEER_ASSIGN_OR_RETURN(Opened o, open_file_checked(path, options.limits));
  Source src{{}, &path};
  return stream_opened(src, std::move(o), options, ledger, on_begin, on_row);
}

StatusOr<DecodedImage> decode_image_file(const std::string& path, const DecodeOptions& options,
                                         MemoryLedger& ledger) {
  SEER_ASSIGN_OR_RETURN(Opened o, open_file_checked(path, options.limits));
  Source src{{}, &path};
  return decode_opened(src, std::move(o), options, ledger);
}

}  // namespace seer
