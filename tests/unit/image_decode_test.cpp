// Decode limits, corrupt inputs, orientation, shrink-on-load and ledger accounting for
// src/image/decoder.h. Pixel exactness against Pillow is tests/model/image_pillow_test.py.
#include <gtest/gtest.h>
#include <vips/vips.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "image/decoder.h"
#include "image/preprocess.h"
#include "memory/ledger.h"

namespace seer {
namespace {

std::string fixture_path(const std::string& name) {
  return std::string(SEER_SOURCE_DIR) + "/tests/fixtures/images/" + name;
}

std::vector<uint8_t> read_fixture(const std::string& name) {
  std::ifstream f(fixture_path(name), std::ios::binary);
  EXPECT_TRUE(f.good()) << name;
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

void put_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// A real PNG whose IHDR now claims w × h (CRC fixed, so only the size is a lie).
std::vector<uint8_t> png_claiming(uint32_t w, uint32_t h) {
  std::vector<uint8_t> png = read_fixture("tiny_3x5.png");
  put_be32(&png[16], w);
  put_be32(&png[20], h);
  put_be32(&png[29], crc32(&png[12], 17));  // over "IHDR" + 13 data bytes
  return png;
}

// A real JPEG whose SOF0 now claims w × h.
std::vector<uint8_t> jpeg_claiming(uint16_t w, uint16_t h) {
  std::vector<uint8_t> jpg = read_fixture("orient_1.jpg");
  for (size_t i = 2; i + 9 < jpg.size(); ++i) {
    if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
      jpg[i + 5] = h >> 8, jpg[i + 6] = h & 0xFF, jpg[i + 7] = w >> 8, jpg[i + 8] = w & 0xFF;
      return jpg;
    }
  }
  ADD_FAILURE() << "no SOF0 in orient_1.jpg";
  return jpg;
}

class ImageDecodeTest : public ::testing::Test {
 protected:
  StatusOr<DecodedImage> decode(const std::vector<uint8_t>& bytes, DecodeOptions opt = {}) {
    return decode_image(bytes, opt, ledger_);
  }
  void expect_error(const StatusOr<DecodedImage>& r, StatusCode code, const std::string& needle) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status().to_string();
    EXPECT_NE(r.status().message().find(needle), std::string::npos)
        << "'" << needle << "' not in: " << r.status().message();
    EXPECT_EQ(ledger_.total_bytes(), 0u) << "a failed decode must not hold memory";
  }
  MemoryLedger ledger_;
};

TEST_F(ImageDecodeTest, DecodesEveryFixtureFormatWithExpectedShape) {
  struct Case {
    const char* name;
    const char* format;
    int w, h, channels;
  };
  const Case cases[] = {
      {"large_900x700.jpg", "jpeg", 900, 700, 3},
      {"progressive.jpg", "jpeg", 333, 222, 3},
      {"cmyk.jpg", "jpeg", 120, 80, 3},
      {"gray.jpg", "jpeg", 150, 100, 3},
      {"rgba_partial.png", "png", 130, 90, 4},
      {"palette_trns.png", "png", 80, 60, 4},
      {"gray_alpha.png", "png", 70, 50, 4},
      {"rgb16.png", "png", 60, 45, 3},
      {"gray_1bit.png", "png", 40, 30, 3},
      {"lossy.webp", "webp", 210, 140, 3},
      {"lossless_alpha.webp", "webp", 130, 90, 4},
      {"palette.gif", "gif", 90, 70, 4},
      {"rgb.tiff", "tiff", 100, 75, 3},
      {"rgb24.bmp", "bmp", 101, 67, 3},
  };
  for (const Case& c : cases) {
    auto img = decode(read_fixture(c.name));
    ASSERT_TRUE(img.ok()) << c.name << ": " << img.status().to_string();
    EXPECT_EQ(img->format, c.format) << c.name;
    EXPECT_EQ(img->width, c.w) << c.name;
    EXPECT_EQ(img->height, c.h) << c.name;
    EXPECT_EQ(img->channels, c.channels) << c.name;
  }
}

TEST_F(ImageDecodeTest, FromFileEqualsFromBytes) {
  auto a = decode_image_file(fixture_path("progressive.jpg"), {}, ledger_);
  auto b = decode(read_fixture("progressive.jpg"));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->pixels.size(), b->pixels.size());
  EXPECT_EQ(0, std::memcmp(a->pixels.data(), b->pixels.data(), a->pixels.size()));
}

