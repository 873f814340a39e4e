// Execution: one compute thread (per device) that takes ready batches from the models' Batchers
// and runs them, oldest waiting job first. No lock is held while a batch runs.
//
//   Executor ex("cpu:0", [](const std::string& model, std::vector<JobPtr>& jobs) { run(jobs); },
//               [&](const std::string& model, int n) { admission.release(model, n); });
//   ex.submit("wd14", /*max_batch=*/8, std::chrono::milliseconds(2), job);
//   ex.wait_idle();   // every submitted job has run or been dropped
//
// `run_batch` must complete every job it is given. Jobs dropped while queued (cancelled, past
// their deadline) are completed here with Cancelled / DeadlineExceeded. `dequeued(model, n)` is
// called whenever n jobs leave a model's queue (for admission). Thread-safe; the destructor
// stops after the running batch and completes what still waits with Unavailable.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/scheduler/batcher.h"

namespace seer {

class Executor {
 public:
  using RunBatch = std::function<void(const std::string& model, std::vector<JobPtr>& jobs)>;
  using Dequeued = std::function<void(const std::string& model, int n)>;

  Executor(std::string name, RunBatch run_batch, Dequeued dequeued = nullptr);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  void submit(const std::string& model, int max_batch, Batcher::Clock::duration delay, JobPtr job);
  size_t queued(const std::string& model) const;
  bool running() const;
  // Blocks until no job waits and no batch runs.
  void wait_idle();
  void stop();
  // Jobs dropped from a queue without running: cancelled (client gone) / past their deadline.
  uint64_t dropped_cancelled() const { return dropped_cancelled_.load(); }
  uint64_t dropped_expired() const { return dropped_expired_.load(); }

 private:
  void loop();

  std::string name_;
  RunBatch run_batch_;
  Dequeued dequeued_;
  mutable std::mutex mu_;
  std::condition_variable wake_, idle_;
  std::map<std::string, Batcher> batchers_;
  bool running_ = false;
  bool stopping_ = false;
  std::atomic<uint64_t> dropped_cancelled_{0}, dropped_expired_{0};
  std::thread thread_;
};

}  // namespace seer
