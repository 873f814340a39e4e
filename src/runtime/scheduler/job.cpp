#include "runtime/scheduler/job.h"

#include "runtime/model_manager.h"

namespace seer {

Job::Job(InferenceRequest request, std::shared_ptr<LoadedModel> model, Clock::time_point deadline)
    : request_(std::move(request)), model_(std::move(model)), enqueued_(Clock::now()), deadline_(deadline) {}

void Job::complete(StatusOr<InferenceResult> result, int batch_size, double run_ms) {
  std::shared_ptr<LoadedModel> lease;
  {
    std::lock_guard lock(mu_);
    if (result_) return;
    result_ = std::move(result);
    batch_size_ = batch_size;
    run_ms_ = run_ms;
    queue_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - enqueued_).count() - run_ms;
    lease = std::move(model_);
  }
  cv_.notify_all();
  lease.reset();  // outside our lock: releasing a lease takes the manager's lock
}

StatusOr<InferenceResult> Job::wait() {
  std::unique_lock lock(mu_);
  if (!cv_.wait_until(lock, deadline_, [&] { return result_.has_value(); })) {
    cancelled_ = true;
    return Status::deadline_exceeded("no result within the request's timeout");
  }
  return std::move(*result_);
}

bool Job::done() const {
  std::lock_guard lock(mu_);
  return result_.has_value();
}

}  // namespace seer
