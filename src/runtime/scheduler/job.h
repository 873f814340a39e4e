// One inference request on its way through the scheduler, and how its caller waits for it.
//
//   auto job = std::make_shared<Job>(std::move(request), model_lease, deadline);
//   scheduler.submit(job);                     // or Unavailable when the queue is full
//   StatusOr<InferenceResult> r = job->wait(); // until done or the deadline
//   job->cancel();                             // e.g. the client went away
//   r = job->wait([&] { return client_gone(); }, std::chrono::milliseconds(50));  // cancels itself
//
// Ownership: the scheduler owns the job while queued or running (shared with the waiting
// caller); the job holds the model lease and its request (the decoded images) until its batch
// has run, then drops both, so that an unload or keep-alive expiry need not wait for slow callers
// and the ledger shows no decode bytes for answered requests, whoever drops the job last.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "core/status.h"
#include "runtime/inference_types.h"

namespace seer {

class LoadedModel;

class Job {
 public:
  using Clock = std::chrono::steady_clock;

  Job(InferenceRequest request, std::shared_ptr<LoadedModel> model, Clock::time_point deadline);

  InferenceRequest& request() { return request_; }
  const std::shared_ptr<LoadedModel>& model() const { return model_; }
  Clock::time_point enqueued() const { return enqueued_; }
  Clock::time_point deadline() const { return deadline_; }
  bool cancelled() const { return cancelled_.load(); }
  bool expired(Clock::time_point now) const { return now >= deadline_; }

  // Marks the job cancelled: it is dropped when its batch forms (or ignored if already run).
  void cancel() { cancelled_ = true; }
  // Sets the result (first call wins), drops the model lease and the request, and wakes the
  // waiter. request() is empty afterwards.
  void complete(StatusOr<InferenceResult> result, int batch_size = 0, double run_ms = 0);
  // Waits for the result until the deadline; DeadlineExceeded (and the job cancelled) after.
  StatusOr<InferenceResult> wait();
  // As wait(), but asks `abandoned` every `poll` while waiting (e.g. "did the client close the
  // connection?"); when it says yes the job is cancelled (a queued job is then dropped, never
  // run) and Cancelled is returned.
  StatusOr<InferenceResult> wait(const std::function<bool()>& abandoned, std::chrono::milliseconds poll);
  bool done() const;

  // Filled at completion: for metrics and headers.
  int batch_size() const { return batch_size_; }
  double run_ms() const { return run_ms_; }
  double queue_ms() const { return queue_ms_; }

 private:
  InferenceRequest request_;
  std::shared_ptr<LoadedModel> model_;
  Clock::time_point enqueued_;
  Clock::time_point deadline_;
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<StatusOr<InferenceResult>> result_;
  int batch_size_ = 0;
  double run_ms_ = 0, queue_ms_ = 0;
};

using JobPtr = std::shared_ptr<Job>;

}  // namespace seer
