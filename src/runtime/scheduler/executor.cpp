#include "runtime/scheduler/executor.h"

#include "core/log.h"

namespace seer {

using Clock = Batcher::Clock;

Executor::Executor(std::string name, RunBatch run_batch, Dequeued dequeued)
    : name_(std::move(name)), run_batch_(std::move(run_batch)), dequeued_(std::move(dequeued)) {
  thread_ = std::thread([this] { loop(); });
}

Executor::~Executor() { stop(); }

void Executor::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<std::pair<std::string, JobPtr>> left;
  {
    std::lock_guard lock(mu_);
    for (auto& [model, b] : batchers_) {
      auto p = b.pop(Clock::time_point::max());
      for (auto& j : p.jobs) left.emplace_back(model, std::move(j));
      for (auto& j : p.dropped) left.emplace_back(model, std::move(j));
      while (!b.empty()) {
        auto more = b.pop(Clock::time_point::max());
        for (auto& j : more.jobs) left.emplace_back(model, std::move(j));
      }
    }
  }
  for (auto& [model, j] : left) {
    if (dequeued_) dequeued_(model, 1);
    j->complete(Status::unavailable("the server stopped before this request ran"));
  }
  idle_.notify_all();
}

void Executor::submit(const std::string& model, int max_batch, Clock::duration delay, JobPtr job) {
  {
    std::lock_guard lock(mu_);
    auto it = batchers_.try_emplace(model, max_batch, delay).first;
    it->second.set_max_batch(max_batch);
    it->second.push(std::move(job), Clock::now());
  }
  wake_.notify_all();
}

size_t Executor::queued(const std::string& model) const {
  std::lock_guard lock(mu_);
  auto it = batchers_.find(model);
  return it == batchers_.end() ? 0 : it->second.size();
}

bool Executor::running() const {
  std::lock_guard lock(mu_);
  return running_;
}

void Executor::wait_idle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] {
    if (running_) return false;
    for (const auto& [m, b] : batchers_) {
      if (!b.empty()) return false;
    }
    return true;
  });
}

void Executor::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const auto now = Clock::now();
    // Pick the ready batcher whose oldest job has waited longest; note the next wake-up.
    Batcher* pick = nullptr;
    std::string pick_model;
    std::optional<Clock::time_point> next;
    std::vector<std::pair<std::string, JobPtr>> dropped;
    for (auto& [model, b] : batchers_) {
      if (b.empty()) continue;
      auto at = b.ready_at();
      if (*at <= now) {
        if (!pick || *b.oldest() < *pick->oldest()) {
          pick = &b;
          pick_model = model;
        }
      } else if (!next || *at < *next) {
        next = at;
      }
      // Earliest deadline among waiting jobs also bounds the sleep (to drop them on time).
    }
    if (!pick) {
      if (next) wake_.wait_until(lock, *next);
      else {
        idle_.notify_all();
        wake_.wait(lock);
      }
      continue;
    }
    Batcher::Popped p = pick->pop(now);
    running_ = !p.jobs.empty();
    // Counted before the lock drops, so that whoever sees the queue empty (drain(), tests)
    // also sees the drops.
    for (auto& j : p.dropped) (j->cancelled() ? dropped_cancelled_ : dropped_expired_)++;
    lock.unlock();
    const int left = static_cast<int>(p.jobs.size() + p.dropped.size());
    if (dequeued_ && left > 0) dequeued_(pick_model, left);
    for (auto& j : p.dropped) {
      j->complete(j->cancelled() ? Status::cancelled("the request was cancelled")
                                 : Status::deadline_exceeded("the request timed out while queued"));
    }
    const auto started = Clock::now();
    const size_t ran = p.jobs.size();
    if (!p.jobs.empty()) {
      try {
        run_batch_(pick_model, p.jobs);
      } catch (const std::exception& e) {
        log::error("{}: batch of {} for {} threw: {}", name_, p.jobs.size(), pick_model, e.what());
        for (auto& j : p.jobs) j->complete(Status::internal("the model failed: {}", e.what()));
      }
    }
    p.jobs.clear();  // drop job references (and with them any leases) outside the lock
    const auto finished = Clock::now();
    lock.lock();
    if (ran) pick->on_batch_done(ran, started, finished);  // map nodes are stable
    running_ = false;
    idle_.notify_all();
  }
}

}  // namespace seer
