// From a decoded image to a model's input: the tile (what waits in queues) and the tensor.
//
//   SEER_ASSIGN_OR_RETURN(PreprocessSpec spec, preprocess_spec("wd14", 448));
//   SEER_ASSIGN_OR_RETURN(DecodedImage img, decode_image(bytes, {}, ledger));
//   SEER_ASSIGN_OR_RETURN(Tile tile, make_tile(std::move(img), spec, ledger));
//   write_tensor(tile, spec, engine_input + i * tensor_elements(spec));   // one batch row
//
// Or in one call, choosing shrink-on-load from the spec when `fast` is set:
//   SEER_ASSIGN_OR_RETURN(Tile tile, load_tile(bytes, spec, {.fast = true}, ledger));
//
// A spec is parameters, not a model name: how to fit (pad to a centred square of `fill`, or
// squash), how to remove alpha (composite over white, or drop), which resampler (Pillow BICUBIC
// or BILINEAR bit-exact, or tf.image.resizeBilinear with alignCorners in float), then the tensor
// layout (NHWC/NCHW), channel order (RGB/BGR) and value map v' = (v * scale - mean[c]) / std[c].
// Named presets (preprocess_spec):
//   wd14     SmilingWolf Space: composite over white, pad white square (odd pixel right/bottom),
//            Pillow BICUBIC (only when the square's side != size), BGR, NHWC, 0..255.
//   nsfwjs   nsfwjs 4.x: RGB alpha dropped, /255, tf resizeBilinear alignCorners squash, NHWC.
//   vit      HF ViTImageProcessor (Falconsai NSFW): convert("RGB"), Pillow BILINEAR squash,
//            /255, mean = std = 0.5, RGB, NCHW.
//   imagenet as vit with ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).
//
// Exactness: in exact mode (no shrink-on-load) the wd14 and vit tiles are byte-identical to
// Pillow 9.4 (Debian) on the formats listed in decoder.h; their tensors are exact (wd14) or
// within 1 float32 ulp of numpy's (vit). nsfwjs matches tfjs's CPU kernel formula in float64,
// stored as float32.
// Shrink-on-load (LoadOptions::fast) is not exact: libjpeg's DCT-domain 1/n decode is a box
// average, then the same Pillow resize runs on the smaller picture. Measured with Debian's
// libvips 8.14 on a 6000×4000 photo-like JPEG (q90, 4:2:0) to a 448 wd14 tile (shrink 4, margin
// 2): tile difference vs exact max 2, mean 0.16–0.17 (0..255) on two smooth photo-like images,
// max 7, mean 0.57 on a noisy one; peak RSS added +21 MiB vs +35 MiB exact
// (tests/model/image_memory_test.cpp); 82–89 ms vs 262–297 ms CPU, Pillow's exact Space
// pipeline 2066–2201 ms (bench/image_bench.py, busy shared 2-core machine).
// Memory: load_tile streams decoded rows into the resizer (PillowResizer), so the photo is never
// held whole — only libvips's strips and the intermediate (tile width × square side × 3 bytes,
// 8 MB for a 6000-px side); EXIF orientations 5–8 (transposes) are the exception and decode into
// a ledger buffer first. nsfwjs (float resize) also decodes whole.
//
// Tiles are 8-bit RGB (Pillow-resampled modes) or float32 RGB in [0, 1] (nsfwjs), always RGB
// order; write_tensor applies the channel order. Tiles own a ledger Buffer tagged `decode`.
// Functions are thread-safe; a Tile is move-only.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "image/decoded_image.h"
#include "image/decoder.h"
#include "memory/ledger.h"

namespace seer {

enum class FitMode { kPadSquare, kSquash };
enum class AlphaMode { kCompositeWhite, kDrop };
enum class ResizeFilter { kPillowBicubic, kPillowBilinear, kTfBilinearAlignCorners };
enum class TensorLayout { kNHWC, kNCHW };
enum class ChannelOrder { kRGB, kBGR };

std::string_view to_string(FitMode v);
std::string_view to_string(AlphaMode v);
std::string_view to_string(ResizeFilter v);
std::string_view to_string(TensorLayout v);
std::string_view to_string(ChannelOrder v);

struct PreprocessSpec {
  std::string name;
  int width = 448;
  int height = 448;
  FitMode fit = FitMode::kPadSquare;
  uint8_t pad_fill = 255;
  AlphaMode alpha = AlphaMode::kCompositeWhite;
  ResizeFilter filter = ResizeFilter::kPillowBicubic;
  TensorLayout layout = TensorLayout::kNHWC;
  ChannelOrder order = ChannelOrder::kBGR;
  float scale = 1.0f;  // applied to 0..255 values (or to the [0,1] float tile: see Tile)
  std::array<float, 3> mean{0.f, 0.f, 0.f};  // in RGB order
  std::array<float, 3> std{1.f, 1.f, 1.f};
};

// "wd14" | "nsfwjs" | "vit" | "imagenet" at size × size. InvalidArgument otherwise.
StatusOr<PreprocessSpec> preprocess_spec(std::string_view mode, int size);
std::vector<std::string> preprocess_modes();

// Elements of one image's tensor: 3 * width * height.
size_t tensor_elements(const PreprocessSpec& spec);

struct Tile {
  enum class Type { kU8, kF32 };
  int width = 0;
  int height = 0;
  Type type = Type::kU8;  // kU8: RGB 0..255; kF32: RGB already divided by 255 (nsfwjs)
  Buffer pixels;          // height × width × 3 samples
  const uint8_t* u8() const { return pixels.as<uint8_t>(); }
  const float* f32() const { return pixels.as<float>(); }
};

// Consumes the decoded image (its alpha is removed in place). The tile is allocated from the
// ledger under `owner`, tag decode. Scratch memory: one intermediate of width × canvas side × 3.
StatusOr<Tile> make_tile(DecodedImage image, const PreprocessSpec& spec, MemoryLedger& ledger,
                         const std::string& owner = "system");

// Writes tensor_elements(spec) floats to `dst` in the spec's layout, order and value map.
void write_tensor(const Tile& tile, const PreprocessSpec& spec, float* dst);

struct LoadOptions {
  DecodeOptions decode;
  // Shrink-on-load when the photo is much larger than the model input: JPEG/WebP decode at
  // 1/2, 1/4 or 1/8 while the picture's side stays >= margin × the tile side. Not exact.
  bool fast = false;
  double shrink_margin = 2.0;
};
// Header → shrink choice → decode → make_tile, from bytes or a file.
StatusOr<Tile> load_tile(std::span<const uint8_t> bytes, const PreprocessSpec& spec,
                         const LoadOptions& options, MemoryLedger& ledger);
StatusOr<Tile> load_tile_file(const std::string& path, const PreprocessSpec& spec,
                              const LoadOptions& options, MemoryLedger& ledger);

// The shrink factor load_tile would use for a stored image of this size.
int shrink_for(const PreprocessSpec& spec, int width, int height, double margin);

}  // namespace seer
