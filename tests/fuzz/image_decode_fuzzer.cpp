// libFuzzer target: decode-from-bytes and the preprocessing that follows it.
//
// Any input must end in a Status or a tile, never a crash, a sanitizer report or a leak. The
// last byte of the input picks options (shrink-on-load factor, orientation on/off) so that those
// paths are fuzzed too. Limits are lowered so each run stays fast and within libFuzzer's RSS
// limit: the code under test is the same, only the numbers differ.
//
// Build and run: tests/fuzz/run_image_fuzz.sh (used by the ctest `image_decode_fuzz`).
#include <cstddef>
#include <cstdint>
#include <span>

#include "image/decoder.h"
#include "image/preprocess.h"
#include "memory/ledger.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static seer::MemoryLedger* ledger = new seer::MemoryLedger();  // lives for the process
  static const auto wd14 = seer::preprocess_spec("wd14", 48);
  static const auto nsfwjs = seer::preprocess_spec("nsfwjs", 16);
  static const auto vit = seer::preprocess_spec("vit", 24);
  seer::DecodeOptions opt;
  opt.limits.max_input_bytes = 1 << 20;
  opt.limits.max_pixels = 4'000'000;
  opt.limits.max_width = opt.limits.max_height = 20'000;
  const uint8_t knob = size > 0 ? data[size - 1] : 0;
  static constexpr int kShrink[] = {1, 2, 4, 8};
  opt.shrink_on_load = kShrink[knob & 3];
  opt.apply_orientation = (knob & 4) == 0;
  auto image = seer::decode_image(std::span<const uint8_t>(data, size), opt, *ledger);
  if (!image.ok()) return 0;
  const seer::PreprocessSpec& spec = (knob & 24) == 0 ? *nsfwjs : (knob & 24) == 8 ? *vit : *wd14;
  auto tile = seer::make_tile(std::move(image).value(), spec, *ledger);
  if (tile.ok()) {
    static float tensor[3 * 48 * 48];
    seer::write_tensor(*tile, spec, tensor);
  }
  return 0;
}
