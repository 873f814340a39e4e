// The pack cache (engine/pack_cache.h): a second load maps every packed weight from the file the
// first wrote and computes bit-identical outputs; a changed model file, a damaged cache file, a
// different precision or an unwritable folder never give wrong answers, only a repack.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "engine/model.h"
#include "engine/pack_cache.h"
#include "test_util/smaps.h"
#include "test_util/temp_dir.h"

namespace seer::engine {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(SEER_SOURCE_DIR) / "tests/fixtures/models";

struct Loaded {
  std::vector<float> out;
  uint64_t weight_bytes = 0;
  LoadTimings timings;
};

// Loads `model` at max batch `batch` with the given choice and runs a fixed batch of that size.
Loaded load_and_run(const fs::path& model, const EngineChoice& choice, int batch = 2) {
  MemoryLedger ledger;
  Loaded r;
  {
    LoadOptions opt;
    opt.ledger = &ledger;
    opt.owner = "cache-test";
    opt.max_batch = batch;
    opt.engine = choice;
    auto m = Model::load(model.string(), opt);
    EXPECT_TRUE(m.ok()) << m.status().to_string();
    if (!m.ok()) return r;
    Shape s = (*m)->inputs()[0].shape;
    s[0] = batch;
    std::vector<float> in(s.numel());
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>((i * 7919) % 255) / 127.f - 1.f;
    auto ctx = (*m)->create_context();
    EXPECT_TRUE(ctx.ok());
    Tensor x(DataType::kFloat32, s, in.data());
    std::vector<Tensor> out((*m)->outputs().size());
    Status st = (*m)->run(**ctx, {&x, 1}, out);
    EXPECT_TRUE(st.ok()) << st.to_string();
    if (st.ok()) r.out.assign(out[0].data<float>(), out[0].data<float>() + out[0].numel());
    r.weight_bytes = (*m)->weight_bytes();
    r.timings = (*m)->load_timings();
  }
  return r;
}

std::vector<fs::path> cache_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".seerpack") files.push_back(e.path());
  return files;
}

class PackCacheTest : public testing::TestWithParam<const char*> {};

TEST_P(PackCacheTest, SecondLoadMapsEveryPackedWeightAndMatchesBitForBit) {
  test::TempDir tmp("seer-pack-cache");
  const fs::path model = tmp.path() / "model.onnx";
  fs::copy_file(kFixtures / GetParam() / "model_opset13.onnx", model);
  EngineChoice choice;
  choice.pack_cache_dir = (tmp.path() / "cache").string();

  const Loaded plain = load_and_run(model, EngineChoice{});
  const Loaded first = load_and_run(model, choice);
  ASSERT_GT(first.timings.cache_misses, 0);
  EXPECT_EQ(first.timings.cache_hits, 0);
  ASSERT_EQ(cache_files(choice.pack_cache_dir).size(), 1u);
  EXPECT_EQ(first.out, plain.out);

  const Loaded second = load_and_run(model, choice);
  EXPECT_EQ(second.timings.cache_hits, first.timings.cache_misses);
  EXPECT_EQ(second.timings.cache_misses, 0);
  EXPECT_EQ(second.timings.pack_ms, 0.0);
  EXPECT_EQ(second.out, plain.out);
  // The ledger shows the same weight bytes whether packed or mapped from the cache, and what
  // plan_bytes() promised the runtime.
  EXPECT_EQ(second.weight_bytes, plain.weight_bytes);
  LoadOptions measure;
  measure.max_batch = 2;
  measure.engine = choice;
  auto planned = Model::plan_bytes(model.string(), measure);
  ASSERT_TRUE(planned.ok());
  EXPECT_EQ(planned->weights_resident, second.weight_bytes);

  // bf16 is another slot (its own file), not a hit on the fp32 blobs.
  EngineChoice bf16 = choice;
  bf16.precision = Precision::kBF16;
  const Loaded b1 = load_and_run(model, bf16);
  EXPECT_EQ(b1.timings.cache_hits, 0);
  EXPECT_EQ(cache_files(choice.pack_cache_dir).size(), 2u);
  const Loaded b2 = load_and_run(model, bf16);
  EXPECT_EQ(b2.timings.cache_misses, 0);
  EXPECT_EQ(b2.out, b1.out);
}

