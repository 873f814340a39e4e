// The tag index: an SQLite database of what `seer tag --db FILE` (and `seer classify --db FILE`)
// has done, so that a re-run skips unchanged images and a run killed with SIGKILL resumes with
// nothing lost and nothing duplicated.
//
//   TagRunSettings run{.model_id = "wd-vit-tagger-v3", .general_threshold = 0.35, ...};
//   SEER_ASSIGN_OR_RETURN(std::unique_ptr<TagIndex> index, TagIndex::open("tags.db", run));
//   SEER_ASSIGN_OR_RETURN(IndexState s, index->lookup(path, size, mtime_ns));
//   if (s == IndexState::kDone) skip(path);
//   ...
//   SEER_RETURN_IF_ERROR(index->commit(batch));   // one transaction per batch
//
// Schema (PRAGMA user_version = 1):
//   images(id, path, size, mtime_ns, content_hash, model_id, general_threshold,
//          character_threshold, general_mcut, character_mcut, settings, status, error, text,
//          tagged_at)  UNIQUE(path, model_id): one row per image per model, replaced when the
//          image or the settings change;
//   tags(image_id -> images.id ON DELETE CASCADE, category, tag, score)
//        PRIMARY KEY(image_id, category, tag); index on tag. Categories: the WD14 CSV's (9 rating,
//        0 general, 4 character) for taggers; kClassCategory (100) for a classifier's classes
//        (every class with its probability; `text` is then the top label).
// content_hash is XXH64 (seed 0) of the file's bytes as 16 hex digits (content_hash.h).
// `settings` is TagRunSettings::canonical(): the thresholds and MCut flags, compared as text.
//
// Crash safety: WAL journal, synchronous=NORMAL. Each commit() is one transaction holding the
// image rows and all their tags, so a batch is in the database entirely or not at all. NORMAL
// keeps every committed transaction across a killed process (the WAL is in the OS page cache);
// after a power cut the last batches may be lost, and the next run simply tags them again.
// A re-commit of an image deletes its old tags first (no duplicates, ever).
//
// One TagIndex per thread (a single writer; the pipeline's writer stage owns it). Other
// processes may read the file concurrently (WAL); a busy database is waited on for 10 s.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace seer {

struct TagRunSettings {
  std::string model_id;
  double general_threshold = 0.35;
  double character_threshold = 0.85;
  bool general_mcut = false;
  bool character_mcut = false;
  // "general=0.35;character=0.85;general_mcut=0;character_mcut=0" (thresholds round-trip, %.17g).
  std::string canonical() const;
};

// The category under which a classifier's class scores are stored (WD14 categories are < 100).
inline constexpr int kClassCategory = 100;

// What the index keeps of a finished image: its text and every scored label.
struct IndexedScore {
  int category = 0;
  std::string label;
  float score = 0;
};
struct IndexEntry {
  std::string text;
  std::vector<IndexedScore> scores;  // (category, label) pairs are unique
};

// One image's outcome, as committed. Either entry (status done) or error (status failed).
struct IndexRecord {
  std::string path;  // the caller decides the form; seer tag stores absolute paths
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::optional<uint64_t> content_hash;  // XXH64 of the bytes, when they were read
  const IndexEntry* result = nullptr;    // not owned; null for a failed image
  std::string error;                     // why it failed (result == nullptr)
};

enum class IndexState {
  kAbsent,   // never indexed for this model
  kChanged,  // indexed, but size, mtime or settings differ: tag again
  kDone,     // tagged with these settings and the file is unchanged: skip
  kFailed,   // failed with these settings and the file is unchanged (caller decides)
};
std::string_view to_string(IndexState s);

class TagIndex {
 public:
  // Opens or creates the database file and its schema. Unsupported for a newer schema.
  static StatusOr<std::unique_ptr<TagIndex>> open(const std::filesystem::path& db_path,
                                                  TagRunSettings settings);
  ~TagIndex();
  TagIndex(const TagIndex&) = delete;
  TagIndex& operator=(const TagIndex&) = delete;

  // The state of (path, size, mtime) for this index's model and settings.
  StatusOr<IndexState> lookup(const std::string& path, uint64_t size, int64_t mtime_ns);

  // Writes every record in one transaction: all or nothing.
  Status commit(std::span<const IndexRecord> batch);

  // Counts, for tests and the end-of-run summary.
  StatusOr<int64_t> count_images(std::string_view status = {});  // empty: all rows
  StatusOr<int64_t> count_tags();

  // Test hook: called inside commit()'s transaction after each record is written (before the
  // COMMIT), with the number written so far. Lets a test kill the process mid-transaction.
  void set_record_hook_for_testing(std::function<void(size_t)> hook) { hook_ = std::move(hook); }

 private:
  TagIndex(sqlite3* db, TagRunSettings settings);
  Status prepare();
  Status exec(const char* sql);
  Status write_record(const IndexRecord& r, int64_t now);

  sqlite3* db_;
  TagRunSettings settings_;
  std::string canonical_;
  sqlite3_stmt* lookup_ = nullptr;
  sqlite3_stmt* upsert_ = nullptr;
  sqlite3_stmt* delete_tags_ = nullptr;
  sqlite3_stmt* insert_tag_ = nullptr;
  std::function<void(size_t)> hook_;
};

}  // namespace seer
