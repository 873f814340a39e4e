// The model catalog: which models exist under --models-dir, discovered once and then kept.
//
//   ModelFamilyRegistry families = default_family_registry();
//   SEER_ASSIGN_OR_RETURN(auto catalog, ModelCatalog::open({.models_dir = dir}, families));
//   for (const ModelDescriptor& m : catalog->list()) show(m);     // no disk scan unless changed
//   std::optional<ModelDescriptor> m = catalog->find(request_model_id);  // ids only, never paths
//   SEER_RETURN_IF_ERROR(catalog->refresh());                    // forced rescan
//
// Why it is built this way (original-notes/wd14-batch-restoration.md): the Python server rescanned
// the disk on every `GET /v1/models` poll and died to the OOM killer. Here:
// - a scan walks the tree once (hidden folders, `blobs/` and symlinked folders are skipped;
//   a recognised model folder is not descended into) and records every folder's mtime;
// - the result stays in memory; inotify watches every walked folder, and list()/find() only
//   drain the inotify queue (one non-blocking read): a rescan happens only after a change, so a
//   new folder appears without a refresh and 1000 polls of an unchanged tree scan nothing;
// - the result is persisted (SQLite, in the cache dir, not in the models dir whose mtime it would
//   change); on open, if every recorded folder still has its mtime, the cache is used as is;
// - ids are paths relative to the models dir ("wd-vit-tagger-v3",
//   "models--SmilingWolf--wd-vit-tagger-v3/snapshots/<rev>"); an HF cache snapshot also gets the
//   alias "SmilingWolf/wd-vit-tagger-v3" (the one refs/main names, else the newest). find()
//   matches an id or alias against the catalog only, so no request text reaches the filesystem.
//
// Thread-safe (one mutex; a rescan holds it).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "runtime/model_backend.h"

namespace seer {

struct CatalogOptions {
  std::filesystem::path models_dir;
  // SQLite file for the persisted catalog. Empty: $XDG_CACHE_HOME/seer (or ~/.cache/seer)
  // /catalog-<hash of models_dir>.sqlite. "-": no persistence.
  std::filesystem::path cache_file;
  bool watch = true;   // inotify
  int max_depth = 8;   // folders below models_dir that are walked
};

class ModelCatalog {
 public:
  // Opens the catalog: loads the persisted scan if the tree is unchanged, else scans.
  // A missing models dir is an empty catalog (it is watched for once created by a refresh).
  static StatusOr<std::unique_ptr<ModelCatalog>> open(CatalogOptions options,
                                                      const ModelFamilyRegistry& families);
  ~ModelCatalog();
  ModelCatalog(const ModelCatalog&) = delete;
  ModelCatalog& operator=(const ModelCatalog&) = delete;

  // Every model, sorted by id. Rescans first only if inotify reported a change.
  std::vector<ModelDescriptor> list();
  // The model with this id or alias. Rescans first only if inotify reported a change.
  std::optional<ModelDescriptor> find(std::string_view id_or_alias);
  // Rescans the tree now (POST /v1/models/refresh).
  Status refresh();

  // Full scans since open (a cache hit at open is not a scan). For tests and /metrics.
  uint64_t scan_count() const { return scans_.load(); }
  bool opened_from_cache() const { return opened_from_cache_; }
  const std::filesystem::path& models_dir() const { return options_.models_dir; }

 private:
  ModelCatalog(CatalogOptions options, const ModelFamilyRegistry& families);
  void drain_events_locked();          // reads inotify; sets dirty_ on a relevant event
  Status scan_locked();                // walks the tree, rewatches, persists
  void walk(const std::filesystem::path& dir, int depth);
  void assign_aliases();
  void watch_locked(const std::filesystem::path& dir);
  bool load_cache_locked();            // true when the cache matched the tree
  void save_cache_locked();

  CatalogOptions options_;
  const ModelFamilyRegistry& families_;
  std::mutex mu_;
  std::map<std::string, ModelDescriptor> models_;   // by id
  std::map<std::string, int64_t> dir_mtimes_;       // relative folder -> mtime (ns)
  std::map<int, std::string> watches_;              // inotify wd -> relative folder
  int inotify_fd_ = -1;
  bool dirty_ = false;
  bool opened_from_cache_ = false;
  std::atomic<uint64_t> scans_{0};
};

}  // namespace seer
