// The `seer tag` pipeline with a fake model (no engine): order, batching, failures, sidecars,
// the tag index, and a run killed with SIGKILL mid-way that resumes with each image exactly once.
#include "test_util/temp_dir.h"
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "image/preprocess.h"
#include "models/tagger/tag_pipeline.h"

namespace seer {
namespace {

namespace fs = std::filesystem;
const fs::path kImages = fs::path(SEER_SOURCE_DIR) / "tests/fixtures/images";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every TempDir in this file is named seer-pipeline-XXXXXX.
class TempDir : public test::TempDir {
 public:
  TempDir() : test::TempDir("seer-pipeline") {}
};

const TagList& fake_tags() {
  static const TagList list = *TagList::parse(
      "tag_id,name,category,count\n1,general,9,1\n2,sensitive,9,1\n3,questionable,9,1\n"
      "4,explicit,9,1\n5,1girl,0,1\n6,long_hair,0,1\n7,smile,0,1\n8,ribbon_(cloth),0,1\n9,hat,0,1\n"
      "10,^_^,0,1\n11,hatsune_miku,4,1\n12,kaname_madoka,4,1\n");
  return list;
}

// Scores from the tile's pixels, so each image gets its own, batch-independent tags.
std::vector<float> fake_probs(const Tile& t) {
  double sum = 0;
  const size_t n = static_cast<size_t>(t.width) * t.height * 3;
  for (size_t i = 0; i < n; ++i) sum += t.u8()[i];
  const double m = sum / (255.0 * n);
  std::vector<float> p(fake_tags().size());
  for (size_t k = 0; k < p.size(); ++k) {
    double v = m * (k + 1) * 7.31 + 0.1 * k;
    p[k] = static_cast<float>(v - std::floor(v));
  }
  return p;
}

class FakeTagger final : public TileTagger {
 public:
  explicit FakeTagger(int max_batch) : max_batch_(max_batch), spec_(*preprocess_spec("wd14", 32)) {}
  const PreprocessSpec& preprocess() const override { return spec_; }
  int max_batch() const override { return max_batch_; }
  StatusOr<std::vector<TagResult>> tag(std::span<const Tile* const> tiles,
                                       const TagOptions& options) override {
    EXPECT_LE(tiles.size(), static_cast<size_t>(max_batch_));
    batches.push_back(tiles.size());
    if (on_call) on_call(batches.size());
    std::vector<TagResult> out;
    for (const Tile* t : tiles) {
      EXPECT_EQ(t->width, 32);
      SEER_ASSIGN_OR_RETURN(TagResult r, postprocess_tags(fake_probs(*t), fake_tags(), options));
      out.push_back(std::move(r));
    }
    return out;
  }
  std::vector<size_t> batches;
  std::function<void(size_t)> on_call;

