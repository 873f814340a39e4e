// ConnectionPool: the HTTP server's connection threads grow with the connections that block in
// them (one task per connection, held while the connection is open), up to max_threads; idle
// threads above min_threads exit; shutdown runs what is queued and joins every thread.
#include "server/connection_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace seer {
namespace {

using namespace std::chrono_literals;

// A gate that tasks block on until opened (a stand-in for a connection that stays open).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int waiting = 0;
  void wait() {
    std::unique_lock lock(mu);
    waiting++;
    cv.notify_all();
    cv.wait(lock, [this] { return open; });
  }
  void wait_for_waiting(int n) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return waiting >= n; });
  }
  void release() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
};

TEST(ConnectionPool, GrowsToServeEveryBlockingTaskAtOnce) {
  Gate gate;
  std::atomic<size_t> seen_alive{0}, seen_peak{0};
  ConnectionPool pool({.min_threads = 2, .max_threads = 256, .idle_exit = 50ms,
                       .on_threads = [&](size_t alive, size_t peak) {
                         seen_alive = alive;
                         seen_peak = peak;
                       }});
  constexpr int kTasks = 100;  // more than httplib's old fixed pools
  std::atomic<int> done{0};
  for (int i = 0; i < kTasks; ++i) {
    pool.enqueue([&] {
      gate.wait();
      done++;
    });
  }
  // Every task runs at once: with a fixed pool of fewer threads this would wait forever.
  gate.wait_for_waiting(kTasks);
  EXPECT_GE(pool.threads(), static_cast<size_t>(kTasks));
  EXPECT_EQ(seen_peak.load(), pool.peak_threads());
  gate.release();
  // Threads above min_threads give themselves back once idle.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (pool.threads() > 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(pool.threads(), 2u);
  EXPECT_EQ(seen_alive.load(), 2u);
  EXPECT_EQ(done.load(), kTasks);
  EXPECT_GE(pool.peak_threads(), static_cast<size_t>(kTasks));
}

TEST(ConnectionPool, BeyondMaxThreadsTasksQueueAndShutdownRunsThem) {
  Gate gate;
  std::atomic<int> done{0};
  {
    ConnectionPool pool({.min_threads = 0, .max_threads = 3, .idle_exit = 10s, .on_threads = {}});
    for (int i = 0; i < 10; ++i) {
      pool.enqueue([&] {
        gate.wait();
        done++;
      });
    }
    gate.wait_for_waiting(3);
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(pool.threads(), 3u);  // capped
    EXPECT_EQ(done.load(), 0);
    gate.release();
    pool.shutdown();  // the 7 queued tasks run before the threads are joined
    EXPECT_EQ(done.load(), 10);
    EXPECT_EQ(pool.threads(), 0u);
  }  // the destructor after shutdown() is a no-op
  EXPECT_EQ(done.load(), 10);
}

}  // namespace
}  // namespace seer
