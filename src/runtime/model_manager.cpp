#include "runtime/model_manager.h"

#include <malloc.h>

#include <algorithm>

#include "core/log.h"
#include "memory/probes.h"

namespace seer {

using Clock = std::chrono::steady_clock;

std::string_view to_string(ModelState state) {
  switch (state) {
    case ModelState::kUnloaded: return "unloaded";
    case ModelState::kLoading: return "loading";
    case ModelState::kReady: return "ready";
    case ModelState::kUnloading: return "unloading";
    case ModelState::kFailed: return "failed";
  }
  return "?";
}

// ---- LoadedModel ---------------------------------------------------------------------------

LoadedModel::LoadedModel(ModelDescriptor descriptor, std::unique_ptr<ModelBackend> backend,
                         Reservation reservation, LoadPlan plan, int max_batch)
    : descriptor_(std::move(descriptor)),
      backend_(std::move(backend)),
      reservation_(std::move(reservation)),
      plan_(std::move(plan)),
      max_batch_(max_batch),
      device_(reservation_.device()) {}

LoadedModel::~LoadedModel() {
  backend_->unload();
  reservation_.release();
}

// ---- leases --------------------------------------------------------------------------------

// What acquire() hands out: a shared_ptr<LoadedModel> whose control block is this lease, so
// that dropping the last copy tells the manager the job is done (keep-alive clock, waiters).
class ModelManager::Lease {
 public:
  Lease(ModelManager* manager, std::shared_ptr<LoadedModel> model)
      : manager_(manager), model_(std::move(model)) {}
  ~Lease() {
    const std::string id = model_->id();
    model_.reset();
    manager_->release(id);
  }
  LoadedModel* get() const { return model_.get(); }

 private:
  ModelManager* manager_;
  std::shared_ptr<LoadedModel> model_;
};

// ---- ModelManager --------------------------------------------------------------------------

ModelManager::ModelManager(MemoryLedger& ledger, ModelCatalog& catalog,
                           const ModelFamilyRegistry& families, ManagerOptions options)
    : ledger_(ledger), catalog_(catalog), families_(families), options_(std::move(options)) {
  counters_.baseline_rss_bytes = read_process_memory().rss_bytes;
  loader_ = std::thread([this] { loader_loop(); });
  if (options_.reaper_thread) reaper_ = std::thread([this] { reaper_loop(); });
}

ModelManager::~ModelManager() { shutdown(); }

void ModelManager::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  loader_cv_.notify_all();
  reaper_cv_.notify_all();
  changed_.notify_all();
  if (loader_.joinable()) loader_.join();
  if (reaper_.joinable()) reaper_.join();
  (void)unload_all();
}

int64_t ModelManager::keep_alive_of(const Entry& e) const {
  return e.keep_alive_s.value_or(options_.keep_alive_s);
}

StatusOr<ModelManager::Entry*> ModelManager::entry_for_locked(std::string_view id) {
  // The catalog is the only source of ids and paths.
  std::optional<ModelDescriptor> d = catalog_.find(id);
  if (!d) return Status::not_found("unknown model '{}' (GET /v1/models lists them)", id);
  Entry& e = entries_[d->id];
  if (e.state == ModelState::kUnloaded || e.state == ModelState::kFailed) e.descriptor = std::move(*d);
  else if (e.descriptor.id.empty()) e.descriptor = std::move(*d);
  return &e;
}

StatusOr<std::shared_ptr<LoadedModel>> ModelManager::acquire(std::string_view id) {
  std::unique_lock lock(mu_);
  if (stopping_) return Status::unavailable("the server is shutting down");
  SEER_ASSIGN_OR_RETURN(Entry * e, entry_for_locked(id));
  return acquire_locked(lock, *e);
}

StatusOr<std::shared_ptr<LoadedModel>> ModelManager::acquire_locked(std::unique_lock<std::mutex>& lock,
                                                                    Entry& e) {
  const std::string id = e.descriptor.id;
  while (true) {
    if (stopping_) return Status::unavailable("the server is shutting down");
    switch (e.state) {
      case ModelState::kReady: {
        e.leases++;
        auto lease = std::make_shared<Lease>(this, e.model);
        return std::shared_ptr<LoadedModel>(lease, lease->get());
      }
      case ModelState::kLoading:
      case ModelState::kUnloading:
        changed_.wait(lock);
        break;
      case ModelState::kUnloaded:
      case ModelState::kFailed: {
        const uint64_t gen = e.load_generation;
        e.state = ModelState::kLoading;
        e.reason.clear();
        load_queue_.push_back(id);
        loader_cv_.notify_one();
        changed_.wait(lock, [&] { return stopping_ || e.load_generation != gen; });
        if (e.state == ModelState::kFailed) return e.last_status;
        break;  // ready (or unloaded again already): loop
      }
    }
  }
}

