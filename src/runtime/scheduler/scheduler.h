// The scheduler: admission, per-model dynamic batching and one compute thread per device.
//
//   Scheduler scheduler({.max_queue = 256, .batch_delay = std::chrono::milliseconds(2)});
//   SEER_ASSIGN_OR_RETURN(auto model, manager.acquire(id));          // a lease
//   SEER_RETURN_IF_ERROR(model->backend().prepare(request));         // decoded before queueing
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

namespace seer {

struct SchedulerOptions {
  int max_queue = 256;                              // per model
  std::chrono::microseconds batch_delay{2000};
  std::chrono::milliseconds timeout{120000};        // default per-request timeout
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
  // Stops admitting, then waits until every queued or running job has finished.
  void drain();

  // Called on the compute thread after each batch (for metrics). Set before the first submit.
  void set_batch_observer(std::function<void(const BatchEvent&)> observer) { observer_ = std::move(observer); }

  std::map<std::string, int> queue_depths() const { return admission_.depths(); }
  int max_queue() const { return admission_.max_queue(); }
  uint64_t rejections() const { return admission_.rejections(); }
  const SchedulerOptions& options() const { return options_; }

 private:
  Executor& executor_for(DeviceId device);
  void run_batch(const std::string& model, std::vector<JobPtr>& jobs);

  SchedulerOptions options_;
  Admission admission_;
  std::function<void(const BatchEvent&)> observer_;
  std::mutex mu_;
  std::map<DeviceId, std::unique_ptr<Executor>> executors_;
};

}  // namespace seer
