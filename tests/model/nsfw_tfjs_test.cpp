// The nsfwjs 4.4.0 TF.js models through seer's TF.js importer and engine, against the outputs of
// nsfwjs itself on @tensorflow/tfjs 4.22.0 (CPU) recorded in tests/fixtures/nsfw (expected.json,
// weights_sha256.json; tools/nsfwjs/make_fixtures.py, none of it seer's).
//
// The model folders come from `make models` (tools/nsfwjs/setup.sh): $SEER_NSFWJS_DIR, else
// $SEER_MODELS_DIR/nsfwjs, else ~/.local/share/seer/models/nsfwjs. Missing folders fail the test.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/model.h"
#include "engine/tfjs/tfjs_weights.h"
#include "image/decoder.h"
#include "test_util/temp_dir.h"

namespace seer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
const fs::path kFixtures = fs::path(SEER_SOURCE_DIR) / "tests/fixtures/nsfw";
const char* const kModels[] = {"mobilenet_v2", "mobilenet_v2_mid", "inception_v3"};
// fp32: the engine sums in another order than tfjs (and folds BatchNorm into the convs).
constexpr double kF32Tol = 1e-3;
// bf16: weights and conv/matmul inputs rounded to 8 mantissa bits, fp32 accumulation.
constexpr double kBf16Tol = 3e-2;

fs::path models_dir() {
  if (const char* d = std::getenv("SEER_NSFWJS_DIR"); d && *d) return d;
  if (const char* d = std::getenv("SEER_MODELS_DIR"); d && *d) return fs::path(d) / "nsfwjs";
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/root") / ".local/share/seer/models/nsfwjs";
}

// The folder of one model, or a failure telling how to make it.
::testing::AssertionResult model_folder(const std::string& name, fs::path* out) {
  *out = models_dir() / name;
  if (fs::is_regular_file(*out / "model.json")) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "nsfwjs model folder " << *out << " is missing: run `make models` (or bash tools/nsfwjs/setup.sh "
         << "DIR and set SEER_NSFWJS_DIR=DIR/nsfwjs)";
}