void ModelManager::release(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    Entry& e = it->second;
    e.leases--;
    e.last_used_steady = Clock::now();
    e.last_used = std::chrono::system_clock::now();
  }
  changed_.notify_all();
  reaper_cv_.notify_all();  // keep-alive 0 unloads right away
}

Status ModelManager::load(std::string_view id, const ModelLoadOptions& options) {
  std::unique_lock lock(mu_);
  if (stopping_) return Status::unavailable("the server is shutting down");
  SEER_ASSIGN_OR_RETURN(Entry * e, entry_for_locked(id));
  if (options.keep_alive_s) e->keep_alive_s = options.keep_alive_s;
  if (options.pin) e->pinned = *options.pin;
  SEER_ASSIGN_OR_RETURN(std::shared_ptr<LoadedModel> m, acquire_locked(lock, *e));
  // The lease ends here, under our lock: release() must not run while we hold mu_.
  lock.unlock();
  m.reset();
  return {};
}

Status ModelManager::unload(std::string_view id) {
  std::unique_lock lock(mu_);
  std::optional<ModelDescriptor> d = catalog_.find(id);
  auto it = d ? entries_.find(d->id) : entries_.end();
  if (!d) return Status::not_found("unknown model '{}'", id);
  if (it == entries_.end()) return {};
  Entry& e = it->second;
  changed_.wait(lock, [&] { return e.state != ModelState::kLoading && e.state != ModelState::kUnloading; });
  if (e.state == ModelState::kReady) unload_locked(lock, e, "unload");
  return {};
}

Status ModelManager::unload_all() {
  std::unique_lock lock(mu_);
  for (auto& [id, e] : entries_) {
    changed_.wait(lock, [&] {
      return stopping_ || (e.state != ModelState::kLoading && e.state != ModelState::kUnloading);
    });
    if (e.state == ModelState::kReady) unload_locked(lock, e, "unload all");
  }
  return {};
}

Status ModelManager::switch_to(std::string_view id, const ModelLoadOptions& options) {
  std::string target;
  {
    std::unique_lock lock(mu_);
    SEER_ASSIGN_OR_RETURN(Entry * e, entry_for_locked(id));
    target = e->descriptor.id;
    for (auto& [other, oe] : entries_) {
      if (other == target) continue;
      changed_.wait(lock, [&] { return oe.state != ModelState::kLoading && oe.state != ModelState::kUnloading; });
      if (oe.state == ModelState::kReady) unload_locked(lock, oe, "switch");
    }
  }
  return load(target, options);
}

// Called with the lock held and e ready; returns with the lock held and e unloaded. Waits for
// leases (running and queued jobs) to end; no new lease is handed out while unloading.
void ModelManager::unload_locked(std::unique_lock<std::mutex>& lock, Entry& e, const char* why) {
  e.state = ModelState::kUnloading;
  changed_.notify_all();
  changed_.wait(lock, [&] { return e.leases == 0; });
  std::shared_ptr<LoadedModel> model = std::move(e.model);
  const std::string id = e.descriptor.id;
  lock.unlock();
  model.reset();  // frees weights and arena, returns the reservation
  log_ram(fmt::format("unload {} ({})", id, why), ledger_);
  lock.lock();
  e.state = ModelState::kUnloaded;
  counters_.unloads++;
  changed_.notify_all();
  lock.unlock();
  check_ghost();
  lock.lock();
}

void ModelManager::loader_loop() {
  std::unique_lock lock(mu_);
  while (true) {
    loader_cv_.wait(lock, [&] { return stopping_ || !load_queue_.empty(); });
    if (stopping_) {
      // Waiters see the failure rather than hang.
      for (const auto& id : load_queue_) {
        Entry& e = entries_[id];
        e.state = ModelState::kFailed;
        e.last_status = Status::unavailable("the server is shutting down");
        e.load_generation++;
      }
      load_queue_.clear();
      changed_.notify_all();
      return;
    }
    const std::string id = load_queue_.front();
    load_queue_.pop_front();
    lock.unlock();
    do_load(id);
    lock.lock();
  }
}

