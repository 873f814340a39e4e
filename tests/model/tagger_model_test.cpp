// The WD14 tagger family end to end on the tiny generated tagger (tests/fixtures/models/
// tagger-tiny: NHWC 64x64 BGR, 54 classes with hard names) and committed images, against
// tests/fixtures/tagger/e2e/expected_*.jsonl, which tools/gen_tagger_fixtures.py computed with
// Pillow preprocessing -> ONNX Runtime -> tools/wd14_reference.py (none of it seer's).
#include "test_util/temp_dir.h"
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/tag_record_json.h"
#include "image/preprocess.h"
#include "models/tagger/tag_pipeline.h"
#include "models/tagger/wd14_tagger.h"

namespace seer {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = SEER_SOURCE_DIR;
const fs::path kModel = kSource / "tests/fixtures/models/tagger-tiny";
const fs::path kImages = kSource / "tests/fixtures/images";
const fs::path kE2e = kSource / "tests/fixtures/tagger/e2e";
// seer's engine vs ONNX Runtime: float32 results of a differently ordered computation.
constexpr double kScoreTol = 2e-5;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines(const fs::path& p) {
  std::istringstream in(slurp(p));
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

// Every TempDir in this file is named seer-tagger-model-XXXXXX.
class TempDir : public test::TempDir {
 public:
  TempDir() : test::TempDir("seer-tagger-model") {}
};

std::unique_ptr<Wd14Tagger> load_tiny(MemoryLedger& ledger, int max_batch = 4) {
  TaggerLoadOptions opt{.ledger = &ledger, .owner = "tagger-tiny", .max_batch = max_batch};
  auto t = Wd14Tagger::load(kModel, opt);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return t.ok() ? std::move(t).value() : nullptr;
}

TEST(TaggerModel, ReadsNamesSizeAndClassesFromTheGraph) {
  MemoryLedger ledger;
  auto tagger = load_tiny(ledger);
  ASSERT_TRUE(tagger);
  EXPECT_EQ(tagger->input_name(), "input_1:0");
  EXPECT_EQ(tagger->output_name(), "output");
  EXPECT_EQ(tagger->preprocess().width, 64);
  EXPECT_EQ(tagger->preprocess().height, 64);
  EXPECT_EQ(tagger->preprocess().layout, TensorLayout::kNHWC);
  EXPECT_EQ(tagger->preprocess().order, ChannelOrder::kBGR);
  EXPECT_EQ(tagger->num_classes(), 54u);
  EXPECT_EQ(tagger->tags().rating_indices().size(), 4u);
  EXPECT_EQ(tagger->tags().character_indices().size(), 16u);
  // A folder without the CSV is not a tagger.
  TempDir dir;
  fs::copy_file(kModel / "model.onnx", dir.path() / "model.onnx");
  EXPECT_EQ(Wd14Tagger::load(dir.path(), {.ledger = &ledger}).status().code(), StatusCode::kNotFound);
  // A CSV with the wrong row count is refused at load, naming both counts.
  std::ofstream(dir.path() / "selected_tags.csv") << "tag_id,name,category,count\n1,general,9,1\n2,a,0,1\n";
  auto bad = Wd14Tagger::load(dir.path(), {.ledger = &ledger});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("54"), std::string::npos) << bad.status().message();
}

TEST(TaggerModel, AnImagesScoresDoNotDependOnItsBatchMates) {
  MemoryLedger ledger;
  auto tagger = load_tiny(ledger, 4);
  ASSERT_TRUE(tagger);
  auto ctx = tagger->create_context();
  ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
  std::vector<Tile> tiles;
  for (const char* name : {"exact_448x300.jpg", "lossy.webp", "palette_alpha.png", "cmyk.jpg"}) {
    auto t = load_tile_file((kImages / name).string(), tagger->preprocess(), {}, ledger);
    ASSERT_TRUE(t.ok()) << name << ": " << t.status().to_string();
    tiles.push_back(std::move(t).value());
  }
  const size_t c = tagger->num_classes();
  std::vector<const Tile*> all = {&tiles[0], &tiles[1], &tiles[2], &tiles[3]};
  std::vector<const Tile*> shuffled = {&tiles[2], &tiles[0], &tiles[3], &tiles[1]};
  std::vector<float> batch4, batch4b, single;
  ASSERT_TRUE(tagger->infer(**ctx, all, &batch4).ok());
  ASSERT_TRUE(tagger->infer(**ctx, shuffled, &batch4b).ok());
  const size_t pos_in_shuffled[] = {1, 3, 0, 2};
  double worst = 0;
  for (size_t i = 0; i < tiles.size(); ++i) {
    const Tile* one[] = {&tiles[i]};
    ASSERT_TRUE(tagger->infer(**ctx, one, &single).ok());
    for (size_t k = 0; k < c; ++k) {
      worst = std::max(worst, std::abs(double(single[k]) - batch4[i * c + k]));
      worst = std::max(worst, std::abs(double(single[k]) - batch4b[pos_in_shuffled[i] * c + k]));
    }
  }
  EXPECT_LT(worst, 1e-6) << "batch mates changed an image's scores";
  // Over the max batch is refused, not overrun.
  std::vector<const Tile*> five = {&tiles[0], &tiles[1], &tiles[2], &tiles[3], &tiles[0]};
  EXPECT_EQ(tagger->infer(**ctx, five, &single).code(), StatusCode::kInvalidArgument);
}

// Compares a seer record with the reference one: same tags in the same order, scores within
// kScoreTol; a tag whose reference score is within kScoreTol of its threshold may flip.
void expect_record_matches(const nlohmann::json& got, const nlohmann::json& want,
                           const TagOptions& opt) {
  const std::string what = want.at("path");
  ASSERT_FALSE(got.contains("error")) << what << ": " << got.dump();
  ASSERT_EQ(got.at("rating").size(), want.at("rating").size()) << what;
  for (auto& [k, v] : want.at("rating").items()) {
    EXPECT_NEAR(got.at("rating").at(k).get<double>(), v.get<double>(), kScoreTol) << what << " " << k;
  }
  bool near_threshold = false;
  for (const char* block : {"general", "character"}) {
    const double t = std::string(block) == "general" ? opt.general_threshold : opt.character_threshold;
    const auto& g = got.at(block);
    const auto& w = want.at(block);
    for (const auto& x : w) near_threshold |= std::abs(x.at("score").get<double>() - t) < kScoreTol;
    for (const auto& x : g) near_threshold |= std::abs(x.at("score").get<double>() - t) < kScoreTol;
    if (near_threshold) continue;
    ASSERT_EQ(g.size(), w.size()) << what << " " << block << "\n got " << g.dump() << "\nwant " << w.dump();
    for (size_t i = 0; i < g.size(); ++i) {
      EXPECT_EQ(g[i].at("tag"), w[i].at("tag")) << what << " " << block << " #" << i;
      EXPECT_NEAR(g[i].at("score").get<double>(), w[i].at("score").get<double>(), kScoreTol)
          << what << " " << block << " #" << i;
    }
  }
  if (!near_threshold) {
    EXPECT_EQ(got.at("text"), want.at("text")) << what;
  }
}

TagOptions options_from(const nlohmann::json& j) {
  TagOptions o;
  o.general_threshold = j.at("general_threshold");
  o.character_threshold = j.at("character_threshold");
  o.general_mcut = j.at("general_mcut");
  o.character_mcut = j.at("character_mcut");
  auto place = [](const std::string& s) {
    return s == "first" ? TextPlacement::kFirst : s == "last" ? TextPlacement::kLast : TextPlacement::kOmit;
  };
  o.characters_in_text = place(j.at("characters_in_text"));
  o.rating_in_text = place(j.at("rating_in_text"));
  o.replace_underscores = j.at("replace_underscores");
  o.escape_parentheses = j.at("escape_parentheses");
  o.exclude = j.at("exclude").get<std::vector<std::string>>();
  return o;
}

struct RunOutput {
  TagRunSummary summary;
  std::vector<std::string> jsonl;
};

RunOutput run_pipeline(const fs::path& folder, const TagOptions& tag, TagIndex* index,
                       SidecarMode mode, int batch) {
  MemoryLedger ledger;
  RunOutput out;
  auto tagger = load_tiny(ledger, batch);
  if (!tagger) return out;
  auto ctx = tagger->create_context();
  EXPECT_TRUE(ctx.ok());
  if (!ctx.ok()) return out;
  TagPipelineOptions opt;
  opt.tag = tag;
  opt.batch = batch;
  opt.decode_threads = 2;
  opt.sidecar = SidecarOptions{.mode = mode, .extension = ".txt", .fsync = false};
  opt.index = index;
  std::vector<WalkedFile> files;
  ImageFileWalker walker({folder}, {});
  while (auto f = walker.next()) files.push_back(std::move(*f));
  Wd14TileTagger model(*tagger, **ctx);
  TagPipeline pipeline(model, ledger, opt);
  auto s = pipeline.run(files, [&](const ImageOutcome& o) {
    const std::string name = o.file->path.filename().string();
    if (o.kind == ImageOutcome::Kind::kDone) out.jsonl.push_back(cli::tag_record_json(name, *o.result));
    if (o.kind == ImageOutcome::Kind::kFailed) out.jsonl.push_back(cli::tag_error_json(name, o.error.to_string()));
  });
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  if (s.ok()) out.summary = *s;
  return out;
}

TEST(TaggerModel, PipelineMatchesOnnxRuntimeAndTheSpaceReference) {
  const auto images = lines(kE2e / "images.txt");
  const auto options = nlohmann::json::parse(slurp(kE2e / "options.json"));
  for (const char* set : {"default", "extras"}) {
    SCOPED_TRACE(set);
    TempDir dir;
    for (const auto& name : images) fs::copy_file(kImages / name, dir.path() / name);
    std::ofstream(dir.path() / "zz_not_an_image.jpg") << "this is text, not a JPEG";
    const TagOptions opt = options_from(options.at(set));
    auto index = TagIndex::open(dir.path() / "tags.db", {.model_id = "tagger-tiny"});
    ASSERT_TRUE(index.ok()) << index.status().to_string();
    // Batch 3 on 13 files: full batches, a partial last one, and a failure in the stream.
    RunOutput run = run_pipeline(dir.path(), opt, index->get(), SidecarMode::kSkipExisting, 3);
    EXPECT_EQ(run.summary.total, images.size() + 1);
    EXPECT_EQ(run.summary.done, images.size());
    EXPECT_EQ(run.summary.failed, 1u);

    // Walk order is sorted by name; the reference is in images.txt order: match by path.
    std::map<std::string, nlohmann::json> got;
    for (const auto& l : run.jsonl) {
      auto j = nlohmann::json::parse(l);
      got[j.at("path")] = j;
    }
    ASSERT_TRUE(got.count("zz_not_an_image.jpg"));
    EXPECT_TRUE(got["zz_not_an_image.jpg"].contains("error"));
    const auto expected = lines(kE2e / (std::string("expected_") + set + ".jsonl"));
    ASSERT_EQ(expected.size(), images.size());
    for (const auto& l : expected) {
      auto want = nlohmann::json::parse(l);
      const std::string path = want.at("path");
      ASSERT_TRUE(got.count(path)) << path;
      expect_record_matches(got[path], want, opt);
      // The sidecar is the record's text plus a newline.
      EXPECT_EQ(slurp(dir.path() / fs::path(path).replace_extension(".txt")),
                got[path].at("text").get<std::string>() + "\n");
    }
    EXPECT_EQ(*(*index)->count_images("done"), static_cast<int64_t>(images.size()));
    EXPECT_EQ(*(*index)->count_images("failed"), 1);

    // A second run finds everything done (the failed file is retried and fails again).
    RunOutput again = run_pipeline(dir.path(), opt, index->get(), SidecarMode::kSkipExisting, 3);
    EXPECT_EQ(again.summary.done, 0u);
    EXPECT_EQ(again.summary.skipped, images.size());
    EXPECT_EQ(again.summary.failed, 1u);
    EXPECT_EQ(*(*index)->count_images(), static_cast<int64_t>(images.size()) + 1);
  }
}

}  // namespace
}  // namespace seer