TEST_P(PackCacheTest, ChangedModelOrDamagedFileRepacks) {
  test::TempDir tmp("seer-pack-cache");
  const fs::path model = tmp.path() / "model.onnx";
  fs::copy_file(kFixtures / GetParam() / "model_opset13.onnx", model);
  EngineChoice choice;
  choice.pack_cache_dir = (tmp.path() / "cache").string();
  const Loaded first = load_and_run(model, choice);
  ASSERT_GT(first.timings.cache_misses, 0);

  // The model file changes (another mtime): the file is stale, the weights are packed again
  // and the cache is replaced, so the next load hits again.
  struct utimbuf t {1000000000, 1000000000};
  ASSERT_EQ(utime(model.c_str(), &t), 0);
  const Loaded changed = load_and_run(model, choice);
  EXPECT_EQ(changed.timings.cache_hits, 0);
  EXPECT_EQ(changed.timings.cache_misses, first.timings.cache_misses);
  EXPECT_EQ(changed.out, first.out);
  EXPECT_EQ(load_and_run(model, choice).timings.cache_misses, 0);

  // A truncated file (a crash of something else, a full disk) is ignored, then replaced.
  const auto files = cache_files(choice.pack_cache_dir);
  ASSERT_EQ(files.size(), 1u);
  fs::resize_file(files[0], fs::file_size(files[0]) / 2);
  const Loaded truncated = load_and_run(model, choice);
  EXPECT_EQ(truncated.timings.cache_hits, 0);
  EXPECT_EQ(truncated.out, first.out);
  // A garbled header likewise.
  {
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    f.write("NOTAPACK", 8);
  }
  const Loaded garbled = load_and_run(model, choice);
  EXPECT_EQ(garbled.timings.cache_hits, 0);
  EXPECT_EQ(garbled.out, first.out);
  EXPECT_EQ(load_and_run(model, choice).timings.cache_misses, 0);
}

TEST_P(PackCacheTest, OneFileServesEveryMaxBatch) {
  test::TempDir tmp("seer-pack-cache");
  const fs::path model = tmp.path() / "model.onnx";
  fs::copy_file(kFixtures / GetParam() / "model_opset13.onnx", model);
  EngineChoice choice;
  choice.pack_cache_dir = (tmp.path() / "cache").string();
  const Loaded one = load_and_run(model, choice, 1);
  const Loaded five = load_and_run(model, choice, 5);  // may need blobs of other layouts
  EXPECT_GT(five.timings.cache_hits + five.timings.cache_misses, 0);
  // Both max batches now load without packing: the second save kept the first's blobs.
  const Loaded one_again = load_and_run(model, choice, 1);
  const Loaded five_again = load_and_run(model, choice, 5);
  EXPECT_EQ(one_again.timings.cache_misses, 0);
  EXPECT_EQ(five_again.timings.cache_misses, 0);
  EXPECT_EQ(one_again.out, one.out);
  EXPECT_EQ(five_again.out, five.out);
  EXPECT_EQ(cache_files(choice.pack_cache_dir).size(), 1u);
}