void ModelManager::do_load(const std::string& id) {
  ModelDescriptor descriptor;
  {
    std::lock_guard lock(mu_);
    descriptor = entries_[id].descriptor;
  }
  auto fail = [&](const Status& s) {
    log::warn("load {} failed: {}", id, s.message());
    std::lock_guard lock(mu_);
    Entry& e = entries_[id];
    e.state = ModelState::kFailed;
    e.reason = s.message();
    e.last_status = s;
    e.load_generation++;
    counters_.load_failures++;
    changed_.notify_all();
  };

  auto created = families_.create(descriptor);
  if (!created.ok()) return fail(created.status());
  std::unique_ptr<ModelBackend> backend = std::move(created).value();

  // The max batch: the flag, else the largest the backend allows whose plan fits the budget.
  auto usage = ledger_.device_usage(options_.device);
  if (!usage.ok()) return fail(usage.status());
  const uint64_t budget = usage->budget_bytes;
  const int limit = std::max(1, backend->max_batch_limit());
  int batch = options_.max_batch > 0 ? std::min(options_.max_batch, limit) : limit;
  auto plan = backend->plan(batch);
  if (!plan.ok()) return fail(plan.status());
  if (options_.max_batch <= 0) {
    while (batch > 1 && plan->total_bytes() > budget) {
      batch = batch / 2;
      plan = backend->plan(batch);
      if (!plan.ok()) return fail(plan.status());
    }
  }
  const uint64_t total = plan->total_bytes();
  const std::string what = fmt::format("{} weights + {} arena at batch {} = {}", format_bytes(plan->weight_bytes),
                                       format_bytes(plan->arena_bytes()), batch, format_bytes(total));
  if (total > budget) {
    return fail(Status::resource_exhausted("model '{}' needs {}, more than the whole {} budget of {}", id,
                                           what, options_.device.to_string(), format_bytes(budget)));
  }

  StatusOr<Reservation> reservation = Status::internal("unset");
  {
    std::unique_lock lock(mu_);
    reservation = reserve_with_eviction(lock, id, total, what);
  }
  if (!reservation.ok()) return fail(reservation.status());

  log_ram(fmt::format("load start {} ({})", id, what), ledger_);
  const auto t0 = Clock::now();
  Status s = backend->load(*reservation, batch);
  if (!s.ok()) {
    backend->unload();
    reservation->release();  // before waiters wake: a failed load leaves nothing reserved
    return fail(s.with_context(fmt::format("loading '{}'", id)));
  }
  auto model = std::make_shared<LoadedModel>(descriptor, std::move(backend), std::move(reservation).value(),
                                             std::move(plan).value(), batch);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  log_ram(fmt::format("load end {} ({:.0f} ms, max batch {})", id, ms, batch), ledger_);
  std::lock_guard lock(mu_);
  Entry& e = entries_[id];
  e.model = std::move(model);
  e.state = ModelState::kReady;
  e.reason.clear();
  e.last_status = Status();
  e.last_used_steady = Clock::now();
  e.last_used = std::chrono::system_clock::now();
  e.load_generation++;
  counters_.loads++;
  changed_.notify_all();
}

std::string ModelManager::holders_locked() const {
  std::string out;
  for (const auto& [id, e] : entries_) {
    if (e.state != ModelState::kReady && e.state != ModelState::kUnloading) continue;
    const uint64_t bytes = ledger_.owner_bytes(id);
    std::string flags;
    if (e.pinned) flags += ", pinned";
    if (e.leases > 0) flags += fmt::format(", {} jobs", e.leases);
    out += fmt::format("{}{} ({}{})", out.empty() ? "" : ", ", id, format_bytes(bytes), flags);
  }
  return out.empty() ? "no model" : out;
}

StatusOr<Reservation> ModelManager::reserve_with_eviction(std::unique_lock<std::mutex>& lock,
                                                          const std::string& id, uint64_t bytes,
                                                          const std::string& what) {
  const auto give_up_at = Clock::now() + options_.busy_wait;
  while (true) {
    auto r = ledger_.reserve(options_.device, id, bytes);
    if (r.ok() || r.status().code() != StatusCode::kResourceExhausted) return r;
    // The least recently used idle, unpinned, ready model other than this one.
    Entry* victim = nullptr;
    bool busy_candidates = false;
    for (auto& [other, e] : entries_) {
      if (other == id || e.state != ModelState::kReady || e.pinned) continue;
      if (e.leases > 0) {
        busy_candidates = true;
        continue;
      }
      if (!victim || e.last_used_steady < victim->last_used_steady) victim = &e;
    }
    if (victim) {
      log::info("evicting {} (least recently used, idle) to make room for {}", victim->descriptor.id, id);
      counters_.evictions++;
      unload_locked(lock, *victim, "evicted");
      continue;
    }
    auto usage = ledger_.device_usage(options_.device);
    const uint64_t used = usage.ok() ? usage->used_bytes + usage->reserved_bytes : 0;
    const uint64_t budget = usage.ok() ? usage->budget_bytes : 0;
    if (busy_candidates && !stopping_ && Clock::now() < give_up_at) {
      changed_.wait_until(lock, give_up_at);
      continue;
    }
    const std::string msg = fmt::format(
        "model '{}' needs {}; the {} budget is {} with {} in use by {}{}", id, what,
        options_.device.to_string(), format_bytes(budget), format_bytes(used), holders_locked(),
        busy_candidates ? " (busy: retry later)" : ", none of which can be evicted (pinned or busy)");
    if (busy_candidates) return Status::unavailable("{}", msg);
    return Status::resource_exhausted("{}", msg);
  }
}

