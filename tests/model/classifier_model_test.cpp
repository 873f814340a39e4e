// The classifier family end to end on the tiny HF ViT classifier (tests/fixtures/models/
// vit-classifier-tiny: NCHW 64x64, mean = std = 0.5, logits for normal/nsfw) and committed
// images, against tests/fixtures/classifier/vit-classifier-tiny.json, which
// tools/gen_classifier_fixtures.py computed with Pillow preprocessing -> ONNX Runtime -> softmax
// (none of it seer's). The nsfwjs TF.js models are checked in the tfjs importer's model tests and
// in tests/e2e/serve_classify_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "image/preprocess.h"
#include "models/classifier/classifier.h"

namespace seer {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = SEER_SOURCE_DIR;
const fs::path kModel = kSource / "tests/fixtures/models/vit-classifier-tiny";
const fs::path kExpected = kSource / "tests/fixtures/classifier/vit-classifier-tiny.json";
// seer's engine vs ONNX Runtime on identical tensors (the vit tiles are byte-identical to
// Pillow's, the tensor within 1 ulp): float32 results of a differently ordered computation.
constexpr double kProbTol = 2e-5;

nlohmann::json expected() {
  std::ifstream in(kExpected);
  return nlohmann::json::parse(in);
}

struct Loaded {
  MemoryLedger ledger;
  std::unique_ptr<Classifier> classifier;
  std::unique_ptr<ClassifierContext> ctx;
};

std::unique_ptr<Loaded> load(int max_batch) {
  auto l = std::make_unique<Loaded>();
  ClassifierLoadOptions opt;
  opt.ledger = &l->ledger;
  opt.owner = "vit-classifier-tiny";
  opt.max_batch = max_batch;
  auto c = Classifier::load(kModel, opt);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  if (!c.ok()) return nullptr;
  l->classifier = std::move(*c);
  auto ctx = l->classifier->create_context();
  EXPECT_TRUE(ctx.ok()) << ctx.status().to_string();
  if (!ctx.ok()) return nullptr;
  l->ctx = std::move(*ctx);
  return l;
}

TEST(ClassifierModel, VitTinyMatchesOnnxRuntimeOnImagesInOneBatchAndAlone) {
  const nlohmann::json exp = expected();
  const auto& results = exp["results"];
  const size_t n = results.size();
  auto l = load(static_cast<int>(n));
  ASSERT_TRUE(l);
  const Classifier& c = *l->classifier;
  EXPECT_EQ(c.labels(), exp["labels"].get<std::vector<std::string>>());
  EXPECT_EQ(c.preprocess().width, 64);
  EXPECT_EQ(c.max_batch(), static_cast<int>(n));

  std::vector<Tile> tiles;
  for (const auto& r : results) {
    auto t = load_tile_file((kSource / "tests/fixtures" / r["image"].get<std::string>()).string(), c.preprocess(),
                            {}, l->ledger);
    ASSERT_TRUE(t.ok()) << r["image"] << ": " << t.status().to_string();
    tiles.push_back(std::move(*t));
  }
  std::vector<const Tile*> ptrs;
  for (const auto& t : tiles) ptrs.push_back(&t);

  auto check = [&](const std::vector<ClassifyResult>& got, size_t first) {
    for (size_t i = 0; i < got.size(); ++i) {
      const auto& want = results[first + i];
      const auto& preds = got[i].predictions;
      ASSERT_EQ(preds.size(), 2u);
      EXPECT_GE(preds[0].score, preds[1].score) << "sorted descending";
      double max_err = 0;
      for (const auto& p : preds) {
        const size_t k = std::find(c.labels().begin(), c.labels().end(), p.label) - c.labels().begin();
        ASSERT_LT(k, 2u) << p.label;
        max_err = std::max(max_err, std::fabs(p.score - want["probabilities"][k].get<double>()));
      }
      EXPECT_LT(max_err, kProbTol) << want["image"];
      EXPECT_NEAR(preds[0].score + preds[1].score, 1.0, 1e-6);
    }
  };
  auto all = c.classify(*l->ctx, ptrs);
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  ASSERT_EQ(all->size(), n);
  check(*all, 0);
  // Alone (batch 1) the same answers: rows do not depend on their batch mates.
  for (size_t i = 0; i < n; ++i) {
    const Tile* one[] = {ptrs[i]};
    auto r = c.classify(*l->ctx, one);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    check(*r, i);
  }
  // The expected probabilities are not all alike (the test would pass a constant model otherwise).
  double lo = 1, hi = 0;
  for (const auto& r : results) {
    lo = std::min(lo, r["probabilities"][0].get<double>());
    hi = std::max(hi, r["probabilities"][0].get<double>());
  }
  EXPECT_GT(hi - lo, 0.1);
}

TEST(ClassifierModel, RefusesWrongTilesAndOversizedBatches) {
  auto l = load(2);
  ASSERT_TRUE(l);
  const Classifier& c = *l->classifier;
  auto spec = preprocess_spec("vit", 32);  // wrong size
  ASSERT_TRUE(spec.ok());
  auto small = load_tile_file((kSource / "tests/fixtures/images/gray.png").string(), *spec, {}, l->ledger);
  ASSERT_TRUE(small.ok());
  const Tile* one[] = {&*small};
  EXPECT_EQ(c.classify(*l->ctx, one).status().code(), StatusCode::kInvalidArgument);
  auto good = load_tile_file((kSource / "tests/fixtures/images/gray.png").string(), c.preprocess(), {}, l->ledger);
  ASSERT_TRUE(good.ok());
  const Tile* three[] = {&*good, &*good, &*good};
  EXPECT_EQ(c.classify(*l->ctx, three).status().code(), StatusCode::kInvalidArgument);
  // The context's bytes are in the ledger under the owner (arena + staging).
  EXPECT_GT(l->ctx->bytes(), 2u * 3 * 64 * 64 * sizeof(float));
}

TEST(ClassifierModel, LoadRefusesAFolderOfNeitherLayout) {
  MemoryLedger ledger;
  ClassifierLoadOptions opt;
  opt.ledger = &ledger;
  EXPECT_EQ(Classifier::load(kSource / "tests/fixtures/models/tagger-tiny", opt).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(ledger.total_bytes(), 0u);
}

}  // namespace
}  // namespace seer