 private:
  int max_batch_;
  PreprocessSpec spec_;
};

// `count` images named img_000.<ext>... made by copying small fixture images, plus broken files.
std::vector<std::string> make_folder(const fs::path& dir, int count) {
  const char* sources[] = {"gray.png", "lossy.webp", "palette.gif", "odd_449x301.png",
                           "exact_448x300.jpg", "palette_alpha.png"};
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) {
    const fs::path src = kImages / sources[i % 6];
    const std::string name = fmt::format("img_{:03d}{}", i, src.extension().string());
    fs::copy_file(src, dir / name);
    names.push_back(name);
  }
  return names;
}

std::vector<WalkedFile> walk(const fs::path& dir) {
  std::vector<WalkedFile> files;
  ImageFileWalker w({dir}, {});
  while (auto f = w.next()) files.push_back(std::move(*f));
  return files;
}

TEST(TaggerPipeline, OrderBatchingFailuresAndSidecars) {
  TempDir dir;
  auto names = make_folder(dir.path(), 30);
  std::ofstream(dir.path() / "broken_a.jpg") << "not a jpeg";
  std::ofstream(dir.path() / "img_010_broken.png") << "\x89PNG\r\n\x1a\n truncated";
  const auto files = walk(dir.path());
  ASSERT_EQ(files.size(), 32u);

  MemoryLedger ledger;
  FakeTagger fake(4);
  TagPipelineOptions opt;
  opt.decode_threads = 3;
  opt.max_in_flight = 5;
  opt.sidecar = SidecarOptions{.mode = SidecarMode::kSkipExisting, .extension = ".txt", .fsync = false};
  TagPipeline pipeline(fake, ledger, opt);
  std::vector<std::string> seen;
  std::vector<std::string> failed;
  auto s = pipeline.run(files, [&](const ImageOutcome& o) {
    seen.push_back(o.file->path.filename().string());
    if (o.kind == ImageOutcome::Kind::kFailed) {
      failed.push_back(o.file->path.filename().string());
      EXPECT_FALSE(o.error.ok());
      return;
    }
    ASSERT_EQ(o.kind, ImageOutcome::Kind::kDone);
    ASSERT_TRUE(o.result);
    EXPECT_EQ(o.sidecar, SidecarOutcome::kWritten);
    // The same tags as the image alone gives (the fake is per tile; the pipeline must not mix
    // up which result belongs to which file).
    auto tile = load_tile_file(o.file->path.string(), fake.preprocess(), {}, ledger);
    ASSERT_TRUE(tile.ok());
    auto alone = postprocess_tags(fake_probs(*tile), fake_tags(), opt.tag);
    EXPECT_EQ(o.result->text, alone->text) << o.file->path;
    EXPECT_EQ(slurp(sidecar_path(o.file->path)), o.result->text + "\n");
  });
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  // One outcome per file, in walk order.
  std::vector<std::string> want;
  for (const auto& f : files) want.push_back(f.path.filename().string());
  EXPECT_EQ(seen, want);
  EXPECT_EQ(failed, (std::vector<std::string>{"broken_a.jpg", "img_010_broken.png"}));
  EXPECT_EQ(s->done, 30u);
  EXPECT_EQ(s->failed, 2u);
  size_t tiles = 0;
  for (size_t b : fake.batches) tiles += b;
  EXPECT_EQ(tiles, 30u);
  EXPECT_GE(fake.batches.size(), 8u);  // ceil(30 / 4)
  EXPECT_EQ(fake.batches.front(), 4u);

  // Run again: every sidecar exists, so nothing is decoded or tagged.
  FakeTagger again_fake(4);
  TagPipeline again(again_fake, ledger, opt);
  std::vector<std::string> failed_again;
  auto s2 = again.run(files, [&](const ImageOutcome& o) {
    if (o.kind == ImageOutcome::Kind::kFailed) failed_again.push_back(o.file->path.filename().string());
  });
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->skipped, 30u);
  EXPECT_EQ(s2->done, 0u);
  EXPECT_TRUE(again_fake.batches.empty());
  EXPECT_EQ(failed_again, failed);  // no sidecar for them, so they are tried (and fail) again
  // Every tile went back to the ledger.
  EXPECT_EQ(ledger.bytes({}, "system", MemoryTag::kDecode), 0u);
}

struct DbCounts {
  int rows = 0, distinct = 0, done = 0;
};
DbCounts db_counts(const fs::path& db_path) {
  DbCounts c;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db,
                               "SELECT COUNT(*), COUNT(DISTINCT path), SUM(status = 'done') FROM images",
                               -1, &st, nullptr),
            SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW) {
    c.rows = sqlite3_column_int(st, 0);
    c.distinct = sqlite3_column_int(st, 1);
    c.done = sqlite3_column_int(st, 2);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return c;
}

