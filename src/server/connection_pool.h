// The worker threads of the HTTP server: a cpp-httplib TaskQueue that grows with the number of
// open connections instead of making connections wait for a fixed set of threads.
//
//   http.new_task_queue = [] { return new ConnectionPool({.min_threads = 4, .max_threads = 1024}); };
//   // httplib calls new_task_queue once per listen() and deletes the queue when it returns.
//
// Why: cpp-httplib 0.11 runs one task per accepted connection, and that task keeps its thread
// for the whole keep-alive life of the connection (idle waits included). With a fixed pool of
// N threads, connection N+1 sits accepted but unread until another connection closes, which
// with slow inference (a ViT request can wait tens of seconds in the model's queue) means
// seconds to minutes, and clients time out or give up on a socket the server never read.
// This pool starts a thread whenever a connection arrives and no thread is idle, up to
// `max_threads` (beyond that connections queue, as before), and lets threads above
// `min_threads` exit after `idle_exit` without work. A thread costs a stack of virtual memory
// and almost no resident memory while it waits.
//
// Thread-safe (httplib's accept thread enqueues; workers run tasks). shutdown() runs the
// queued tasks to completion, then joins every thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <vector>
#include <mutex>
#include <thread>

#include <httplib.h>

namespace seer {

struct ConnectionPoolOptions {
  size_t min_threads = 4;      // kept even when idle
  size_t max_threads = 1024;   // open connections served at once; more wait in the queue
  std::chrono::milliseconds idle_exit{30000};  // a thread above min_threads idle this long exits
  // Called (under the pool's lock: keep it short, never call back into the pool) whenever a
  // thread starts or exits, with the threads alive and the most alive at once so far.
  std::function<void(size_t alive, size_t peak)> on_threads;
};

class ConnectionPool : public httplib::TaskQueue {
 public:
  explicit ConnectionPool(ConnectionPoolOptions options);
  ~ConnectionPool() override;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

  // For tests and /v1/status: threads alive now, and the most alive at once so far.
  size_t threads() const;
  size_t peak_threads() const;

 private:
  void start_thread_locked();
  void worker(std::list<std::thread>::iterator self);

  const ConnectionPoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::list<std::thread> threads_;             // alive or exited but not yet joined
  std::vector<std::thread> finished_;          // exited threads, joined by the next enqueue/shutdown
  size_t alive_ = 0, idle_ = 0, peak_ = 0;
  bool shutdown_ = false;
};

}  // namespace seer
