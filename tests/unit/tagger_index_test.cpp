// The tag index: skip lookups, replacement without duplicates, and crash safety under SIGKILL
// (a forked child killed mid-transaction and at an arbitrary moment, then a resumed run).
#include "test_util/temp_dir.h"
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <map>

#include "models/batch/tag_index.h"
#include "models/tagger/tag_pipeline.h"

namespace seer {
namespace {

namespace fs = std::filesystem;

// Every TempDir in this file is named seer-index-XXXXXX.
class TempDir : public test::TempDir {
 public:
  TempDir() : test::TempDir("seer-index") {}
};

TagRunSettings settings() {
  return {.model_id = "wd-test", .general_threshold = 0.35, .character_threshold = 0.85};
}

// Image i of a synthetic run: 4 ratings, 1 + i % 5 general tags, i % 2 character tags, as the
// tagger's index entry.
IndexEntry result_for(int i) {
  TagResult r;
  r.ratings = {{"general", 0.1f}, {"sensitive", 0.2f}, {"questionable", 0.3f}, {"explicit", 0.4f}};
  for (int k = 0; k <= i % 5; ++k) r.general.push_back({"tag " + std::to_string(k), 0.9f - 0.1f * k});
  if (i % 2) r.character.push_back({"char " + std::to_string(i), 0.95f});
  r.text = "text " + std::to_string(i);
  return tag_index_entry(r);
}
int64_t tags_for(int i) { return 4 + 1 + i % 5 + i % 2; }
std::string path_for(int i) { return "/photos/img" + std::to_string(1000 + i) + ".jpg"; }

constexpr int kImages = 200;
constexpr size_t kBatch = 16;

// A run as `seer tag --db` does it: skip what is done, commit the rest in batches. Returns the
// number of images it committed. `on_commit` is called after each committed batch.
int run(const fs::path& db, std::function<void(TagIndex&)> setup = {},
        std::function<void(int)> on_commit = {}, int images = kImages) {
  auto index = TagIndex::open(db, settings());
  if (!index.ok()) {
    ADD_FAILURE() << index.status().to_string();
    return -1;
  }
  if (setup) setup(**index);
  std::vector<IndexEntry> results;
  std::vector<IndexRecord> batch;
  int committed = 0, batches = 0;
  auto flush = [&] {
    Status s = (*index)->commit(batch);
    if (!s.ok()) ADD_FAILURE() << s.to_string();
    committed += static_cast<int>(batch.size());
    batch.clear();
    results.clear();
    if (on_commit) on_commit(++batches);
  };
  results.reserve(kBatch);
  for (int i = 0; i < images; ++i) {
    auto st = (*index)->lookup(path_for(i), 1000 + i, 1700000000000000000LL + i);
    if (!st.ok() || *st == IndexState::kDone) continue;
    results.push_back(result_for(i));
    batch.push_back({path_for(i), static_cast<uint64_t>(1000 + i), 1700000000000000000LL + i,
                     0xabcdef00ULL + i, &results.back(), ""});
    if (batch.size() == kBatch) flush();
  }
  if (!batch.empty()) flush();
  return committed;
}

// Exactly-once check straight from SQL (independent of TagIndex's own counters).
void expect_each_image_once(const fs::path& db_path, int images) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  std::map<std::string, int64_t> tag_counts;
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT i.path, COUNT(t.tag) FROM images i LEFT JOIN tags t ON "
                               "t.image_id = i.id GROUP BY i.id",
                               -1, &st, nullptr),
            SQLITE_OK);
  int rows = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    ++rows;
    std::string path = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    EXPECT_TRUE(tag_counts.emplace(path, sqlite3_column_int64(st, 1)).second) << "twice: " << path;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  EXPECT_EQ(rows, images);
  for (int i = 0; i < images; ++i) {
    auto it = tag_counts.find(path_for(i));
    ASSERT_NE(it, tag_counts.end()) << "lost: " << path_for(i);
    EXPECT_EQ(it->second, tags_for(i)) << path_for(i);
  }
}

