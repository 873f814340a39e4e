// End to end: the real `seer tag` binary with the tiny WD14 tagger (tests/fixtures/models/
// tagger-tiny) on 300 generated images plus one corrupt file, with --db, sidecars and --jsonl.
// One run is SIGKILLed half-way (once the tag index shows committed progress) and run again;
// the result must equal a clean single run over an identical folder: every image in the index
// exactly once with the same tags and scores, every sidecar present and byte-identical, the
// resumed run's JSONL holding exactly the images the killed run had not committed, and the exit
// codes right (1 while the corrupt file fails, 0 once it is skipped with --no-retry-failed).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tag_cli_util.h"
#include "test_util/temp_dir.h"

namespace seer::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

const fs::path kTagger = kSourceDir / "tests/fixtures/models/tagger-tiny";
constexpr int kImages = 300;

// One image's row in the tag index, keyed by file name (the two folders differ in path only).
struct IndexedImage {
  std::string status, text;
  std::map<std::pair<int, std::string>, double> tags;  // (category, tag) -> score
  int rows = 0;                                         // rows with this path (must be 1)
};

std::map<std::string, IndexedImage> read_index(const fs::path& db_path) {
  std::map<std::string, IndexedImage> out;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT id, path, status, coalesce(text, '') FROM images", -1, &st, nullptr),
            SQLITE_OK);
  std::map<int64_t, std::string> names;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const std::string name = fs::path(reinterpret_cast<const char*>(sqlite3_column_text(st, 1))).filename();
    IndexedImage& im = out[name];
    ++im.rows;
    im.status = reinterpret_cast<const char*>(sqlite3_column_text(st, 2));
    im.text = reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
    names[sqlite3_column_int64(st, 0)] = name;
  }
  sqlite3_finalize(st);
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT image_id, category, tag, score FROM tags", -1, &st, nullptr), SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    auto it = names.find(sqlite3_column_int64(st, 0));
    EXPECT_NE(it, names.end()) << "a tag row without its image";
    if (it == names.end()) continue;
    auto key = std::make_pair(sqlite3_column_int(st, 1), std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 2))));
    EXPECT_EQ(out[it->second].tags.count(key), 0u) << "duplicate tag " << key.second << " of " << it->second;
    out[it->second].tags[key] = sqlite3_column_double(st, 3);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// Committed 'done' rows, read while another process writes (WAL: readers never block).
int count_done(const fs::path& db_path) {
  if (!fs::exists(db_path)) return 0;
  sqlite3* db = nullptr;
  int n = -1;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 1000);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM images WHERE status = 'done'", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return n < 0 ? 0 : n;  // the schema may not exist yet
}

// JSONL records by file name; error records under their name too.
std::map<std::string, json> read_jsonl(const fs::path& p, int* lines = nullptr) {
  std::map<std::string, json> out;
  int n = 0;
  for (const std::string& l : read_lines(p)) {
    json j = json::parse(l, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) continue;  // a line torn by SIGKILL
    ++n;
    const std::string name = fs::path(j.at("path").get<std::string>()).filename();
    EXPECT_EQ(out.count(name), 0u) << "two records for " << name << " in " << p;
    out[name] = std::move(j);
  }
  if (lines) *lines = n;
  return out;
}

std::vector<std::string> tag_args(const fs::path& images, const fs::path& db, const fs::path& jsonl) {
  return {"tag", images.string(), "--model", kTagger.string(), "--db", db.string(), "--jsonl", jsonl.string(),
          "--batch", "4", "--threads", "2", "--no-progress"};
}

// Visible files of a folder (the writer's temp files are hidden: '.<name>.seer-tmp.*').
std::set<std::string> visible_files(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename();
    if (n[0] != '.') out.insert(n);
  }
  return out;
}

