// A fixed pool of worker threads with a bounded task queue (back-pressure: submit blocks while
// the queue is full, try_submit refuses). Used for pipeline stages such as image decode; the
// engine's intra-op parallelism uses OpenMP (as oneDNN does), not this pool.
//
//   ThreadPool pool(4, /*max_queued=*/64);
//   pool.submit([&] { decode(path); });   // blocks while 64 tasks wait
//   pool.wait_idle();                       // all submitted tasks finished
//
// Thread-safe. The destructor finishes queued tasks, then joins.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace seer {

class ThreadPool {
 public:
  // threads == 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(size_t threads, size_t max_queued = 1024);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void submit(std::function<void()> task);
  bool try_submit(std::function<void()> task);  // false when the queue is full
  void wait_idle();
  size_t size() const { return workers_.size(); }

 private:
  void worker_loop();

  std::mutex mu_;
  std::condition_variable has_work_, has_room_, idle_;
  std::deque<std::function<void()>> queue_;
  size_t max_queued_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace seer
