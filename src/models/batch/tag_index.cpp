#include "models/batch/tag_index.h"

#include <sqlite3.h>

#include <chrono>

#include "models/batch/content_hash.h"

namespace seer {
namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS images (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  content_hash TEXT,
  model_id TEXT NOT NULL,
  general_threshold REAL NOT NULL,
  character_threshold REAL NOT NULL,
  general_mcut INTEGER NOT NULL,
  character_mcut INTEGER NOT NULL,
  settings TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
  error TEXT,
  text TEXT,
  tagged_at INTEGER NOT NULL,
  UNIQUE (path, model_id)
);
CREATE TABLE IF NOT EXISTS tags (
  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  category INTEGER NOT NULL,
  tag TEXT NOT NULL,
  score REAL NOT NULL,
  PRIMARY KEY (image_id, category, tag)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_by_tag ON tags(tag);
)sql";

Status sqlite_error(sqlite3* db, std::string_view what) {
  return Status::internal("tag index: {}: {}", what, db ? sqlite3_errmsg(db) : "out of memory");
}

// Binds text without copying; the caller keeps the string alive until the statement is reset.
int bind_text(sqlite3_stmt* st, int i, std::string_view s) {
  return sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
}

// Resets a statement on scope exit so that bound views never outlive their strings.
struct StmtReset {
  sqlite3_stmt* st;
  ~StmtReset() {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
};

}  // namespace

std::string TagRunSettings::canonical() const {
  return fmt::format("general={:.17g};character={:.17g};general_mcut={};character_mcut={}",
                     general_threshold, character_threshold, general_mcut ? 1 : 0,
                     character_mcut ? 1 : 0);
}

std::string_view to_string(IndexState s) {
  switch (s) {
    case IndexState::kAbsent: return "absent";
    case IndexState::kChanged: return "changed";
    case IndexState::kDone: return "done";
    case IndexState::kFailed: return "failed";
  }
  return "?";
}

TagIndex::TagIndex(sqlite3* db, TagRunSettings settings)
    : db_(db), settings_(std::move(settings)), canonical_(settings_.canonical()) {}

TagIndex::~TagIndex() {
  for (sqlite3_stmt* st : {lookup_, upsert_, delete_tags_, insert_tag_}) sqlite3_finalize(st);
  sqlite3_close(db_);
}

Status TagIndex::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    Status s = Status::internal("tag index: {}", err ? err : sqlite3_errmsg(db_));
    sqlite3_free(err);
    return s;
  }
  return {};
}

StatusOr<std::unique_ptr<TagIndex>> TagIndex::open(const std::filesystem::path& db_path,
                                                   TagRunSettings settings) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(db_path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = sqlite_error(db, "open " + db_path.string());
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<TagIndex> index(new TagIndex(db, std::move(settings)));
  sqlite3_busy_timeout(db, 10000);
  SEER_RETURN_IF_ERROR(index->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                                   "PRAGMA foreign_keys=ON;"));
  int version = 0;
  {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr) != SQLITE_OK) {
      return sqlite_error(db, "read schema version");
    }
    if (sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
  }
  if (version > kSchemaVersion) {
    return Status::unsupported("tag index {} has schema version {}; this seer knows {}",
                               db_path.string(), version, kSchemaVersion);
  }
  SEER_RETURN_IF_ERROR(index->exec("BEGIN IMMEDIATE"));
  Status schema = index->exec(kSchema);
  if (schema.ok()) schema = index->exec(fmt::format("PRAGMA user_version={}", kSchemaVersion).c_str());
  if (!schema.ok()) {
    (void)index->exec("ROLLBACK");
    return schema.with_context(db_path.string());
  }
  SEER_RETURN_IF_ERROR(index->exec("COMMIT"));
  SEER_RETURN_IF_ERROR(index->prepare());
  return index;
}

Status TagIndex::prepare() {
  struct {
    sqlite3_stmt** st;
    const char* sql;
  } stmts[] = {
      {&lookup_,
       "SELECT size, mtime_ns, settings, status FROM images WHERE path = ?1 AND model_id = ?2"},
      {&upsert_,
       "INSERT INTO images (path, size, mtime_ns, content_hash, model_id, general_threshold, "
       "character_threshold, general_mcut, character_mcut, settings, status, error, text, "
       "tagged_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
       "ON CONFLICT (path, model_id) DO UPDATE SET size = excluded.size, "
       "mtime_ns = excluded.mtime_ns, content_hash = excluded.content_hash, "
       "general_threshold = excluded.general_threshold, "
       "character_threshold = excluded.character_threshold, "
       "general_mcut = excluded.general_mcut, character_mcut = excluded.character_mcut, "
       "settings = excluded.settings, status = excluded.status, error = excluded.error, "
       "text = excluded.text, tagged_at = excluded.tagged_at RETURNING id"},
      {&delete_tags_, "DELETE FROM tags WHERE image_id = ?1"},
      {&insert_tag_,
       "INSERT OR REPLACE INTO tags (image_id, category, tag, score) VALUES (?1, ?2, ?3, ?4)"},
  };
  for (auto& s : stmts) {
    if (sqlite3_prepare_v3(db_, s.sql, -1, SQLITE_PREPARE_PERSISTENT, s.st, nullptr) != SQLITE_OK) {
      return sqlite_error(db_, "prepare");
    }
  }
  return {};
}

