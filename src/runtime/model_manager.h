// The model manager: which models are loaded, loading them on demand within the memory budget,
// evicting idle ones, unloading after their keep-alive, and checking the ledger against the OS.
//
//   ModelManager manager(ledger, *catalog, families, {.device = DeviceId{}, .keep_alive_s = 300});
//   SEER_ASSIGN_OR_RETURN(std::shared_ptr<LoadedModel> m, manager.acquire("wd-vit-tagger-v3"));
//   m->backend().run(batch);            // m keeps the model loaded while it is held
//   m.reset();                          // the lease ends; the keep-alive clock starts
//   SEER_RETURN_IF_ERROR(manager.unload("wd-vit-tagger-v3"));   // waits for leases to end
//
// Lifecycle per model (DESIGN.md): unloaded -> loading -> ready -> unloading -> unloaded, or
// failed with a reason (a later acquire retries). Loads run on the manager's loader thread.
// Before a load, weights + arena at the model's max batch are reserved against the device
// budget; least-recently-used, idle (no lease), unpinned models are evicted until the
// reservation fits; if nothing can make room, ResourceExhausted names the numbers. Models that
// could make room but are busy are waited for (up to `busy_wait`), then Unavailable.
// A model's max batch is --max-batch if set, else the largest its backend allows whose plan
// fits the whole budget.
//
// Ghost memory = RSS - baseline RSS - ledger total: memory the process holds that no Buffer
// accounts for. Checked every `ghost_check_interval` and after every unload; above
// `ghost_threshold_bytes` it is logged with a [RAM] line, counted, and trimmed (malloc_trim)
// at most once per `trim_cooldown`.
//
// Thread-safe. The manager must outlive every LoadedModel lease it handed out; its destructor
// stops its threads and unloads everything (waiting for leases).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/status.h"
#include "memory/ledger.h"
#include "runtime/model_backend.h"
#include "runtime/model_catalog.h"

namespace seer {

enum class ModelState : uint8_t { kUnloaded, kLoading, kReady, kUnloading, kFailed };
std::string_view to_string(ModelState state);  // "unloaded", "loading", "ready", ...

// A loaded model: the backend with its weights, and the reservation its bytes came from.
// Shared by the manager and every job that uses it (see acquire()). Immutable after load.
class LoadedModel {
 public:
  LoadedModel(ModelDescriptor descriptor, std::unique_ptr<ModelBackend> backend,
              Reservation reservation, LoadPlan plan, int max_batch);
  ~LoadedModel();  // unloads the backend, then releases the reservation
  LoadedModel(const LoadedModel&) = delete;
  LoadedModel& operator=(const LoadedModel&) = delete;

  const std::string& id() const { return descriptor_.id; }
  const ModelDescriptor& descriptor() const { return descriptor_; }
  ModelBackend& backend() const { return *backend_; }
  DeviceId device() const { return device_; }
  int max_batch() const { return max_batch_; }
  const LoadPlan& plan() const { return plan_; }

 private:
  ModelDescriptor descriptor_;
  std::unique_ptr<ModelBackend> backend_;
  Reservation reservation_;
  LoadPlan plan_;
  int max_batch_;
  DeviceId device_;
};

struct ManagerOptions {
  DeviceId device;                  // where models load
  int max_batch = 0;                // 0: the largest the budget and the backend allow
  int64_t keep_alive_s = 300;       // default per model; -1 never, 0 after each request
  std::chrono::milliseconds busy_wait{30000};
  std::chrono::milliseconds reaper_interval{200};
  std::chrono::milliseconds ghost_check_interval{10000};
  uint64_t ghost_threshold_bytes = 256ull << 20;
  std::chrono::milliseconds trim_cooldown{30000};
  bool reaper_thread = true;        // false: tests drive reap_once()/check_ghost() themselves
};

struct ModelInfo {
  ModelDescriptor descriptor;
  ModelState state = ModelState::kUnloaded;
  std::string reason;                          // why failed (or the last failure)
  int64_t keep_alive_s = 0;
  bool pinned = false;
  int leases = 0;                              // jobs holding the model
  int max_batch = 0;                           // when loaded
  uint64_t planned_bytes = 0;                  // when loaded: weights + arena at max batch
  std::map<MemoryTag, uint64_t> memory;        // ledger bytes by tag (non-zero only)
  std::optional<std::chrono::system_clock::time_point> last_used;
  bool has_backend = false;                    // false: listed but not loadable yet
};

struct ManagerCounters {
  uint64_t loads = 0, load_failures = 0, unloads = 0, evictions = 0;
  uint64_t ghost_checks = 0, ghost_events = 0, trims = 0;
  uint64_t ghost_bytes = 0;  // at the last check
  uint64_t baseline_rss_bytes = 0;
};

// What POST /v1/models/load may set on a model (named apart from image/preprocess.h's LoadOptions,
// so that both headers can be included together).
struct ModelLoadOptions {
  std::optional<int64_t> keep_alive_s;
  std::optional<bool> pin;
};

class ModelManager {
 public:
  ModelManager(MemoryLedger& ledger, ModelCatalog& catalog, const ModelFamilyRegistry& families,
               ManagerOptions options);
  ~ModelManager();
  ModelManager(const ModelManager&) = delete;
  ModelManager& operator=(const ModelManager&) = delete;

