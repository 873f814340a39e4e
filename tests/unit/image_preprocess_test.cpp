// Preprocessing plumbing: the streamed path (decode rows → Pillow resizer) equals the buffered
// one (decode whole → make_tile) on every orientation and alpha kind; specs; tensor layouts.
// Pixel exactness against Pillow itself is tests/model/image_pillow_test.py.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

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

TEST(ImagePreprocess, StreamedTileEqualsBufferedTile) {
  MemoryLedger ledger;
  for (const char* mode : {"wd14", "vit"}) {
    for (const char* name :
         {"orient_1.jpg", "orient_2.jpg", "orient_3.jpg", "orient_4.jpg", "orient_5.jpg",
          "orient_6.jpg", "orient_7.jpg", "orient_8.jpg", "rgba_partial.png", "wide_4000x10.png",
          "tall_9x1500.png", "tiny_1x1.png", "gray_alpha.png"}) {
      auto spec = preprocess_spec(mode, 64);
      ASSERT_TRUE(spec.ok());
      const std::vector<uint8_t> bytes = read_fixture(name);
      auto streamed = load_tile(bytes, *spec, {}, ledger);
      auto decoded = decode_image(bytes, {}, ledger);
      ASSERT_TRUE(streamed.ok() && decoded.ok()) << name;
      auto buffered = make_tile(std::move(decoded).value(), *spec, ledger);
      ASSERT_TRUE(buffered.ok());
      EXPECT_EQ(0, std::memcmp(streamed->u8(), buffered->u8(), 64 * 64 * 3)) << mode << " " << name;
    }
  }
  EXPECT_EQ(ledger.total_bytes(), 0u);
}

TEST(ImagePreprocess, TileIsCountedInTheLedger) {
  MemoryLedger ledger;
  auto spec = preprocess_spec("wd14", 448);
  LoadOptions opt;
  opt.decode.owner = "wd14-v3";
  auto tile = load_tile(read_fixture("large_900x700.jpg"), *spec, opt, ledger);
  ASSERT_TRUE(tile.ok());
  EXPECT_EQ(ledger.bytes(DeviceId{}, "wd14-v3", MemoryTag::kDecode), 448u * 448u * 3u);
}

TEST(ImagePreprocess, LoadTileReportsDecodeErrors) {
  MemoryLedger ledger;
  auto spec = preprocess_spec("wd14", 448);
  LoadOptions opt;
  opt.decode.limits.max_pixels = 1000;
  auto r = load_tile(read_fixture("large_900x700.jpg"), *spec, opt, ledger);
  EXPECT_EQ(r.status().code(), StatusCode::kPayloadTooLarge);
  auto missing = load_tile_file("/nonexistent.png", *spec, {}, ledger);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ledger.total_bytes(), 0u);
}

TEST(ImagePreprocess, Specs) {
  auto wd14 = preprocess_spec("wd14", 448);
  ASSERT_TRUE(wd14.ok());
  EXPECT_EQ(wd14->order, ChannelOrder::kBGR);
  EXPECT_EQ(wd14->layout, TensorLayout::kNHWC);
  EXPECT_EQ(wd14->fit, FitMode::kPadSquare);
  auto vit = preprocess_spec("vit", 224);
  EXPECT_EQ(vit->layout, TensorLayout::kNCHW);
  EXPECT_EQ(vit->filter, ResizeFilter::kPillowBilinear);
  EXPECT_EQ(preprocess_spec("nsfwjs", 224)->filter, ResizeFilter::kTfBilinearAlignCorners);
  EXPECT_EQ(preprocess_spec("clip", 224).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(preprocess_spec("wd14", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tensor_elements(*wd14), 448u * 448u * 3u);
}

TEST(ImagePreprocess, WriteTensorLayoutsAndValueMap) {
  MemoryLedger ledger;
  Tile tile;
  tile.width = 2;
  tile.height = 1;
  tile.pixels = std::move(ledger.allocate(DeviceId{}, "t", MemoryTag::kDecode, 6)).value();
  const uint8_t px[6] = {10, 20, 30, 40, 50, 60};  // two RGB pixels
  std::memcpy(tile.pixels.data(), px, 6);
  PreprocessSpec s;
  s.width = 2;
  s.height = 1;
  float out[6];
  write_tensor(tile, s, out);  // wd14 defaults: NHWC BGR raw
  EXPECT_EQ(std::vector<float>(out, out + 6), (std::vector<float>{30, 20, 10, 60, 50, 40}));
  s.layout = TensorLayout::kNCHW;
  s.order = ChannelOrder::kRGB;
  s.scale = 0.5f;
  s.mean = {1, 2, 3};
  s.std = {1, 2, 4};
  write_tensor(tile, s, out);  // planes R, G, B; (v * 0.5 - mean) / std
  EXPECT_EQ(std::vector<float>(out, out + 6), (std::vector<float>{4, 19, 4, 11.5f, 3, 6.75f}));
}

}  // namespace
}  // namespace seer