TEST(TagResume, SigkillHalfwayThenResumeEqualsACleanRun) {
  ASSERT_TRUE(fs::exists(kSeerBinary)) << kSeerBinary;
  TempDir tmp("seer-tag-resume");
  const fs::path clean = tmp.path() / "clean", resumed = tmp.path() / "resumed";
  const auto names = make_images(clean, {.count = kImages, .min_side = 24, .max_side = 120, .seed = 7});
  make_images(resumed, {.count = kImages, .min_side = 24, .max_side = 120, .seed = 7});
  for (const fs::path& d : {clean, resumed}) std::ofstream(d / "zz_broken.jpg") << "\xFF\xD8\xFF\xE0 not a jpeg";

  // The reference: one uninterrupted run. Exit 1: the corrupt file failed.
  {
    SeerProcess p = SeerProcess::start(tag_args(clean, tmp.path() / "clean.db", tmp.path() / "clean.jsonl"),
                                       tmp.path() / "clean");
    const int st = p.wait();
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1) << describe_status(st) << "\n" << p.stderr_text();
  }
  const auto want_index = read_index(tmp.path() / "clean.db");
  int clean_lines = 0;
  const auto want_jsonl = read_jsonl(tmp.path() / "clean.jsonl", &clean_lines);
  ASSERT_EQ(want_index.size(), static_cast<size_t>(kImages + 1));
  ASSERT_EQ(clean_lines, kImages + 1);
  ASSERT_TRUE(want_jsonl.at("zz_broken.jpg").contains("error"));
  ASSERT_EQ(want_index.at("zz_broken.jpg").status, "failed");

  // The killed run: SIGKILL as soon as the index shows committed progress.
  const fs::path db = tmp.path() / "resumed.db";
  int killed_at = 0;
  {
    SeerProcess p = SeerProcess::start(tag_args(resumed, db, tmp.path() / "killed.jsonl"), tmp.path() / "killed");
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    int st = 0;
    bool ended = false;
    while (Clock::now() < deadline) {
      if ((ended = p.poll(&st))) break;
      if ((killed_at = count_done(db)) >= kImages / 2) break;  // half-way
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_FALSE(ended) << "the run ended (" << describe_status(st) << ") before it could be killed:\n"
                        << p.stderr_text();
    ASSERT_EQ(::kill(p.pid(), SIGKILL), 0);
    st = p.wait();
    ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << describe_status(st);
  }
  const int done_before = count_done(db);
  ASSERT_GE(done_before, killed_at);
  ASSERT_LT(done_before, kImages) << "killed too late to test a resume";
  std::cout << "killed with " << done_before << " of " << kImages << " images committed\n";
  // Whatever the killed run left: no torn sidecar (atomic rename), every one ends in a newline.
  for (const std::string& n : visible_files(resumed)) {
    if (fs::path(n).extension() == ".txt") {
      EXPECT_EQ(slurp(resumed / n).back(), '\n') << n;
    }
  }

  // The resumed run: skips what the index holds, tags the rest, retries the corrupt file.
  {
    SeerProcess p = SeerProcess::start(tag_args(resumed, db, tmp.path() / "resumed.jsonl"), tmp.path() / "resumed");
    const int st = p.wait();
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1) << describe_status(st) << "\n" << p.stderr_text();
    EXPECT_NE(p.stderr_text().find(fmt::format("{} images: {} tagged, {} skipped, 1 failed", kImages + 1,
                                               kImages - done_before, done_before)),
              std::string::npos)
        << p.stderr_text();
  }

  // The index: each image exactly once, done, with the clean run's text, tags and scores.
  const auto got_index = read_index(db);
  ASSERT_EQ(got_index.size(), want_index.size());
  for (const auto& [name, want] : want_index) {
    ASSERT_TRUE(got_index.count(name)) << name << " missing from the index";
    const IndexedImage& got = got_index.at(name);
    EXPECT_EQ(got.rows, 1) << name;
    EXPECT_EQ(got.status, want.status) << name;
    EXPECT_EQ(got.text, want.text) << name;
    ASSERT_EQ(got.tags.size(), want.tags.size()) << name;
    for (const auto& [key, score] : want.tags) {
      ASSERT_TRUE(got.tags.count(key)) << name << ": tag " << key.second << " missing";
      EXPECT_NEAR(got.tags.at(key), score, 1e-5) << name << " " << key.second;
    }
  }
  EXPECT_GT(want_index.at(names[0]).tags.size(), 4u);  // more than the ratings: real tags are compared

  // Sidecars: present for every image, byte-identical to the clean run's, none for the corrupt file.
  for (const std::string& n : names) {
    const fs::path txt = fs::path(n).replace_extension(".txt");
    ASSERT_TRUE(fs::exists(resumed / txt)) << txt;
    EXPECT_EQ(slurp(resumed / txt), slurp(clean / txt)) << txt;
  }
  EXPECT_EQ(visible_files(resumed), visible_files(clean));

  // JSONL of the resumed run: exactly the images the killed run had not committed, plus the
  // corrupt file's error record, each equal to the clean run's record.
  int resumed_lines = 0;
  const auto got_jsonl = read_jsonl(tmp.path() / "resumed.jsonl", &resumed_lines);
  EXPECT_EQ(resumed_lines, kImages - done_before + 1);
  for (const auto& [name, rec] : got_jsonl) {
    json a = rec, b = want_jsonl.at(name);
    a.erase("path");
    b.erase("path");
    if (a.contains("error")) {
      EXPECT_TRUE(b.contains("error")) << name;
      continue;
    }
    EXPECT_EQ(a.at("text"), b.at("text")) << name;
    ASSERT_EQ(a.at("general").size(), b.at("general").size()) << name;
    for (size_t i = 0; i < a.at("general").size(); ++i) {
      EXPECT_EQ(a["general"][i]["tag"], b["general"][i]["tag"]) << name;
      EXPECT_NEAR(a["general"][i]["score"].get<double>(), b["general"][i]["score"].get<double>(), 1e-5) << name;
    }
  }

  // A third run with --no-retry-failed has nothing to do: all skipped, exit 0, no records.
  {
    auto args = tag_args(resumed, db, tmp.path() / "third.jsonl");
    args.push_back("--no-retry-failed");
    SeerProcess p = SeerProcess::start(args, tmp.path() / "third");
    const int st = p.wait();
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << describe_status(st) << "\n" << p.stderr_text();
    EXPECT_NE(p.stderr_text().find(fmt::format("{} images: 0 tagged, {} skipped, 0 failed", kImages + 1, kImages + 1)),
              std::string::npos)
        << p.stderr_text();
    EXPECT_TRUE(read_lines(tmp.path() / "third.jsonl").empty());
  }
}

}  // namespace
}  // namespace seer::test