TEST(TaggerIndex, LookupSkipsOnlyUnchangedImagesWithSameSettings) {
  TempDir dir;
  const fs::path db = dir.path() / "tags.db";
  IndexEntry r = result_for(3);
  {
    auto index = TagIndex::open(db, settings());
    ASSERT_TRUE(index.ok()) << index.status().to_string();
    EXPECT_EQ(*(*index)->lookup("/a.jpg", 10, 20), IndexState::kAbsent);
    std::vector<IndexRecord> batch = {{"/a.jpg", 10, 20, 0x1234, &r, ""},
                                      {"/bad.jpg", 5, 6, std::nullopt, nullptr, "not an image"}};
    ASSERT_TRUE((*index)->commit(batch).ok());
    EXPECT_EQ(*(*index)->lookup("/a.jpg", 10, 20), IndexState::kDone);
    EXPECT_EQ(*(*index)->lookup("/a.jpg", 11, 20), IndexState::kChanged);  // size
    EXPECT_EQ(*(*index)->lookup("/a.jpg", 10, 21), IndexState::kChanged);  // mtime
    EXPECT_EQ(*(*index)->lookup("/bad.jpg", 5, 6), IndexState::kFailed);
    EXPECT_EQ(*(*index)->count_images("done"), 1);
    EXPECT_EQ(*(*index)->count_images("failed"), 1);
    EXPECT_EQ(*(*index)->count_tags(), tags_for(3));
  }
  {
    TagRunSettings other = settings();
    other.general_threshold = 0.3;  // other thresholds: the image must be tagged again
    auto index = TagIndex::open(db, other);
    ASSERT_TRUE(index.ok());
    EXPECT_EQ(*(*index)->lookup("/a.jpg", 10, 20), IndexState::kChanged);
    IndexEntry r2 = result_for(4);
    std::vector<IndexRecord> again = {{"/a.jpg", 10, 20, 0x1234, &r2, ""}};
    ASSERT_TRUE((*index)->commit(again).ok());
    EXPECT_EQ(*(*index)->lookup("/a.jpg", 10, 20), IndexState::kDone);
    EXPECT_EQ(*(*index)->count_images(), 2);  // replaced, not added
    EXPECT_EQ(*(*index)->count_tags(), tags_for(4));  // old tags gone, none duplicated
  }
  {
    TagRunSettings other_model = settings();
    other_model.model_id = "wd-other";
    auto index = TagIndex::open(db, other_model);
    ASSERT_TRUE(index.ok());
    EXPECT_EQ(*(*index)->lookup("/a.jpg", 10, 20), IndexState::kAbsent);
  }
  // The content hash and the schema are what the header says.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT content_hash, status, error FROM images ORDER BY path",
                               -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "0000000000001234");
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_type(st, 0), SQLITE_NULL);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)), "failed");
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 2)), "not an image");
  sqlite3_finalize(st);
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(raw);
}

TEST(TaggerIndex, SigkillMidTransactionLosesOnlyTheOpenBatch) {
  TempDir dir;
  const fs::path db = dir.path() / "tags.db";
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Three batches commit; the fourth is killed after 7 of its 16 records are written.
    int commits = 0;
    run(db, [&](TagIndex& index) {
      index.set_record_hook_for_testing([&](size_t written) {
        if (commits == 3 && written == 7) ::raise(SIGKILL);
      });
    }, [&](int n) { commits = n; });
    ::_exit(0);  // not reached
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  {
    auto index = TagIndex::open(db, settings());
    ASSERT_TRUE(index.ok()) << index.status().to_string();
    EXPECT_EQ(*(*index)->count_images(), 3 * static_cast<int64_t>(kBatch));
  }
  expect_each_image_once(db, 3 * kBatch);
  // The resume commits exactly the rest.
  EXPECT_EQ(run(db), kImages - 3 * static_cast<int>(kBatch));
  expect_each_image_once(db, kImages);
  EXPECT_EQ(run(db), 0);  // a third run finds nothing to do
}

TEST(TaggerIndex, SigkillAtAnArbitraryMomentThenResumeTagsEachImageOnce) {
  TempDir dir;
  const fs::path db = dir.path() / "tags.db";
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    // A long run (10x the others), so that the kill lands somewhere in its middle: between
    // transactions or inside one, wherever the child happens to be.
    run(db, {}, [&](int n) {
      char c = 1;
      if (n == 3) (void)!::write(fds[1], &c, 1);
    }, 10 * kImages);
    ::_exit(0);
  }
  ::close(fds[1]);
  char c;
  ssize_t got = ::read(fds[0], &c, 1);  // the child has committed 3 batches (or exited)
  ::kill(child, SIGKILL);
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(got, 1);
  int64_t before = 0;
  {
    auto index = TagIndex::open(db, settings());
    ASSERT_TRUE(index.ok()) << index.status().to_string();
    before = *(*index)->count_images();
  }
  EXPECT_GE(before, 3 * static_cast<int64_t>(kBatch));
  EXPECT_EQ(before % kBatch == 0 || before == 10 * kImages, true) << before;  // whole batches
  // The resume redoes nothing that was committed and loses nothing.
  EXPECT_EQ(run(db, {}, {}, 10 * kImages), 10 * kImages - before);
  expect_each_image_once(db, 10 * kImages);
  std::cout << "killed after " << before << " of " << 10 * kImages << " images\n";
}

}  // namespace
}  // namespace seer