// The file format on its own: a load that adds blobs keeps the old file's other blobs, and the
// bytes read back are the bytes written.
TEST(PackCache, SaveKeepsBlobsThisLoadDidNotUse) {
  test::TempDir tmp("seer-pack-cache");
  const fs::path model = tmp.path() / "model.onnx";
  std::ofstream(model) << "stand-in model";
  const std::string dir = (tmp.path() / "cache").string();
  std::vector<char> a(5000, 'a'), b(100, 'b'), c(70000, 'c');
  {
    PackCache cache = PackCache::open(dir, model.string(), "fp32 packed");
    ASSERT_TRUE(cache.enabled());
    EXPECT_EQ(cache.find("A", a.size()), nullptr);
    cache.record("A", a.data(), a.size(), false);
    cache.record("B", b.data(), b.size(), false);
    EXPECT_GT(cache.save(), a.size() + b.size());
  }
  {
    PackCache cache = PackCache::open(dir, model.string(), "fp32 packed");
    EXPECT_NE(cache.find("A", a.size()), nullptr);
    EXPECT_EQ(cache.find("A", a.size() + 1), nullptr);  // same key, other size: a miss
    cache.record("C", c.data(), c.size(), false);       // this load needed only C
    EXPECT_GT(cache.save(), 0u);
  }
  PackCache cache = PackCache::open(dir, model.string(), "fp32 packed");
  EXPECT_EQ(PackCache::open(dir, model.string(), "bf16 packed").find("A", a.size()), nullptr);
  for (const auto& [key, want] : {std::pair{"A", &a}, std::pair{"B", &b}, std::pair{"C", &c}}) {
    const PackCache::Entry* e = cache.find(key, want->size());
    ASSERT_NE(e, nullptr) << key;
    EXPECT_EQ(e->offset % 4096, 0u);
    std::vector<char> got(want->size());
    std::ifstream f(cache.file(), std::ios::binary);
    f.seekg(static_cast<std::streamoff>(e->offset));
    f.read(got.data(), static_cast<std::streamsize>(got.size()));
    EXPECT_EQ(got, *want) << key;
  }
  // Nothing packed: nothing written.
  cache.record("A", a.data(), a.size(), true);
  EXPECT_EQ(cache.save(), 0u);
}

// Memory truth: what the ledger calls the model's weights from the cache file is what the OS
// shows resident from that file (the blobs are page-aligned and prefaulted at load).
TEST(PackCache, MappedBlobsAreResidentAsTheLedgerSays) {
  test::TempDir tmp("seer-pack-cache");
  const fs::path model = tmp.path() / "model.onnx";
  fs::copy_file(kFixtures / "hf_vit/model_opset13.onnx", model);
  EngineChoice choice;
  choice.pack_cache_dir = (tmp.path() / "cache").string();
  load_and_run(model, choice);  // fills the cache
  const auto files = cache_files(choice.pack_cache_dir);
  ASSERT_EQ(files.size(), 1u);
  MemoryLedger ledger;
  LoadOptions opt;
  opt.ledger = &ledger;
  opt.owner = "cache-test";
  opt.max_batch = 2;
  opt.engine = choice;
  uint64_t with_cache = 0;
  {
    auto m = Model::load(model.string(), opt);
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    ASSERT_GT((*m)->load_timings().cache_hits, 0);
    const LoadTimings& lt = (*m)->load_timings();
    with_cache = lt.cache_mapped_bytes;
    // Each blob is page-aligned in the file, so at most one partial page per blob is extra.
    const uint64_t resident = test::resident_bytes_of(fs::canonical(files[0]).string());
    EXPECT_GE(resident, lt.cache_mapped_bytes);
    EXPECT_LT(resident, lt.cache_mapped_bytes + 4096ull * lt.cache_hits);
    EXPECT_EQ(ledger.device_usage(DeviceId{})->used_bytes, (*m)->weight_bytes());
  }
  EXPECT_EQ(ledger.device_usage(DeviceId{})->used_bytes, 0u) << "the ledger keeps bytes after the model is gone";
  EXPECT_EQ(test::resident_bytes_of(fs::canonical(files[0]).string()), 0u) << "a cache mapping outlived the model";
  EXPECT_GT(with_cache, 0u);
}

TEST(PackCache, UnwritableFolderStillLoads) {
  test::TempDir tmp("seer-pack-cache");
  const fs::path model = tmp.path() / "model.onnx";
  fs::copy_file(kFixtures / "mobilenet/model_opset13.onnx", model);
  std::ofstream(tmp.path() / "file") << "x";
  EngineChoice choice;
  choice.pack_cache_dir = (tmp.path() / "file" / "cache").string();  // under a regular file
  const Loaded plain = load_and_run(model, EngineChoice{});
  const Loaded r = load_and_run(model, choice);
  EXPECT_GT(r.timings.cache_misses, 0);
  EXPECT_EQ(r.out, plain.out);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PackCacheTest, testing::Values("hf_vit", "mobilenet"));

}  // namespace
}  // namespace seer::engine
