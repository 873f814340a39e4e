#include "runtime/model_catalog.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include "core/log.h"

namespace seer {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
constexpr int kCacheVersion = 1;

std::optional<int64_t> mtime_ns(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

fs::path default_cache_file(const fs::path& models_dir) {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const fs::path base = xdg && *xdg ? fs::path(xdg) : fs::path(home && *home ? home : "/tmp") / ".cache";
  return base / "seer" / fmt::format("catalog-{:016x}.sqlite", fnv1a(models_dir.string()));
}

// "models--Org--Repo/snapshots/<rev>" -> ("Org/Repo", "<rev>").
std::optional<std::pair<std::string, std::string>> hf_snapshot(const std::string& rel) {
  const fs::path p(rel);
  std::vector<std::string> parts;
  for (const auto& part : p) parts.push_back(part.string());
  if (parts.size() < 3) return std::nullopt;
  const std::string& repo = parts[parts.size() - 3];
  if (parts[parts.size() - 2] != "snapshots" || repo.rfind("models--", 0) != 0) return std::nullopt;
  std::string name = repo.substr(8);
  const size_t sep = name.find("--");
  if (sep == std::string::npos) return std::nullopt;
  name = name.substr(0, sep) + "/" + name.substr(sep + 2);
  return std::make_pair(name, parts.back());
}

// A cache written with other families (another build, a test's fake family) is not reused.
std::string families_signature(const ModelFamilyRegistry& families) {
  std::string sig;
  for (const auto& f : families.families()) sig += fmt::format("{}:{};", to_string(f.kind), f.format);
  return sig;
}

// RAII for the few SQLite calls the cache needs.
struct Db {
  sqlite3* db = nullptr;
  ~Db() {
    if (db) sqlite3_close(db);
  }
  bool exec(const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK; }
};
struct Stmt {
  sqlite3_stmt* st = nullptr;
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &st, nullptr); }
  ~Stmt() {
    if (st) sqlite3_finalize(st);
  }
  std::string text(int col) const {
    const unsigned char* t = sqlite3_column_text(st, col);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
};

}  // namespace

ModelCatalog::ModelCatalog(CatalogOptions options, const ModelFamilyRegistry& families)
    : options_(std::move(options)), families_(families) {}

ModelCatalog::~ModelCatalog() {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

StatusOr<std::unique_ptr<ModelCatalog>> ModelCatalog::open(CatalogOptions options,
                                                           const ModelFamilyRegistry& families) {
  std::error_code ec;
  if (options.models_dir.empty()) return Status::invalid_argument("no models dir given");
  const fs::path abs = fs::absolute(options.models_dir, ec);
  if (!ec) options.models_dir = abs.lexically_normal();
  if (options.cache_file.empty()) options.cache_file = default_cache_file(options.models_dir);
  std::unique_ptr<ModelCatalog> c(new ModelCatalog(std::move(options), families));
  if (c->options_.watch) {
    c->inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (c->inotify_fd_ < 0) {
      log::warn("catalog: inotify unavailable ({}); changes appear only after a refresh",
                std::strerror(errno));
    }
  }
  std::lock_guard lock(c->mu_);
  if (c->load_cache_locked()) {
    c->opened_from_cache_ = true;
    for (const auto& [rel, mtime] : c->dir_mtimes_) c->watch_locked(c->options_.models_dir / rel);
    log::info("catalog: {} models under {} (cache {}, unchanged tree)", c->models_.size(),
              c->options_.models_dir.string(), c->options_.cache_file.string());
  } else {
    SEER_RETURN_IF_ERROR(c->scan_locked());
  }
  return c;
}

std::vector<ModelDescriptor> ModelCatalog::list() {
  std::lock_guard lock(mu_);
  drain_events_locked();
  if (dirty_) (void)scan_locked();
  std::vector<ModelDescriptor> out;
  out.reserve(models_.size());
  for (const auto& [id, d] : models_) out.push_back(d);
  return out;
}

std::optional<ModelDescriptor> ModelCatalog::find(std::string_view id_or_alias) {
  std::lock_guard lock(mu_);
  drain_events_locked();
  if (dirty_) (void)scan_locked();
  if (auto it = models_.find(std::string(id_or_alias)); it != models_.end()) return it->second;
  for (const auto& [id, d] : models_) {
    if (!d.alias.empty() && d.alias == id_or_alias) return d;
  }
  return std::nullopt;
}

Status ModelCatalog::refresh() {
  std::lock_guard lock(mu_);
  drain_events_locked();
  return scan_locked();
}

void ModelCatalog::drain_events_locked() {
  if (inotify_fd_ < 0) return;
  alignas(struct inotify_event) char buf[16384];
  while (true) {
    const ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: nothing more
    for (char* p = buf; p < buf + n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(p);
      // IN_IGNORED only says a watch went away (its folder was deleted: that event came too).
      if (!(ev->mask & IN_IGNORED)) dirty_ = true;
      if (ev->mask & IN_IGNORED) watches_.erase(ev->wd);
      p += sizeof(struct inotify_event) + ev->len;
    }
  }
}

void ModelCatalog::watch_locked(const fs::path& dir) {
  if (inotify_fd_ < 0) return;
  const int wd = inotify_add_watch(inotify_fd_, dir.c_str(), kWatchMask);
  if (wd < 0) {
    log::debug("catalog: cannot watch {}: {}", dir.string(), std::strerror(errno));
    return;
  }
  std::error_code ec;
  watches_[wd] = fs::relative(dir, options_.models_dir, ec).string();
}

Status ModelCatalog::scan_locked() {
  dirty_ = false;
  models_.clear();
  dir_mtimes_.clear();
  scans_++;
  std::error_code ec;
  if (fs::is_directory(options_.models_dir, ec)) walk(options_.models_dir, 0);
  assign_aliases();
  log::info("catalog: scanned {}: {} models in {} folders", options_.models_dir.string(),
            models_.size(), dir_mtimes_.size());
  save_cache_locked();
  return {};
}

void ModelCatalog::walk(const fs::path& dir, int depth) {
  // Watch before reading, so that nothing created meanwhile goes unnoticed.
  watch_locked(dir);
  std::error_code ec;
  const std::string rel = dir == options_.models_dir ? "." : fs::relative(dir, options_.models_dir, ec).string();
  if (auto m = mtime_ns(dir)) dir_mtimes_[rel] = *m;
  if (dir != options_.models_dir) {
    if (auto d = families_.recognise(dir)) {
      d->id = rel;
      d->path = dir;
      models_[rel] = std::move(*d);
      return;  // a model folder is not searched for further models
    }
  }
  if (depth >= options_.max_depth) return;
  std::vector<fs::path> subdirs;
  for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || name == "blobs") continue;
    std::error_code e2;
    if (it->is_symlink(e2)) continue;  // no cycles, no escaping the models dir
    if (it->is_directory(e2)) subdirs.push_back(it->path());
  }
  std::sort(subdirs.begin(), subdirs.end());
  for (const auto& sub : subdirs) walk(sub, depth + 1);
}