void killed_run_then_resume(SidecarMode mode) {
  TempDir dir;
  const int kCount = 60;
  make_folder(dir.path(), kCount);
  if (mode == SidecarMode::kAppend) {  // an existing caption that must survive, once
    std::ofstream(dir.path() / "img_001.txt") << "my own tag, smile\n";
  }
  const fs::path db = dir.path() / "tags.db";
  TagPipelineOptions opt;
  opt.decode_threads = 2;
  opt.sidecar = SidecarOptions{.mode = mode, .extension = ".txt", .fsync = true};

  // The killed run is a fresh process (this binary re-executed into ChildRunKilledMidway):
  // libvips does not survive a plain fork() once it has started its worker threads.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setenv("SEER_TAGGER_CHILD_DIR", dir.path().c_str(), 1);
    ::setenv("SEER_TAGGER_CHILD_MODE", mode == SidecarMode::kAppend ? "append" : "skip", 1);
    ::execl("/proc/self/exe", "seer_unit_tests",
            "--gtest_filter=TaggerPipeline.ChildRunKilledMidway", static_cast<char*>(nullptr));
    ::_exit(4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  const DbCounts before = db_counts(db);
  EXPECT_LT(before.done, kCount);
  EXPECT_EQ(before.rows, before.distinct);
  // No torn sidecar: each one is complete (ends with a newline).
  for (const auto& e : fs::directory_iterator(dir.path())) {
    if (e.path().extension() == ".txt") {
      EXPECT_EQ(slurp(e.path()).back(), '\n') << e.path();
    }
  }

  auto index = TagIndex::open(db, {.model_id = "fake"});
  ASSERT_TRUE(index.ok());
  MemoryLedger ledger;
  FakeTagger fake(4);
  opt.index = index->get();
  TagPipeline p(fake, ledger, opt);
  const auto files = walk(dir.path());
  std::set<std::string> tagged_now;
  auto s = p.run(files, [&](const ImageOutcome& o) {
    if (o.kind == ImageOutcome::Kind::kDone) tagged_now.insert(o.file->path.string());
  });
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->done, static_cast<size_t>(kCount - before.done));  // nothing redone
  EXPECT_EQ(s->skipped, static_cast<size_t>(before.done));
  const DbCounts after = db_counts(db);
  EXPECT_EQ(after.rows, kCount);
  EXPECT_EQ(after.distinct, kCount);
  EXPECT_EQ(after.done, kCount);
  // Every image has its sidecar, with each tag once.
  for (const auto& f : files) {
    auto tile = load_tile_file(f.path.string(), fake.preprocess(), {}, ledger);
    ASSERT_TRUE(tile.ok());
    auto r = postprocess_tags(fake_probs(*tile), fake_tags(), opt.tag);
    std::string want = r->text + "\n";
    if (mode == SidecarMode::kAppend && f.path.stem() == "img_001") {
      want = merge_caption("my own tag, smile", r->text_tags) + "\n";
    }
    EXPECT_EQ(slurp(sidecar_path(f.path)), want) << f.path;
  }
  std::cout << "killed after " << before.done << " of " << kCount << " images committed\n";
}

// Not a test on its own: the process killed_run_then_resume() starts and expects to die.
TEST(TaggerPipeline, ChildRunKilledMidway) {
  const char* dir = std::getenv("SEER_TAGGER_CHILD_DIR");
  if (dir == nullptr) GTEST_SKIP() << "helper process of the SIGKILL tests";
  ::alarm(120);  // a hang fails the parent test (SIGALRM, not SIGKILL) instead of blocking it
  const bool append = std::string(std::getenv("SEER_TAGGER_CHILD_MODE")) == "append";
  auto index = TagIndex::open(fs::path(dir) / "tags.db", {.model_id = "fake"});
  if (!index.ok()) ::_exit(3);
  MemoryLedger ledger;
  FakeTagger fake(4);
  // The 6th engine call kills the process: the writer may be mid-sidecar or mid-transaction.
  fake.on_call = [](size_t n) {
    if (n == 6) ::raise(SIGKILL);
  };
  TagPipelineOptions o;
  o.decode_threads = 2;
  o.sidecar = SidecarOptions{.mode = append ? SidecarMode::kAppend : SidecarMode::kSkipExisting,
                             .extension = ".txt", .fsync = true};
  o.index = index->get();
  TagPipeline p(fake, ledger, o);
  (void)p.run(walk(dir), {});
  ::_exit(0);  // not reached
}

TEST(TaggerPipeline, SigkillMidRunResumesWithEachImageOnce) {
  killed_run_then_resume(SidecarMode::kSkipExisting);
}

TEST(TaggerPipeline, SigkillMidRunWithAppendDuplicatesNoTag) {
  killed_run_then_resume(SidecarMode::kAppend);
}

}  // namespace
}  // namespace seer
