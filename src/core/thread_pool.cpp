#include "core/thread_pool.h"

namespace seer {

ThreadPool::ThreadPool(size_t threads, size_t max_queued) : max_queued_(max_queued ? max_queued : 1) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  has_work_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::submit(std::function<void()> task) {
  std::unique_lock lock(mu_);
  has_room_.wait(lock, [&] { return queue_.size() < max_queued_; });
  queue_.push_back(std::move(task));
  lock.unlock();
  has_work_.notify_one();
}

bool ThreadPool::try_submit(std::function<void()> task) {
  std::unique_lock lock(mu_);
  if (queue_.size() >= max_queued_) return false;
  queue_.push_back(std::move(task));
  lock.unlock();
  has_work_.notify_one();
  return true;
}

void ThreadPool::wait_idle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return queue_.empty() && running_ == 0; });
}

void ThreadPool::worker_loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      has_work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    has_room_.notify_one();
    task();
    {
      std::lock_guard lock(mu_);
      --running_;
      if (queue_.empty() && running_ == 0) idle_.notify_all();
    }
  }
}

}  // namespace seer