engine::LoadOptions options(MemoryLedger& ledger, const std::string& owner, int max_batch = 1,
                            engine::Precision precision = engine::Precision::kF32) {
  engine::LoadOptions opt;
  opt.ledger = &ledger;
  opt.owner = owner;
  opt.max_batch = max_batch;
  opt.engine.precision = precision;
  return opt;
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

// ---- SHA-256 (FIPS 180-4), enough for hashing the decoded weights ----
std::string sha256_hex(const void* data, size_t len) {
  static constexpr uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
      0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
      0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
      0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
      0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  std::vector<uint8_t> msg(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + len);
  msg.push_back(0x80);
  while (msg.size() % 64 != 56) msg.push_back(0);
  const uint64_t bits = uint64_t(len) * 8;
  for (int i = 7; i >= 0; --i) msg.push_back(static_cast<uint8_t>(bits >> (8 * i)));
  for (size_t off = 0; off < msg.size(); off += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = uint32_t(msg[off + 4 * i]) << 24 | uint32_t(msg[off + 4 * i + 1]) << 16 |
             uint32_t(msg[off + 4 * i + 2]) << 8 | msg[off + 4 * i + 3];
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  std::string out;
  for (uint32_t v : h) out += fmt::format("{:08x}", v);
  return out;
}

TEST(NsfwTfjs, Sha256SelfCheck) {
  EXPECT_EQ(sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// (1) Manifest parsing, shard concatenation (weights straddle shards) and uint8 dequantisation.
TEST(NsfwTfjs, DequantisedWeightsMatchTfjsBitForBit) {
  const json want_all = read_json(kFixtures / "weights_sha256.json");
  for (const char* name : kModels) {
    fs::path dir;
    ASSERT_TRUE(model_folder(name, &dir));
    auto w = engine::TfjsWeights::read_model_json((dir / "model.json").string());
    ASSERT_TRUE(w.ok()) << w.status().to_string();
    const json& want = want_all.at(name);
    EXPECT_EQ(w->entries().size(), want.size()) << name;
    int matched = 0;
    for (const auto& [wname, spec] : want.items()) {
      const engine::TfjsWeightEntry* e = w->find(wname);
      ASSERT_NE(e, nullptr) << name << ": " << wname;
      EXPECT_EQ(e->shape.to_vector(), spec.at("shape").get<std::vector<int64_t>>()) << wname;
      auto v = w->decode(wname);
      ASSERT_TRUE(v.ok()) << v.status().to_string();
      EXPECT_EQ(sha256_hex(v->data(), v->size() * sizeof(float)), spec.at("sha256").get<std::string>())
          << name << ": " << wname << " first " << (*v)[0];
      matched += 1;
    }
    EXPECT_EQ(matched, static_cast<int>(want.size()));
  }
}

struct Fixture {
  std::string id;
  std::vector<float> pixels;    // S*S*3, x/255
  std::array<double, 5> want;   // expected.json fixture
};

std::vector<Fixture> load_fixtures(const json& model_entry, MemoryLedger& ledger) {
  std::vector<Fixture> out;
  const int size = model_entry.at("input_size").get<int>();
  const fs::path dir = kFixtures / model_entry.at("fixture_dir").get<std::string>();
  for (const auto& [id, r] : model_entry.at("results").items()) {
    Fixture f;
    f.id = id;
    for (int i = 0; i < 5; ++i) f.want[i] = r.at("fixture").at(i).get<double>();
    auto img = decode_image_file((dir / (id + ".png")).string(), {}, ledger);
    EXPECT_TRUE(img.ok()) << img.status().to_string();
    if (!img.ok()) continue;
    EXPECT_EQ(img->width, size);
    EXPECT_EQ(img->height, size);
    EXPECT_EQ(img->channels, 3);
    f.pixels.resize(static_cast<size_t>(size) * size * 3);
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size * 3; ++x)
        f.pixels[static_cast<size_t>(y) * size * 3 + x] = static_cast<float>(img->row(y)[x]) / 255.0f;
    out.push_back(std::move(f));
  }
  return out;
}

// Runs `count` fixtures starting at `first` as one batch; returns max |p - want| and counts passes.
double run_batch(const engine::Model& model, engine::ExecutionContext& ctx, const std::vector<Fixture>& fx,
                 size_t first, size_t count, int size, double tol, int* passed, const char* what) {
  const size_t per = static_cast<size_t>(size) * size * 3;
  std::vector<float> in(per * count);
  for (size_t i = 0; i < count; ++i) std::memcpy(in.data() + i * per, fx[first + i].pixels.data(), per * 4);
  engine::Tensor x{engine::DataType::kFloat32, engine::Shape{static_cast<int64_t>(count), size, size, 3}, in.data()};
  std::vector<engine::Tensor> out(model.outputs().size());
  Status st = model.run(ctx, {&x, 1}, out);
  EXPECT_TRUE(st.ok()) << st.to_string();
  if (!st.ok()) return INFINITY;
  EXPECT_EQ(out[0].shape.to_vector(), (std::vector<int64_t>{static_cast<int64_t>(count), 5}));
  const float* p = out[0].data<float>();
  double worst = 0;
  for (size_t i = 0; i < count; ++i) {
    const Fixture& f = fx[first + i];
    double err = 0;
    for (int c = 0; c < 5; ++c) err = std::max(err, std::abs(double(p[i * 5 + c]) - f.want[c]));
    EXPECT_LE(err, tol) << what << " " << f.id << ": p = [" << p[i * 5] << ", " << p[i * 5 + 1] << ", "
                        << p[i * 5 + 2] << ", " << p[i * 5 + 3] << ", " << p[i * 5 + 4] << "]";
    if (err <= tol) ++*passed;
    worst = std::max(worst, err);
  }
  return worst;
}

// (2)+(3) Every model on every fixture, batch 1 and batches of 8, fp32 and bf16.
void check_model(const char* name, engine::Precision precision, double tol) {
  fs::path dir;
  ASSERT_TRUE(model_folder(name, &dir));
  const json expected = read_json(kFixtures / "expected.json");
  const json& entry = expected.at("models").at(name);
  const int size = entry.at("input_size").get<int>();
  MemoryLedger ledger;
  std::vector<Fixture> fx = load_fixtures(entry, ledger);
  ASSERT_GE(fx.size(), 20u);
  constexpr int kBatch = 8;
  auto model = engine::Model::load(dir.string(), options(ledger, name, kBatch, precision));
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  const engine::Model& m = **model;
  ASSERT_EQ(m.inputs().size(), 1u);
  EXPECT_EQ(m.inputs()[0].shape.to_vector(), (std::vector<int64_t>{engine::kDynamicDim, size, size, 3}));
  ASSERT_EQ(m.outputs().size(), 1u);
  EXPECT_GT(ledger.total_bytes(), 0u);
  // The decoded fp32 weights were packed into the convolutions' layouts and are freed: the model
  // holds one copy (the packed one), and the ledger says so.
  EXPECT_EQ(ledger.bytes(DeviceId{}, name, MemoryTag::kWeights), m.weight_bytes());
  if (precision == engine::Precision::kF32) {
    EXPECT_GE(m.load_timings().released_bytes, m.weight_bytes() * 9 / 10) << "decoded weights kept after packing";
  }
  auto ctx = m.create_context();
  ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
  int pass1 = 0, passb = 0;
  double worst1 = 0, worstb = 0;
  for (size_t i = 0; i < fx.size(); ++i)
    worst1 = std::max(worst1, run_batch(m, **ctx, fx, i, 1, size, tol, &pass1, "batch 1"));
  for (size_t i = 0; i < fx.size(); i += kBatch) {
    const size_t n = std::min<size_t>(kBatch, fx.size() - i);
    worstb = std::max(worstb, run_batch(m, **ctx, fx, i, n, size, tol, &passb, "batched"));
  }
  std::printf("[nsfw] %s %s: batch 1 %d/%zu within %.0e (max err %.3g), batch %d %d/%zu (max err %.3g); %s\n",
              name, precision == engine::Precision::kBF16 ? "bf16" : "fp32", pass1, fx.size(), tol, worst1,
              kBatch, passb, fx.size(), worstb, m.op_summary().c_str());
}

TEST(NsfwTfjs, MobileNetV2Fp32) { check_model("mobilenet_v2", engine::Precision::kF32, kF32Tol); }
TEST(NsfwTfjs, MobileNetV2MidFp32) { check_model("mobilenet_v2_mid", engine::Precision::kF32, kF32Tol); }
TEST(NsfwTfjs, InceptionV3Fp32) { check_model("inception_v3", engine::Precision::kF32, kF32Tol); }
TEST(NsfwTfjs, MobileNetV2Bf16) { check_model("mobilenet_v2", engine::Precision::kBF16, kBf16Tol); }
TEST(NsfwTfjs, MobileNetV2MidBf16) { check_model("mobilenet_v2_mid", engine::Precision::kBF16, kBf16Tol); }
TEST(NsfwTfjs, InceptionV3Bf16) { check_model("inception_v3", engine::Precision::kBF16, kBf16Tol); }

// The model.json path loads like its folder.
TEST(NsfwTfjs, LoadsFromTheModelJsonPath) {
  fs::path dir;
  ASSERT_TRUE(model_folder("mobilenet_v2", &dir));
  MemoryLedger ledger;
  auto m = engine::Model::load((dir / "model.json").string(), options(ledger, "m"));
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ((*m)->inputs()[0].name, "input_1");
  EXPECT_EQ((*m)->outputs()[0].name, "dense_3");
}

// (4) Broken folders fail the load with a clear Status.
class BrokenModel : public ::testing::Test {
 protected:
  // A copy of `name`'s folder; `edit` may change model.json's text or the shards.
  fs::path copy(const char* name) {
    fs::path src;
    EXPECT_TRUE(model_folder(name, &src));
    fs::path dst = tmp_.path() / name;
    fs::create_directories(dst);
    for (const auto& e : fs::directory_iterator(src)) fs::copy_file(e.path(), dst / e.path().filename());
    return dst;
  }
  Status load(const fs::path& p) {
    auto m = engine::Model::load(p.string(), options(ledger_, "broken"));
    return m.ok() ? Status() : m.status();
  }
  static void replace_in(const fs::path& file, const std::string& from, const std::string& to) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    std::string text = s.str();
    size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    std::ofstream(file, std::ios::trunc) << text;
  }
  test::TempDir tmp_{"seer-nsfw-tfjs"};
  MemoryLedger ledger_;
};

TEST_F(BrokenModel, UnknownGraphOpIsUnsupportedByName) {
  fs::path d = copy("mobilenet_v2_mid");
  replace_in(d / "model.json", "\"op\":\"AvgPool\"", "\"op\":\"FancyPool\"");
  Status st = load(d);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.to_string();
  EXPECT_NE(st.message().find("FancyPool"), std::string::npos) << st.to_string();
  EXPECT_NE(st.message().find("node '"), std::string::npos) << st.to_string();
}

TEST_F(BrokenModel, UnknownLayerClassIsUnsupportedByName) {
  fs::path d = copy("mobilenet_v2");
  replace_in(d / "model.json", "\"class_name\":\"Flatten\"", "\"class_name\":\"Lambda\"");
  Status st = load(d);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.to_string();
  EXPECT_NE(st.message().find("Lambda"), std::string::npos) << st.to_string();
  EXPECT_NE(st.message().find("flatten"), std::string::npos) << st.to_string();
}

TEST_F(BrokenModel, UnsupportedConfigValueIsUnsupported) {
  fs::path d = copy("mobilenet_v2");
  replace_in(d / "model.json", "\"max_value\":6", "\"max_value\":3");
  Status st = load(d);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.to_string();
  EXPECT_NE(st.message().find("max_value"), std::string::npos) << st.to_string();
}

TEST_F(BrokenModel, MissingShardIsNamed) {
  fs::path d = copy("inception_v3");
  fs::remove(d / "group1-shard4of6.bin");
  Status st = load(d);
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.to_string();
  EXPECT_NE(st.message().find("group1-shard4of6.bin"), std::string::npos) << st.to_string();
}

TEST_F(BrokenModel, TruncatedShardIsInvalid) {
  fs::path d = copy("mobilenet_v2_mid");
  fs::resize_file(d / "group1-shard2of2.bin", fs::file_size(d / "group1-shard2of2.bin") - 1000);
  Status st = load(d);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
  EXPECT_NE(st.message().find("truncated"), std::string::npos) << st.to_string();
}

TEST_F(BrokenModel, MalformedJsonIsInvalid) {
  fs::path d = copy("mobilenet_v2");
  std::ofstream(d / "model.json", std::ios::trunc) << "{\"modelTopology\": {\"model_config\": ";
  EXPECT_EQ(load(d).code(), StatusCode::kInvalidArgument);
  std::ofstream(d / "model.json", std::ios::trunc) << "{\"modelTopology\": 3, \"weightsManifest\": {}}";
  EXPECT_EQ(load(d).code(), StatusCode::kInvalidArgument);
  // A layer list whose entries have the wrong JSON types.
  std::ofstream(d / "model.json", std::ios::trunc)
      << R"({"modelTopology": {"model_config": {"class_name": "Model", "config": {"layers": [{"name": 5}]}}},
            "weightsManifest": []})";
  EXPECT_EQ(load(d).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ledger_.total_bytes(), 0u);  // nothing left charged after failed loads
}

}  // namespace
}  // namespace seer
