// The scheduler: admission, per-model dynamic batching and one compute thread per device.
//
//   Scheduler scheduler({.max_queue = 256, .batch_delay = std::chrono::milliseconds(2)});
//   SEER_ASSIGN_OR_RETURN(auto model, manager.acquire(id));          // a lease
//   std::vector<Status> ok = scheduler.prepare(model->backend(), requests);  // decoded on the image pool
//   SEER_ASSIGN_OR_RETURN(JobPtr job, scheduler.submit(model, std::move(request)));  // 503 if full
//   StatusOr<InferenceResult> r = job->wait();                        // 504 after the timeout
//
// Batches close at the model's max batch or after `batch_delay`; a batch never mixes models.
// The job keeps the model lease until its batch has run. drain() stops admitting and waits for
// everything queued or running. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "memory/device.h"
#include "runtime/scheduler/admission.h"
#include "runtime/scheduler/executor.h"
#include "runtime/scheduler/image_pool.h"

namespace seer {

struct SchedulerOptions {
  int max_queue = 256;                              // per model
  std::chrono::microseconds batch_delay{2000};
  std::chrono::milliseconds timeout{120000};        // default per-request timeout
  size_t decode_threads = 0;                        // the image pool (0: min(hardware threads, 8))
  size_t max_decodes_queued = 256;
};

struct BatchEvent {
  std::string model;
  int size = 0;
  double run_ms = 0;
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options);
  ~Scheduler();

  // Queues a prepared request for `model` (a lease from the manager). Unavailable when the
  // model's queue is full or the scheduler drains. `timeout` defaults to the options'.
  StatusOr<JobPtr> submit(std::shared_ptr<LoadedModel> model, InferenceRequest request,
                          std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Decodes the requests' images on the bounded image pool (before they are queued, so that
  // tiles, not photos, wait in queues). One Status per request, in order.
  std::vector<Status> prepare(const ModelBackend& backend, std::span<InferenceRequest> requests) {
    return images_.prepare_all(backend, requests);
  }
  // Stops admitting, then waits until every queued or running job has finished.
  void drain();

  // Called on the compute thread after each batch (for metrics). Set before the first submit.
  void set_batch_observer(std::function<void(const BatchEvent&)> observer) { observer_ = std::move(observer); }

  // Admitted and not yet finished, per model (what the queue limit counts).
  std::map<std::string, int> queue_depths() const { return admission_.depths(); }
  // Jobs of `model` waiting in a batcher right now (admitted jobs enter it a moment later).
  size_t waiting(const std::string& model) const;
  int max_queue() const { return admission_.max_queue(); }
  uint64_t rejections() const { return admission_.rejections(); }
  // Jobs dropped from the queues without running (their client went away / their deadline passed).
  uint64_t dropped_cancelled() const;
  uint64_t dropped_expired() const;
  const SchedulerOptions& options() const { return options_; }

 private:
  Executor& executor_for(DeviceId device);
  void run_batch(const std::string& model, std::vector<JobPtr>& jobs);

  SchedulerOptions options_;
  Admission admission_;
  ImagePool images_;
  std::function<void(const BatchEvent&)> observer_;
  mutable std::mutex mu_;
  std::map<DeviceId, std::unique_ptr<Executor>> executors_;
};

}  // namespace seer
