#include "image/preprocess.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "image/pillow_alpha.h"
#include "image/pillow_resample.h"
#include "image/tf_resize.h"

namespace seer {

std::string_view to_string(FitMode v) { return v == FitMode::kPadSquare ? "pad_square" : "squash"; }
std::string_view to_string(AlphaMode v) {
  return v == AlphaMode::kCompositeWhite ? "composite_white" : "drop";
}
std::string_view to_string(ResizeFilter v) {
  switch (v) {
    case ResizeFilter::kPillowBicubic:
      return "pillow_bicubic";
    case ResizeFilter::kPillowBilinear:
      return "pillow_bilinear";
    case ResizeFilter::kTfBilinearAlignCorners:
      return "tf_bilinear_align_corners";
  }
  return "?";
}
std::string_view to_string(TensorLayout v) { return v == TensorLayout::kNHWC ? "NHWC" : "NCHW"; }
std::string_view to_string(ChannelOrder v) { return v == ChannelOrder::kRGB ? "RGB" : "BGR"; }

std::vector<std::string> preprocess_modes() { return {"wd14", "nsfwjs", "vit", "imagenet"}; }

StatusOr<PreprocessSpec> preprocess_spec(std::string_view mode, int size) {
  if (size < 1 || size > 4096) {
    return Status::invalid_argument("preprocess size must be 1..4096, not {}", size);
  }
  PreprocessSpec s;
  s.name = std::string(mode);
  s.width = s.height = size;
  if (mode == "wd14") return s;  // the defaults are the Space's pipeline
  s.fit = FitMode::kSquash;
  s.alpha = AlphaMode::kDrop;
  s.order = ChannelOrder::kRGB;
  if (mode == "nsfwjs") {
    s.filter = ResizeFilter::kTfBilinearAlignCorners;
    s.layout = TensorLayout::kNHWC;
    return s;  // the tile already holds x / 255
  }
  s.filter = ResizeFilter::kPillowBilinear;
  s.layout = TensorLayout::kNCHW;
  s.scale = 1.0f / 255.0f;
  if (mode == "vit") {
    s.mean = {0.5f, 0.5f, 0.5f};
    s.std = {0.5f, 0.5f, 0.5f};
    return s;
  }
  if (mode == "imagenet") {
    s.mean = {0.485f, 0.456f, 0.406f};
    s.std = {0.229f, 0.224f, 0.225f};
    return s;
  }
  return Status::invalid_argument("unknown preprocess mode '{}' (wd14, nsfwjs, vit, imagenet)",
                                  mode);
}

size_t tensor_elements(const PreprocessSpec& spec) {
  return 3 * static_cast<size_t>(spec.width) * static_cast<size_t>(spec.height);
}

int shrink_for(const PreprocessSpec& spec, int width, int height, double margin) {
  if (spec.fit == FitMode::kPadSquare) {
    return choose_shrink(std::max(width, height), std::max(spec.width, spec.height), margin);
  }
  return std::min(choose_shrink(width, spec.width, margin),
                  choose_shrink(height, spec.height, margin));
}

namespace {

// Where the picture sits on the canvas the Pillow resize reads (pixels filled in by the caller).
PaddedRgb tile_geometry(int width, int height, const PreprocessSpec& spec) {
  PaddedRgb g;
  g.width = width;
  g.height = height;
  g.stride = static_cast<size_t>(width) * 3;
  g.fill = spec.pad_fill;
  if (spec.fit == FitMode::kPadSquare) {
    // The Space: max_dim square, picture at ((max_dim - w) // 2, (max_dim - h) // 2), resized
    // only when max_dim differs from the target (a square target is assumed, as in the Space).
    const int side = std::max(width, height);
    g.canvas_width = g.canvas_height = side;
    g.left = (side - width) / 2;
    g.top = (side - height) / 2;
  } else {
    g.canvas_width = width;
    g.canvas_height = height;
  }
  return g;
}

PillowFilter pillow_filter(const PreprocessSpec& spec) {
  return spec.filter == ResizeFilter::kPillowBicubic ? PillowFilter::kBicubic
                                                     : PillowFilter::kBilinear;
}

}  // namespace

StatusOr<Tile> make_tile(DecodedImage image, const PreprocessSpec& spec, MemoryLedger& ledger,
                         const std::string& owner) {
  if (image.width <= 0 || image.height <= 0 || image.pixels.empty()) {
    return Status::invalid_argument("make_tile: empty image");
  }
  if (spec.alpha == AlphaMode::kCompositeWhite) {
    composite_over_white(image);
  } else {
    drop_alpha(image);
  }
  Tile tile;
  tile.width = spec.width;
  tile.height = spec.height;
  const size_t samples = tensor_elements(spec);
  if (spec.filter == ResizeFilter::kTfBilinearAlignCorners) {
    // nsfwjs: squash only (its reference never pads).
    tile.type = Tile::Type::kF32;
    SEER_ASSIGN_OR_RETURN(tile.pixels, ledger.allocate(DeviceId{}, owner, MemoryTag::kDecode,
                                                       samples * sizeof(float)));
    tf_resize_bilinear_align_corners(image.row(0), image.width, image.height, 3,
                                     tile.pixels.as<float>(), spec.width, spec.height);
    return tile;
  }
  SEER_ASSIGN_OR_RETURN(tile.pixels,
                        ledger.allocate(DeviceId{}, owner, MemoryTag::kDecode, samples));
  PaddedRgb src = tile_geometry(image.width, image.height, spec);
  src.pixels = image.row(0);
  pillow_resize_rgb(src, spec.width, spec.height, pillow_filter(spec), tile.pixels.as<uint8_t>());
  return tile;
}

void write_tensor(const Tile& tile, const PreprocessSpec& spec, float* dst) {
  const size_t plane = static_cast<size_t>(tile.width) * static_cast<size_t>(tile.height);
  // Per output channel k: the RGB source channel, and v' = v * mul + add, with mul and add
  // folded from scale, mean and std the way the references compute (scale first, then
  // (x - mean) / std), kept as separate float steps to round like numpy's float32 ops.
  int src_c[3];
  for (int k = 0; k < 3; ++k) src_c[k] = spec.order == ChannelOrder::kRGB ? k : 2 - k;
  const bool identity = spec.scale == 1.0f && spec.mean == std::array<float, 3>{0, 0, 0} &&
                        spec.std == std::array<float, 3>{1, 1, 1};
  auto value = [&](size_t i, int k) -> float {
    const int c = src_c[k];
    const float v = tile.type == Tile::Type::kU8 ? static_cast<float>(tile.u8()[3 * i + c])
                                                 : tile.f32()[3 * i + c];
    if (identity) return v;
    return (v * spec.scale - spec.mean[c]) / spec.std[c];
  };
  if (spec.layout == TensorLayout::kNHWC) {
    for (size_t i = 0; i < plane; ++i) {
      for (int k = 0; k < 3; ++k) dst[3 * i + k] = value(i, k);
    }
  } else {
    for (int k = 0; k < 3; ++k) {
      float* p = dst + plane * k;
      for (size_t i = 0; i < plane; ++i) p[i] = value(i, k);
    }
  }
}

namespace {
int shrink_from(const ImageHeader& header, const PreprocessSpec& spec, const LoadOptions& options) {
  if (!options.fast || (header.format != "jpeg" && header.format != "webp")) return 1;
  return shrink_for(spec, header.width, header.height, options.shrink_margin);
}

// Decode rows straight into the Pillow resizer: alpha removed per row, the picture never held
// whole (orientations 5–8 excepted, see decode_image_rows). nsfwjs's float resize reads the
// full image, so it takes the decode-then-tile path.
template <typename DecodeRows>
StatusOr<Tile> stream_tile(const PreprocessSpec& spec, const std::string& owner,
                           MemoryLedger& ledger, DecodeRows&& decode_rows) {
  Tile tile;
  tile.width = spec.width;
  tile.height = spec.height;
  SEER_ASSIGN_OR_RETURN(
      tile.pixels, ledger.allocate(DeviceId{}, owner, MemoryTag::kDecode, tensor_elements(spec)));
  std::unique_ptr<PillowResizer> resizer;
  std::vector<uint8_t> rgb;
  int channels = 3;
  auto on_begin = [&](const RowStreamInfo& info) -> Status {
    // Top-down rows (all but orientations 3 and 4) let the resizer keep a ring of rows.
    resizer = std::make_unique<PillowResizer>(
        tile_geometry(info.width, info.height, spec), spec.width, spec.height,
        pillow_filter(spec), info.bottom_up ? RowOrder::kAny : RowOrder::kTopDown);
    channels = info.channels;
    rgb.resize(static_cast<size_t>(info.width) * 3);
    return Status::ok_status();
  };
  auto on_row = [&](int y, const uint8_t* row) {
    if (channels == 4) {
      const size_t n = rgb.size() / 3;
      if (spec.alpha == AlphaMode::kCompositeWhite) {
        for (size_t i = 0; i < n; ++i) composite_pixel_over_white(row + 4 * i, &rgb[3 * i]);
      } else {
        for (size_t i = 0; i < n; ++i) std::memcpy(&rgb[3 * i], row + 4 * i, 3);
      }
      row = rgb.data();
    }
    resizer->push_picture_row(y, row);
  };
  SEER_RETURN_IF_ERROR(decode_rows(on_begin, on_row));
  resizer->finish(tile.pixels.as<uint8_t>());
  return tile;
}

}  // namespace

StatusOr<Tile> load_tile(std::span<const uint8_t> bytes, const PreprocessSpec& spec,
                         const LoadOptions& options, MemoryLedger& ledger) {
  DecodeOptions decode = options.decode;
  if (options.fast) {
    SEER_ASSIGN_OR_RETURN(ImageHeader header, read_image_header(bytes, decode.limits));
    decode.shrink_on_load = shrink_from(header, spec, options);
  }
  if (spec.filter == ResizeFilter::kTfBilinearAlignCorners) {
    SEER_ASSIGN_OR_RETURN(DecodedImage image, decode_image(bytes, decode, ledger));
    return make_tile(std::move(image), spec, ledger, decode.owner);
  }
  return stream_tile(spec, decode.owner, ledger, [&](const RowBeginFn& begin, const RowFn& row) {
    return decode_image_rows(bytes, decode, ledger, begin, row);
  });
}

StatusOr<Tile> load_tile_file(const std::string& path, const PreprocessSpec& spec,
                              const LoadOptions& options, MemoryLedger& ledger) {
  DecodeOptions decode = options.decode;
  if (options.fast) {
    SEER_ASSIGN_OR_RETURN(ImageHeader header, read_image_header_file(path, decode.limits));
    decode.shrink_on_load = shrink_from(header, spec, options);
  }
  if (spec.filter == ResizeFilter::kTfBilinearAlignCorners) {
    SEER_ASSIGN_OR_RETURN(DecodedImage image, decode_image_file(path, decode, ledger));
    return make_tile(std::move(image), spec, ledger, decode.owner);
  }
  return stream_tile(spec, decode.owner, ledger, [&](const RowBeginFn& begin, const RowFn& row) {
    return decode_image_rows_file(path, decode, ledger, begin, row);
  });
}

}  // namespace seer
