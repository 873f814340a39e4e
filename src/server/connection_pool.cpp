#include "server/connection_pool.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "core/log.h"

namespace seer {

ConnectionPool::ConnectionPool(ConnectionPoolOptions options) : options_(options) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < options_.min_threads; ++i) start_thread_locked();
}

ConnectionPool::~ConnectionPool() { shutdown(); }

void ConnectionPool::start_thread_locked() {
  threads_.emplace_back();
  auto self = std::prev(threads_.end());
  try {
    // The new thread first takes mu_, which the caller holds, so *self is set before it runs.
    *self = std::thread(&ConnectionPool::worker, this, self);
  } catch (const std::system_error& e) {
    threads_.erase(self);
    log::warn("HTTP: cannot start another connection thread ({}); {} serve the queue", e.what(), alive_);
    return;
  }
  alive_++;
  peak_ = std::max(peak_, alive_);
  if (options_.on_threads) options_.on_threads(alive_, peak_);
}

void ConnectionPool::enqueue(std::function<void()> fn) {
  std::vector<std::thread> done;
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(fn));
    // Idle threads take queued jobs one each; start one more only when none is left for this one.
    if (idle_ < jobs_.size() && alive_ < options_.max_threads) start_thread_locked();
    done.swap(finished_);
  }
  cv_.notify_one();
  for (auto& t : done) t.join();  // threads that already returned from worker(): a quick join
}

void ConnectionPool::worker(std::list<std::thread>::iterator self) {
  std::unique_lock lock(mu_);
  for (;;) {
    idle_++;
    const bool woken = cv_.wait_for(lock, options_.idle_exit, [this] { return shutdown_ || !jobs_.empty(); });
    idle_--;
    if (!jobs_.empty()) {
      std::function<void()> fn = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      fn();  // one connection, for as long as the client keeps it open
      lock.lock();
      continue;
    }
    if (shutdown_) break;
    if (!woken && alive_ > options_.min_threads) break;  // idle for idle_exit: give the thread back
  }
  alive_--;
  if (options_.on_threads) options_.on_threads(alive_, peak_);
  // A thread cannot join itself: it hands its handle to whoever enqueues or shuts down next.
  finished_.push_back(std::move(*self));
  threads_.erase(self);
  cv_.notify_all();  // shutdown() waits for alive_ == 0 on the same variable
}

void ConnectionPool::shutdown() {
  std::vector<std::thread> done;
  {
    std::unique_lock lock(mu_);
    shutdown_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return alive_ == 0; });
    done.swap(finished_);
  }
  for (auto& t : done) t.join();
}

size_t ConnectionPool::threads() const {
  std::lock_guard lock(mu_);
  return alive_;
}

size_t ConnectionPool::peak_threads() const {
  std::lock_guard lock(mu_);
  return peak_;
}

}  // namespace seer
