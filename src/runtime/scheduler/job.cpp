#include "runtime/scheduler/job.h"

#include <utility>

#include "runtime/model_manager.h"

namespace seer {

Job::Job(InferenceRequest request, std::shared_ptr<LoadedModel> model, Clock::time_point deadline)
    : request_(std::move(request)), model_(std::move(model)), enqueued_(Clock::now()), deadline_(deadline) {}

void Job::complete(StatusOr<InferenceResult> result, int batch_size, double run_ms) {
  std::shared_ptr<LoadedModel> lease;
  InferenceRequest input;  // the decoded tiles (ledger tag decode): freed now, not with the last owner
  {
    std::lock_guard lock(mu_);
    if (result_) return;
    result_ = std::move(result);
    batch_size_ = batch_size;
    run_ms_ = run_ms;
    queue_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - enqueued_).count() - run_ms;
    lease = std::move(model_);
    input = std::exchange(request_, InferenceRequest{});
  }
  cv_.notify_all();
  lease.reset();  // outside our lock: releasing a lease takes the manager's lock
  input = InferenceRequest{};
}

StatusOr<InferenceResult> Job::wait() {
  std::unique_lock lock(mu_);
  if (!cv_.wait_until(lock, deadline_, [&] { return result_.has_value(); })) {
    cancelled_ = true;
    return Status::deadline_exceeded("no result within the request's timeout");
  }
  return std::move(*result_);
}

StatusOr<InferenceResult> Job::wait(const std::function<bool()>& abandoned, std::chrono::milliseconds poll) {
  std::unique_lock lock(mu_);
  while (!result_) {
    const auto now = Clock::now();
    if (now >= deadline_) {
      cancelled_ = true;
      return Status::deadline_exceeded("no result within the request's timeout");
    }
    cv_.wait_until(lock, std::min(deadline_, now + poll), [&] { return result_.has_value(); });
    if (result_) break;
    lock.unlock();
    const bool gone = abandoned && abandoned();  // outside our lock: it may do I/O
    lock.lock();
    if (gone && !result_) {
      cancelled_ = true;
      return Status::cancelled("the client closed the connection");
    }
  }
  return std::move(*result_);
}

bool Job::done() const {
  std::lock_guard lock(mu_);
  return result_.has_value();
}

}  // namespace seer