TEST_F(ImageDecodeTest, PixelBufferIsCountedAsDecodeAndReturned) {
  {
    DecodeOptions opt;
    opt.owner = "wd14";
    auto img = decode(read_fixture("large_900x700.jpg"), opt);
    ASSERT_TRUE(img.ok());
    EXPECT_EQ(ledger_.bytes(DeviceId{}, "wd14", MemoryTag::kDecode), 900u * 700u * 3u);
  }
  EXPECT_EQ(ledger_.total_bytes(), 0u);
}

TEST_F(ImageDecodeTest, OverBudgetIsResourceExhausted) {
  ASSERT_TRUE(ledger_.set_budget(DeviceId{}, 100'000).ok());
  expect_error(decode(read_fixture("large_900x700.jpg")), StatusCode::kResourceExhausted, "");
}

TEST_F(ImageDecodeTest, OrientationAppliedByDefaultAndCanBeTurnedOff) {
  for (int k = 1; k <= 8; ++k) {
    const std::string name = "orient_" + std::to_string(k) + ".jpg";
    auto on = decode(read_fixture(name));
    ASSERT_TRUE(on.ok()) << name;
    EXPECT_EQ(on->orientation, k);
    EXPECT_EQ(on->width, k >= 5 ? 40 : 60) << name;
    DecodeOptions off;
    off.apply_orientation = false;
    auto raw = decode(read_fixture(name), off);
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ(raw->width, 60);
    EXPECT_EQ(raw->height, 40);
  }
  // Orientation 6 = Pillow ROTATE_270 (90° clockwise): the upright image's top-left pixel is the
  // stored image's bottom-left one.
  DecodeOptions off;
  off.apply_orientation = false;
  auto raw = decode(read_fixture("orient_6.jpg"), off);
  auto up = decode(read_fixture("orient_6.jpg"));
  ASSERT_TRUE(raw.ok() && up.ok());
  EXPECT_EQ(0, std::memcmp(up->row(0), raw->row(raw->height - 1), 3));
}

TEST_F(ImageDecodeTest, InputBytesLimit) {
  DecodeOptions opt;
  opt.limits.max_input_bytes = 1000;
  expect_error(decode(read_fixture("large_900x700.jpg"), opt), StatusCode::kPayloadTooLarge,
               "max_input_bytes = 1000");
  auto file = decode_image_file(fixture_path("large_900x700.jpg"), opt, ledger_);
  expect_error(file, StatusCode::kPayloadTooLarge, "max_input_bytes");
}

TEST_F(ImageDecodeTest, WidthHeightAndPixelLimits) {
  DecodeOptions opt;
  opt.limits.max_width = 899;
  expect_error(decode(read_fixture("large_900x700.jpg"), opt), StatusCode::kPayloadTooLarge,
               "width 900 exceeds the limit max_width = 899");
  opt = {};
  opt.limits.max_height = 699;
  expect_error(decode(read_fixture("large_900x700.jpg"), opt), StatusCode::kPayloadTooLarge,
               "height 700 exceeds the limit max_height = 699");
  opt = {};
  opt.limits.max_pixels = 629'999;
  expect_error(decode(read_fixture("large_900x700.jpg"), opt), StatusCode::kPayloadTooLarge,
               "630000 pixels exceeds the limit max_pixels = 629999");
  opt.limits.max_pixels = 630'000;  // exactly at the limit is allowed
  EXPECT_TRUE(decode(read_fixture("large_900x700.jpg"), opt).ok());
}

TEST_F(ImageDecodeTest, DecompressionBombsAreRefusedFromTheHeader) {
  // 60000 × 60000 = 3.6 G pixels in a 1.9 kB JPEG and a 118-byte PNG; default limits.
  expect_error(decode(jpeg_claiming(60000, 60000)), StatusCode::kPayloadTooLarge, "max_pixels");
  expect_error(decode(png_claiming(60000, 60000)), StatusCode::kPayloadTooLarge, "max_pixels");
  // A side over 65535 with few pixels.
  expect_error(decode(png_claiming(100000, 1)), StatusCode::kPayloadTooLarge, "max_width = 65535");
  expect_error(decode(png_claiming(1, 100000)), StatusCode::kPayloadTooLarge, "max_height = 65535");
  auto header = read_image_header(png_claiming(60000, 60000), DecodeLimits{});
  EXPECT_EQ(header.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ(ledger_.device_usage(DeviceId{})->peak_bytes, 0u)
      << "nothing may be allocated for a bomb";
}

TEST_F(ImageDecodeTest, UnsupportedFormats) {
  const std::string svg = "<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>";
  const std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj<<>>endobj\n";
  const std::string ppm = "P6\n2 2\n255\n............";
  for (const std::string& s : {svg, pdf, ppm, std::string("hello, world")}) {
    expect_error(decode(std::vector<uint8_t>(s.begin(), s.end())), StatusCode::kUnsupported,
                 "unsupported image format");
  }
}

TEST_F(ImageDecodeTest, EmptyInput) {
  expect_error(decode({}), StatusCode::kInvalidArgument, "empty");
}

TEST_F(ImageDecodeTest, TruncatedDataIsInvalidArgument) {
  for (const char* name : {"large_900x700.jpg", "progressive.jpg", "odd_449x301.png", "lossy.webp",
                           "palette.gif", "rgb.tiff", "lossless_alpha.webp"}) {
    std::vector<uint8_t> bytes = read_fixture(name);
    bytes.resize(bytes.size() / 2);
    auto r = decode(bytes);
    expect_error(r, StatusCode::kInvalidArgument, "");
  }
  // Only the first bytes of a JPEG: the header cannot even be read.
  std::vector<uint8_t> head = read_fixture("large_900x700.jpg");
  head.resize(100);
  expect_error(decode(head), StatusCode::kInvalidArgument, "jpeg");
}

TEST_F(ImageDecodeTest, CorruptDataIsInvalidArgument) {
  // PNG: flip bytes inside the compressed IDAT stream (zlib/CRC errors).
  std::vector<uint8_t> png = read_fixture("odd_449x301.png");
  for (size_t i = png.size() / 2; i < png.size() / 2 + 64; ++i) png[i] ^= 0x5A;
  expect_error(decode(png), StatusCode::kInvalidArgument, "png");
  // PNG with a wrong IHDR CRC.
  std::vector<uint8_t> crc = read_fixture("tiny_3x5.png");
  crc[29] ^= 0xFF;
  expect_error(decode(crc), StatusCode::kInvalidArgument, "png");
  // JPEG with an impossible sample precision in its frame header.
  std::vector<uint8_t> jpg = read_fixture("large_900x700.jpg");
  for (size_t i = 2; i + 4 < jpg.size(); ++i) {
    if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
      jpg[i + 4] = 9;
      break;
    }
  }
  expect_error(decode(jpg), StatusCode::kInvalidArgument, "jpeg");
  // JPEG with a Huffman table that claims more codes than bytes follow.
  std::vector<uint8_t> dht = read_fixture("large_900x700.jpg");
  for (size_t i = 2; i + 8 < dht.size(); ++i) {
    if (dht[i] == 0xFF && dht[i + 1] == 0xC4) {
      for (int k = 5; k < 5 + 16; ++k) dht[i + k] = 0xFF;
      break;
    }
  }
  expect_error(decode(dht), StatusCode::kInvalidArgument, "jpeg");
}

TEST_F(ImageDecodeTest, MissingFileIsNotFound) {
  auto r = decode_image_file("/nonexistent/seer/x.jpg", {}, ledger_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST_F(ImageDecodeTest, ShrinkOnLoad) {
  EXPECT_EQ(choose_shrink(6000, 448), 4);  // 1500 >= 896; 750 < 896
  EXPECT_EQ(choose_shrink(900, 64), 4);    // 225 >= 128; 112 < 128
  EXPECT_EQ(choose_shrink(800, 448), 1);
  EXPECT_EQ(choose_shrink(100000, 448), 8);
  DecodeOptions opt;
  opt.shrink_on_load = 4;
  {
    auto img = decode(read_fixture("large_900x700.jpg"), opt);
    ASSERT_TRUE(img.ok());
    EXPECT_EQ(img->shrink, 4);
    EXPECT_EQ(img->width, 225);
    EXPECT_EQ(img->height, 175);
    EXPECT_EQ(img->source_width, 900);
    auto webp = decode(read_fixture("lossy.webp"), opt);
    ASSERT_TRUE(webp.ok());
    EXPECT_EQ(webp->shrink, 4);
    EXPECT_LT(webp->width, 60);
    // PNG has no shrink-on-load: full size, shrink recorded as 1.
    auto png = decode(read_fixture("odd_449x301.png"), opt);
    ASSERT_TRUE(png.ok());
    EXPECT_EQ(png->shrink, 1);
    EXPECT_EQ(png->width, 449);
  }
  opt.shrink_on_load = 3;
  expect_error(decode(read_fixture("large_900x700.jpg"), opt), StatusCode::kInvalidArgument,
               "shrink_on_load");
}

// HEIF/AVIF: Pillow 9.4 cannot read them, so there is no pixel reference; the files are made
// here with libvips's own encoder (libheif: HEVC and AV1) from a PNG fixture and must decode to
// the same size and, lossy as they are, to nearly the same pixels.
TEST_F(ImageDecodeTest, HeifAndAvifWhenLibvipsHasThem) {
  auto png = decode(read_fixture("small_97x61.png"));
  ASSERT_TRUE(png.ok());
  VipsImage* in = vips_image_new_from_memory(png->pixels.data(), png->row_bytes() * png->height,
                                             png->width, png->height, 3, VIPS_FORMAT_UCHAR);
  for (int compression : {VIPS_FOREIGN_HEIF_COMPRESSION_HEVC, VIPS_FOREIGN_HEIF_COMPRESSION_AV1}) {
    void* buf = nullptr;
    size_t len = 0;
    if (vips_heifsave_buffer(in, &buf, &len, "compression", compression, "Q", 90, nullptr) != 0) {
      vips_error_clear();
      std::printf("libvips cannot write HEIF compression %d here; decode not checked\n", compression);
      continue;
    }
    std::vector<uint8_t> bytes(static_cast<uint8_t*>(buf), static_cast<uint8_t*>(buf) + len);
    g_free(buf);
    auto heif = decode(bytes);
    ASSERT_TRUE(heif.ok()) << heif.status().to_string();
    EXPECT_EQ(heif->format, "heif");
    ASSERT_EQ(heif->width, 97);
    ASSERT_EQ(heif->height, 61);
    ASSERT_EQ(heif->channels, 3);
    double sum = 0;
    for (size_t i = 0; i < heif->pixels.size(); ++i) {
      sum += std::abs(int(heif->pixels.as<uint8_t>()[i]) - int(png->pixels.as<uint8_t>()[i]));
    }
    EXPECT_LT(sum / heif->pixels.size(), 8.0) << "compression " << compression;
  }
  g_object_unref(in);
}

TEST_F(ImageDecodeTest, SniffsContainers) {
  auto sniff = [](std::string s) {
    return std::string(sniff_image_format(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size())));
  };
  EXPECT_EQ(sniff("\xFF\xD8\xFF\xE0"), "jpeg");
  EXPECT_EQ(sniff("GIF89a"), "gif");
  EXPECT_EQ(sniff(std::string("RIFF\0\0\0\0WEBPVP8 ", 16)), "webp");
  EXPECT_EQ(sniff(std::string("\0\0\0\x1C"
                              "ftypavif",
                              12)),
            "heif");
  EXPECT_EQ(sniff("RIFF....AVI "), "");
  EXPECT_EQ(sniff(""), "");
}

}  // namespace
}  // namespace seer
