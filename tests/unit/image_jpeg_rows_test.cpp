// The direct libjpeg row reader (image/jpeg_rows.h) must be invisible: for every JPEG fixture,
// damaged copies of them (entropy data overwritten: libjpeg warns and conceals, or errors) and
// truncated copies, at every shrink factor, decode_image and the streamed load_tile give the
// same status code and the same bytes with the direct path on as with libvips alone.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "image/decoder.h"
#include "image/jpeg_rows.h"
#include "image/preprocess.h"
#include "memory/ledger.h"

namespace seer {
namespace {

std::vector<uint8_t> read_fixture(const std::string& name) {
  std::ifstream f(std::string(SEER_SOURCE_DIR) + "/tests/fixtures/images/" + name,
                  std::ios::binary);
  EXPECT_TRUE(f.good()) << name;
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

struct Outcome {
  StatusCode code = StatusCode::kOk;
  std::vector<uint8_t> pixels;
  std::vector<uint8_t> tile;
  int width = 0, height = 0, channels = 0;
};

Outcome decode_both_ways(const std::vector<uint8_t>& bytes, int shrink, MemoryLedger& ledger) {
  Outcome o;
  DecodeOptions opt;
  opt.shrink_on_load = shrink;
  auto img = decode_image(bytes, opt, ledger);
  if (!img.ok()) {
    o.code = img.status().code();
  } else {
    o.width = img->width;
    o.height = img->height;
    o.channels = img->channels;
    o.pixels.assign(img->row(0), img->row(0) + img->row_bytes() * img->height);
  }
  auto spec = preprocess_spec("wd14", 64);
  LoadOptions lo;
  lo.decode.shrink_on_load = shrink;
  auto tile = load_tile(bytes, *spec, lo, ledger);
  if (tile.ok()) {
    o.tile.assign(tile->u8(), tile->u8() + 64 * 64 * 3);
  } else if (o.code == StatusCode::kOk) {
    o.code = tile.status().code();
  }
  return o;
}

TEST(ImageJpegRows, DirectReadEqualsLibvipsIncludingDamagedFiles) {
  MemoryLedger ledger;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> inputs;
  int damaged_ok = 0, failures = 0;
  for (const char* name : {"orient_1.jpg", "orient_3.jpg", "orient_6.jpg", "cmyk.jpg",
                           "progressive.jpg", "large_900x700.jpg", "gray.jpg"}) {
    const std::vector<uint8_t> bytes = read_fixture(name);
    if (bytes.empty()) continue;
    inputs.emplace_back(name, bytes);
    for (double at : {0.55, 0.8}) {  // scribble over entropy-coded data
      std::vector<uint8_t> d = bytes;
      const size_t p = static_cast<size_t>(d.size() * at);
      for (size_t i = p; i < p + 24 && i + 2 < d.size(); ++i) d[i] = static_cast<uint8_t>(i * 37);
      inputs.emplace_back(std::string(name) + " damaged@" + std::to_string(at), d);
    }
    std::vector<uint8_t> t(bytes.begin(), bytes.begin() + bytes.size() * 2 / 3);
    inputs.emplace_back(std::string(name) + " truncated", t);
  }
  ASSERT_GE(inputs.size(), 20u);
  const uint64_t restarts_before = direct_jpeg_restart_count();
  for (const auto& [what, bytes] : inputs) {
    for (int shrink : {1, 2, 4}) {
      set_direct_jpeg_rows(false);
      const Outcome want = decode_both_ways(bytes, shrink, ledger);
      set_direct_jpeg_rows(true);
      const Outcome got = decode_both_ways(bytes, shrink, ledger);
      EXPECT_EQ(want.code, got.code) << what << " shrink " << shrink;
      EXPECT_EQ(want.width, got.width) << what;
      EXPECT_EQ(want.height, got.height) << what;
      EXPECT_EQ(want.channels, got.channels) << what;
      EXPECT_TRUE(want.pixels == got.pixels) << what << " shrink " << shrink;
      EXPECT_TRUE(want.tile == got.tile) << what << " shrink " << shrink;
      if (want.code != StatusCode::kOk) ++failures;
      if (want.code == StatusCode::kOk && what.find("damaged") != std::string::npos) ++damaged_ok;
    }
  }
  set_direct_jpeg_rows(true);
  EXPECT_EQ(ledger.total_bytes(), 0u);
  // Concealed damage (decodes) and fatal damage (truncation fails) both occur, and the direct
  // read found damage after delivering rows, so the restart path ran.
  EXPECT_GT(damaged_ok, 0);
  EXPECT_GT(failures, 0);
  EXPECT_GT(direct_jpeg_restart_count(), restarts_before);  // damage found after rows went out
}

}  // namespace
}  // namespace seer