  // The model (by catalog id or alias), loading it first if needed; blocks until ready or
  // failed. NotFound for an id the catalog does not hold (no path reaches the filesystem).
  // The returned pointer is a lease: while any lease is held the model is not unloaded.
  StatusOr<std::shared_ptr<LoadedModel>> acquire(std::string_view id);
  // Loads (if needed) and sets keep-alive / pin. Blocks until ready or failed.
  Status load(std::string_view id, const ModelLoadOptions& options = {});
  // Unloads, waiting for leases to end. OK if not loaded. NotFound for an unknown id.
  Status unload(std::string_view id);
  // Unloads every model (pinned ones too).
  Status unload_all();
  // Unloads every other model, then loads this one.
  Status switch_to(std::string_view id, const ModelLoadOptions& options = {});

  // Every catalog model with its state, sorted by id.
  std::vector<ModelInfo> models();
  std::optional<ModelInfo> info(std::string_view id);
  ManagerCounters counters() const;
  const ManagerOptions& options() const { return options_; }
  MemoryLedger& ledger() const { return ledger_; }

  // Unloads models whose keep-alive has passed (the reaper thread calls this).
  void reap_once();
  // Computes ghost memory, logs/counts/trims as described above; returns the ghost bytes.
  uint64_t check_ghost();
  // Stops the threads and unloads everything. Idempotent; the destructor calls it.
  void shutdown();

 private:
  struct Entry {
    ModelDescriptor descriptor;
    ModelState state = ModelState::kUnloaded;
    std::string reason;
    Status last_status;
    std::shared_ptr<LoadedModel> model;
    int leases = 0;
    std::optional<int64_t> keep_alive_s;  // unset: the manager's default
    bool pinned = false;
    std::chrono::steady_clock::time_point last_used_steady{};
    std::optional<std::chrono::system_clock::time_point> last_used;
    uint64_t load_generation = 0;  // bumps at each load attempt's end (waiters compare)
  };
  class Lease;

  StatusOr<Entry*> entry_for_locked(std::string_view id);
  StatusOr<std::shared_ptr<LoadedModel>> acquire_locked(std::unique_lock<std::mutex>& lock, Entry& e);
  void loader_loop();
  void reaper_loop();
  void do_load(const std::string& id);
  StatusOr<Reservation> reserve_with_eviction(std::unique_lock<std::mutex>& lock, const std::string& id,
                                              uint64_t bytes, const std::string& what);
  void unload_locked(std::unique_lock<std::mutex>& lock, Entry& e, const char* why);
  void release(const std::string& id);
  int64_t keep_alive_of(const Entry& e) const;
  ModelInfo info_locked(const Entry& e) const;
  std::string holders_locked() const;

  MemoryLedger& ledger_;
  ModelCatalog& catalog_;
  const ModelFamilyRegistry& families_;
  ManagerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable changed_;   // any state or lease change
  std::condition_variable loader_cv_;
  std::condition_variable reaper_cv_;
  std::map<std::string, Entry> entries_;
  std::deque<std::string> load_queue_;
  bool stopping_ = false;
  ManagerCounters counters_;
  std::chrono::steady_clock::time_point last_trim_{};
  std::thread loader_;
  std::thread reaper_;
};

}  // namespace seer