void ModelCatalog::assign_aliases() {
  // Per HF repo: the snapshot refs/main names, else the newest snapshot folder.
  std::map<std::string, std::vector<std::string>> by_repo;  // alias -> ids
  for (auto& [id, d] : models_) {
    d.alias.clear();
    if (auto hf = hf_snapshot(id)) by_repo[hf->first].push_back(id);
  }
  for (const auto& [alias, ids] : by_repo) {
    const fs::path repo_dir = models_[ids.front()].path.parent_path().parent_path();
    std::string main_rev;
    std::ifstream(repo_dir / "refs" / "main") >> main_rev;
    std::string chosen;
    int64_t newest = -1;
    for (const auto& id : ids) {
      const std::string rev = hf_snapshot(id)->second;
      if (!main_rev.empty() && rev == main_rev) {
        chosen = id;
        break;
      }
      const int64_t m = mtime_ns(models_[id].path).value_or(0);
      if (m > newest) {
        newest = m;
        chosen = id;
      }
    }
    models_[chosen].alias = alias;
  }
}

bool ModelCatalog::load_cache_locked() {
  if (options_.cache_file == "-") return false;
  std::error_code ec;
  if (!fs::exists(options_.cache_file, ec)) return false;
  Db db;
  if (sqlite3_open_v2(options_.cache_file.c_str(), &db.db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    return false;
  }
  {
    Stmt st(db.db, "SELECT key, value FROM meta");
    if (!st.st) return false;
    std::map<std::string, std::string> meta;
    while (sqlite3_step(st.st) == SQLITE_ROW) meta[st.text(0)] = st.text(1);
    if (meta["version"] != std::to_string(kCacheVersion) || meta["models_dir"] != options_.models_dir.string() ||
        meta["families"] != families_signature(families_)) {
      return false;
    }
  }
  std::map<std::string, int64_t> dirs;
  {
    Stmt st(db.db, "SELECT path, mtime_ns FROM dirs");
    if (!st.st) return false;
    while (sqlite3_step(st.st) == SQLITE_ROW) dirs[st.text(0)] = sqlite3_column_int64(st.st, 1);
  }
  if (dirs.empty()) return false;
  // The whole point: a stat per folder instead of a walk that opens every model folder.
  for (const auto& [rel, mtime] : dirs) {
    const fs::path p = rel == "." ? options_.models_dir : options_.models_dir / rel;
    if (mtime_ns(p) != mtime) return false;
  }
  std::map<std::string, ModelDescriptor> models;
  {
    Stmt st(db.db, "SELECT id, alias, kind, format, size, files FROM models");
    if (!st.st) return false;
    while (sqlite3_step(st.st) == SQLITE_ROW) {
      ModelDescriptor d;
      d.id = st.text(0);
      d.alias = st.text(1);
      auto kind = parse_model_kind(st.text(2));
      if (!kind) return false;
      d.kind = *kind;
      d.format = st.text(3);
      d.size_bytes = static_cast<uint64_t>(sqlite3_column_int64(st.st, 4));
      const std::string files = st.text(5);
      for (size_t pos = 0; pos < files.size();) {
        size_t nl = files.find('\n', pos);
        if (nl == std::string::npos) nl = files.size();
        d.files.push_back(files.substr(pos, nl - pos));
        pos = nl + 1;
      }
      d.path = options_.models_dir / d.id;
      models[d.id] = std::move(d);
    }
  }
  models_ = std::move(models);
  dir_mtimes_ = std::move(dirs);
  return true;
}

void ModelCatalog::save_cache_locked() {
  if (options_.cache_file == "-") return;
  std::error_code ec;
  fs::create_directories(options_.cache_file.parent_path(), ec);
  Db db;
  if (sqlite3_open(options_.cache_file.c_str(), &db.db) != SQLITE_OK) {
    log::warn("catalog: cannot write cache {}: {}", options_.cache_file.string(),
              db.db ? sqlite3_errmsg(db.db) : "open failed");
    return;
  }
  bool ok = db.exec("BEGIN") &&
            db.exec("DROP TABLE IF EXISTS meta; DROP TABLE IF EXISTS dirs; DROP TABLE IF EXISTS models;"
                    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
                    "CREATE TABLE dirs(path TEXT PRIMARY KEY, mtime_ns INTEGER);"
                    "CREATE TABLE models(id TEXT PRIMARY KEY, alias TEXT, kind TEXT, format TEXT,"
                    " size INTEGER, files TEXT);");
  auto put = [&](const char* sql, auto&& bind) {
    Stmt st(db.db, sql);
    if (!st.st) return false;
    bind(st.st);
    return sqlite3_step(st.st) == SQLITE_DONE;
  };
  const std::string version = std::to_string(kCacheVersion), dir = options_.models_dir.string();
  const std::string fams = families_signature(families_);
  for (const auto& [k, v] : {std::pair{std::string("version"), version}, std::pair{std::string("models_dir"), dir},
                             std::pair{std::string("families"), fams}}) {
    ok = ok && put("INSERT INTO meta VALUES(?, ?)", [&](sqlite3_stmt* s) {
           sqlite3_bind_text(s, 1, k.c_str(), -1, SQLITE_TRANSIENT);
           sqlite3_bind_text(s, 2, v.c_str(), -1, SQLITE_TRANSIENT);
         });
  }
  for (const auto& [rel, mtime] : dir_mtimes_) {
    ok = ok && put("INSERT INTO dirs VALUES(?, ?)", [&](sqlite3_stmt* s) {
           sqlite3_bind_text(s, 1, rel.c_str(), -1, SQLITE_TRANSIENT);
           sqlite3_bind_int64(s, 2, mtime);
         });
  }
  for (const auto& [id, d] : models_) {
    std::string files;
    for (const auto& f : d.files) files += (files.empty() ? "" : "\n") + f;
    const std::string kind(to_string(d.kind));
    ok = ok && put("INSERT INTO models VALUES(?, ?, ?, ?, ?, ?)", [&](sqlite3_stmt* s) {
           sqlite3_bind_text(s, 1, d.id.c_str(), -1, SQLITE_TRANSIENT);
           sqlite3_bind_text(s, 2, d.alias.c_str(), -1, SQLITE_TRANSIENT);
           sqlite3_bind_text(s, 3, kind.c_str(), -1, SQLITE_TRANSIENT);
           sqlite3_bind_text(s, 4, d.format.c_str(), -1, SQLITE_TRANSIENT);
           sqlite3_bind_int64(s, 5, static_cast<int64_t>(d.size_bytes));
           sqlite3_bind_text(s, 6, files.c_str(), -1, SQLITE_TRANSIENT);
         });
  }
  ok = ok && db.exec("COMMIT");
  if (!ok) {
    log::warn("catalog: cannot write cache {}: {}", options_.cache_file.string(), sqlite3_errmsg(db.db));
    db.exec("ROLLBACK");
  }
}

}  // namespace seer