StatusOr<IndexState> TagIndex::lookup(const std::string& path, uint64_t size, int64_t mtime_ns) {
  StmtReset reset{lookup_};
  bind_text(lookup_, 1, path);
  bind_text(lookup_, 2, settings_.model_id);
  int rc = sqlite3_step(lookup_);
  if (rc == SQLITE_DONE) return IndexState::kAbsent;
  if (rc != SQLITE_ROW) return sqlite_error(db_, "lookup");
  const auto* settings = reinterpret_cast<const char*>(sqlite3_column_text(lookup_, 2));
  const auto* status = reinterpret_cast<const char*>(sqlite3_column_text(lookup_, 3));
  const bool same = static_cast<uint64_t>(sqlite3_column_int64(lookup_, 0)) == size &&
                    sqlite3_column_int64(lookup_, 1) == mtime_ns && settings != nullptr &&
                    canonical_ == settings;
  if (!same) return IndexState::kChanged;
  return std::string_view(status ? status : "") == "done" ? IndexState::kDone : IndexState::kFailed;
}

Status TagIndex::write_record(const IndexRecord& r, int64_t now) {
  int64_t id = 0;
  {
    StmtReset reset{upsert_};
    const std::string hash = r.content_hash ? to_hex64(*r.content_hash) : std::string();
    bind_text(upsert_, 1, r.path);
    sqlite3_bind_int64(upsert_, 2, static_cast<int64_t>(r.size));
    sqlite3_bind_int64(upsert_, 3, r.mtime_ns);
    if (r.content_hash) bind_text(upsert_, 4, hash);
    bind_text(upsert_, 5, settings_.model_id);
    sqlite3_bind_double(upsert_, 6, settings_.general_threshold);
    sqlite3_bind_double(upsert_, 7, settings_.character_threshold);
    sqlite3_bind_int(upsert_, 8, settings_.general_mcut);
    sqlite3_bind_int(upsert_, 9, settings_.character_mcut);
    bind_text(upsert_, 10, canonical_);
    bind_text(upsert_, 11, r.result ? "done" : "failed");
    if (!r.result) bind_text(upsert_, 12, r.error);
    if (r.result) bind_text(upsert_, 13, r.result->text);
    sqlite3_bind_int64(upsert_, 14, now);
    if (sqlite3_step(upsert_) != SQLITE_ROW) return sqlite_error(db_, "write image " + r.path);
    id = sqlite3_column_int64(upsert_, 0);
    if (sqlite3_step(upsert_) != SQLITE_DONE) return sqlite_error(db_, "write image " + r.path);
  }
  {
    StmtReset reset{delete_tags_};
    sqlite3_bind_int64(delete_tags_, 1, id);
    if (sqlite3_step(delete_tags_) != SQLITE_DONE) return sqlite_error(db_, "clear tags");
  }
  if (!r.result) return {};
  for (const IndexedScore& t : r.result->scores) {
    StmtReset reset{insert_tag_};
    sqlite3_bind_int64(insert_tag_, 1, id);
    sqlite3_bind_int(insert_tag_, 2, t.category);
    bind_text(insert_tag_, 3, t.label);
    sqlite3_bind_double(insert_tag_, 4, t.score);
    if (sqlite3_step(insert_tag_) != SQLITE_DONE) return sqlite_error(db_, "write tag");
  }
  return {};
}

Status TagIndex::commit(std::span<const IndexRecord> batch) {
  if (batch.empty()) return {};
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  SEER_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  for (size_t i = 0; i < batch.size(); ++i) {
    Status s = write_record(batch[i], now);
    if (!s.ok()) {
      (void)exec("ROLLBACK");
      return s;
    }
    if (hook_) hook_(i + 1);
  }
  Status s = exec("COMMIT");
  if (!s.ok()) (void)exec("ROLLBACK");
  return s;
}

StatusOr<int64_t> TagIndex::count_images(std::string_view status) {
  sqlite3_stmt* st = nullptr;
  const char* sql = status.empty() ? "SELECT COUNT(*) FROM images WHERE model_id = ?1"
                                   : "SELECT COUNT(*) FROM images WHERE model_id = ?1 AND status = ?2";
  if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) return sqlite_error(db_, "count");
  bind_text(st, 1, settings_.model_id);
  if (!status.empty()) bind_text(st, 2, status);
  int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  if (n < 0) return sqlite_error(db_, "count");
  return n;
}

StatusOr<int64_t> TagIndex::count_tags() {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT COUNT(*) FROM tags JOIN images ON images.id = tags.image_id "
                         "WHERE images.model_id = ?1",
                         -1, &st, nullptr) != SQLITE_OK) {
    return sqlite_error(db_, "count");
  }
  bind_text(st, 1, settings_.model_id);
  int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  if (n < 0) return sqlite_error(db_, "count");
  return n;
}

}  // namespace seer