void ModelManager::reap_once() {
  std::unique_lock lock(mu_);
  const auto now = Clock::now();
  for (auto& [id, e] : entries_) {
    if (e.state != ModelState::kReady || e.pinned || e.leases > 0) continue;
    const int64_t ka = keep_alive_of(e);
    if (ka < 0) continue;
    if (now - e.last_used_steady >= std::chrono::seconds(ka)) unload_locked(lock, e, "keep-alive expired");
  }
}

void ModelManager::reaper_loop() {
  auto next_ghost = Clock::now() + options_.ghost_check_interval;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    reaper_cv_.wait_for(lock, options_.reaper_interval);
    if (stopping_) break;
    lock.unlock();
    reap_once();
    if (Clock::now() >= next_ghost) {
      check_ghost();
      next_ghost = Clock::now() + options_.ghost_check_interval;
    }
    lock.lock();
  }
}

uint64_t ModelManager::check_ghost() {
  const uint64_t ledger_total = ledger_.total_bytes();
  uint64_t rss = read_process_memory().rss_bytes;
  std::unique_lock lock(mu_);
  const uint64_t baseline = counters_.baseline_rss_bytes;
  auto ghost_of = [&](uint64_t r) { return r > baseline + ledger_total ? r - baseline - ledger_total : 0; };
  uint64_t ghost = ghost_of(rss);
  counters_.ghost_checks++;
  if (ghost > options_.ghost_threshold_bytes) {
    counters_.ghost_events++;
    const bool may_trim = Clock::now() - last_trim_ >= options_.trim_cooldown;
    if (may_trim) {
      last_trim_ = Clock::now();
      counters_.trims++;
    }
    lock.unlock();
    log_ram(fmt::format("ghost {} above threshold {}{}", format_bytes(ghost),
                        format_bytes(options_.ghost_threshold_bytes), may_trim ? ", trimming" : ""),
            ledger_);
    if (may_trim) {
      malloc_trim(0);  // glibc returns free heap pages to the OS
      rss = read_process_memory().rss_bytes;
      ghost = ghost_of(rss);
      log_ram(fmt::format("after trim: ghost {}", format_bytes(ghost)), ledger_);
    }
    lock.lock();
  }
  counters_.ghost_bytes = ghost;
  return ghost;
}

ModelInfo ModelManager::info_locked(const Entry& e) const {
  ModelInfo i;
  i.descriptor = e.descriptor;
  i.state = e.state;
  i.reason = e.reason;
  i.keep_alive_s = keep_alive_of(e);
  i.pinned = e.pinned;
  i.leases = e.leases;
  i.last_used = e.last_used;
  i.has_backend = families_.has_backend(e.descriptor.kind);
  if (e.model) {
    i.max_batch = e.model->max_batch();
    i.planned_bytes = e.model->plan().total_bytes();
  }
  for (MemoryTag tag : kAllMemoryTags) {
    const uint64_t b = ledger_.bytes(options_.device, e.descriptor.id, tag);
    if (b) i.memory[tag] = b;
  }
  return i;
}

std::vector<ModelInfo> ModelManager::models() {
  std::vector<ModelDescriptor> all = catalog_.list();
  std::lock_guard lock(mu_);
  std::vector<ModelInfo> out;
  out.reserve(all.size());
  for (auto& d : all) {
    auto it = entries_.find(d.id);
    if (it != entries_.end()) {
      out.push_back(info_locked(it->second));
      out.back().descriptor = std::move(d);
    } else {
      Entry e;
      e.descriptor = std::move(d);
      out.push_back(info_locked(e));
    }
  }
  return out;
}

std::optional<ModelInfo> ModelManager::info(std::string_view id) {
  std::optional<ModelDescriptor> d = catalog_.find(id);
  if (!d) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = entries_.find(d->id);
  if (it != entries_.end()) return info_locked(it->second);
  Entry e;
  e.descriptor = std::move(*d);
  return info_locked(e);
}

ManagerCounters ModelManager::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

}  // namespace seer
