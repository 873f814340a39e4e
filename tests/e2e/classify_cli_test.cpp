// End to end: the real `seer classify` binary with the tiny HF ViT classifier
// (tests/fixtures/models/vit-classifier-tiny) on the committed fixture images plus a corrupt file.
// Reference: tests/fixtures/classifier/vit-classifier-tiny.json (tools/gen_classifier_fixtures.py:
// Pillow preprocessing, onnxruntime-node, softmax in float64; none of it seer's).
// Checks the JSONL record (path, label, score, predictions with every class, score descending)
// against the reference probabilities, the exit codes, and the index: a re-run skips everything,
// a changed image is classified again, and nothing is stored twice.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "tag_cli_util.h"
#include "test_util/temp_dir.h"

namespace seer::test {
namespace {

using json = nlohmann::ordered_json;  // keeps the record's key order

const fs::path kClassifier = kSourceDir / "tests/fixtures/models/vit-classifier-tiny";
const fs::path kReference = kSourceDir / "tests/fixtures/classifier/vit-classifier-tiny.json";
// seer's engine and decoder vs Pillow + ONNX Runtime: float32 results of a differently ordered
// computation on byte-identical tiles (image/preprocess.h: vit tiles are exact).
constexpr double kTol = 2e-4;

std::vector<std::string> args(const fs::path& imgs, const fs::path& db, const fs::path& jsonl) {
  return {"classify", imgs.string(), "--model", kClassifier.string(), "--db", db.string(), "--jsonl",
          jsonl.string(), "--batch", "4", "--threads", "2", "--no-progress"};
}

int exit_code(SeerProcess& p) {
  const int st = p.wait();
  EXPECT_TRUE(WIFEXITED(st)) << describe_status(st) << "\n" << p.stderr_text();
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int64_t sql_count(const fs::path& db_path, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    n = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

TEST(ClassifyCli, RecordsMatchOnnxRuntimeAndReRunsSkip) {
  ASSERT_TRUE(fs::exists(kSeerBinary)) << kSeerBinary;
  if (!fs::exists(kReference)) GTEST_SKIP() << "no reference " << kReference;
  const json ref = json::parse(slurp(kReference));
  const auto labels = ref.at("labels").get<std::vector<std::string>>();
  TempDir tmp("seer-classify-e2e");
  const fs::path imgs = tmp.path() / "imgs";
  fs::create_directories(imgs);
  std::map<std::string, std::vector<double>> want;  // file name -> probabilities in class order
  for (const json& r : ref.at("results")) {
    const fs::path src = kSourceDir / "tests/fixtures" / r.at("image").get<std::string>();
    fs::copy_file(src, imgs / src.filename());
    want[src.filename()] = r.at("probabilities").get<std::vector<double>>();
  }
  std::ofstream(imgs / "zz_broken.png") << "\x89PNG\r\n\x1a\n truncated";
  const fs::path db = tmp.path() / "classes.db";

  // First run: every image classified, the corrupt one reported: exit 1.
  SeerProcess p = SeerProcess::start(args(imgs, db, tmp.path() / "a.jsonl"), tmp.path() / "a");
  ASSERT_EQ(exit_code(p), 1) << p.stderr_text();
  const auto lines = read_lines(tmp.path() / "a.jsonl");
  ASSERT_EQ(lines.size(), want.size() + 1);
  for (const std::string& line : lines) {
    const json rec = json::parse(line);
    const std::string name = fs::path(rec.at("path").get<std::string>()).filename();
    if (name == "zz_broken.png") {
      EXPECT_TRUE(rec.contains("error")) << line;
      continue;
    }
    ASSERT_TRUE(want.count(name)) << name;
    const std::vector<double>& probs = want.at(name);
    // Keys in order: path, label, score, predictions.
    std::vector<std::string> keys;
    for (auto it = rec.begin(); it != rec.end(); ++it) keys.push_back(it.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"path", "label", "score", "predictions"})) << line;
    const json& preds = rec.at("predictions");
    ASSERT_EQ(preds.size(), labels.size()) << line;
    double prev = 2;
    for (const json& pr : preds) {
      const auto at = std::find(labels.begin(), labels.end(), pr.at("label").get<std::string>());
      ASSERT_NE(at, labels.end()) << line;
      EXPECT_NEAR(pr.at("score").get<double>(), probs[at - labels.begin()], kTol) << name << " " << *at;
      EXPECT_LE(pr.at("score").get<double>(), prev) << "not sorted: " << line;
      prev = pr.at("score").get<double>();
    }
    const size_t top = std::max_element(probs.begin(), probs.end()) - probs.begin();
    EXPECT_EQ(rec.at("label"), labels[top]) << line;
    EXPECT_NEAR(rec.at("score").get<double>(), probs[top], kTol) << line;
  }
  // The index: one row per file, every class stored for each classified image.
  EXPECT_EQ(sql_count(db, "SELECT COUNT(*) FROM images"), static_cast<int64_t>(want.size() + 1));
  EXPECT_EQ(sql_count(db, "SELECT COUNT(*) FROM images WHERE status = 'done'"), static_cast<int64_t>(want.size()));
  EXPECT_EQ(sql_count(db, "SELECT COUNT(*) FROM tags"), static_cast<int64_t>(want.size() * labels.size()));

  // Second run, failed files not retried: nothing to do, exit 0, no records.
  auto second = args(imgs, db, tmp.path() / "b.jsonl");
  second.push_back("--no-retry-failed");
  SeerProcess p2 = SeerProcess::start(second, tmp.path() / "b");
  ASSERT_EQ(exit_code(p2), 0) << p2.stderr_text();
  EXPECT_TRUE(read_lines(tmp.path() / "b.jsonl").empty());
  EXPECT_NE(p2.stderr_text().find(fmt::format("{} images: 0 classified, {} skipped, 0 failed", want.size() + 1,
                                              want.size() + 1)),
            std::string::npos)
      << p2.stderr_text();

  // An image that changes (here: replaced by another picture) is classified again, once.
  const std::string changed = want.begin()->first;
  fs::remove(imgs / changed);
  fs::copy_file(kSourceDir / "tests/fixtures/images/gray.png", imgs / changed);
  SeerProcess p3 = SeerProcess::start(second, tmp.path() / "c");
  ASSERT_EQ(exit_code(p3), 0) << p3.stderr_text();
  const auto again = read_lines(tmp.path() / "b.jsonl");
  ASSERT_EQ(again.size(), 1u);
  const json rec = json::parse(again[0]);
  EXPECT_EQ(fs::path(rec.at("path").get<std::string>()).filename(), changed);
  const std::vector<double>& gray = want.at("gray.png");
  const size_t top = std::max_element(gray.begin(), gray.end()) - gray.begin();
  EXPECT_NEAR(rec.at("score").get<double>(), gray[top], kTol);
  EXPECT_EQ(sql_count(db, "SELECT COUNT(*) FROM images"), static_cast<int64_t>(want.size() + 1));
  EXPECT_EQ(sql_count(db, "SELECT COUNT(*) FROM tags"), static_cast<int64_t>(want.size() * labels.size()));
}

}  // namespace
}  // namespace seer::test
