#include "runtime/scheduler/scheduler.h"

#include "runtime/model_manager.h"

namespace seer {

Scheduler::Scheduler(SchedulerOptions options)
    : options_(options), admission_(options.max_queue), images_(options.decode_threads, options.max_decodes_queued) {}

Scheduler::~Scheduler() { drain(); }

Executor& Scheduler::executor_for(DeviceId device) {
  std::lock_guard lock(mu_);
  auto& ex = executors_[device];
  if (!ex) {
    ex = std::make_unique<Executor>(
        "compute " + device.to_string(),
        [this](const std::string& model, std::vector<JobPtr>& jobs) { run_batch(model, jobs); },
        [this](const std::string& model, int n) { admission_.release(model, n); });
  }
  return *ex;
}

StatusOr<JobPtr> Scheduler::submit(std::shared_ptr<LoadedModel> model, InferenceRequest request,
                                   std::optional<std::chrono::milliseconds> timeout) {
  if (!model) return Status::internal("submit without a model");
  const std::string id = model->id();
  SEER_RETURN_IF_ERROR(admission_.try_admit(id));
  const auto deadline = Job::Clock::now() + timeout.value_or(options_.timeout);
  const int max_batch = model->max_batch();
  const DeviceId device = model->device();
  auto job = std::make_shared<Job>(std::move(request), std::move(model), deadline);
  executor_for(device).submit(id, max_batch, options_.batch_delay, job);
  return job;
}

void Scheduler::run_batch(const std::string& model_id, std::vector<JobPtr>& jobs) {
  std::shared_ptr<LoadedModel> model = jobs.front()->model();
  std::vector<InferenceRequest*> requests;
  requests.reserve(jobs.size());
  for (auto& j : jobs) requests.push_back(&j->request());
  const auto t0 = Job::Clock::now();
  std::vector<StatusOr<InferenceResult>> results = model->backend().run(requests);
  const double ms = std::chrono::duration<double, std::milli>(Job::Clock::now() - t0).count();
  const int n = static_cast<int>(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (i < results.size()) {
      jobs[i]->complete(std::move(results[i]), n, ms);
    } else {
      jobs[i]->complete(Status::internal("model '{}' returned {} results for a batch of {}", model_id,
                                         results.size(), jobs.size()),
                        n, ms);
    }
  }
  model.reset();
  if (observer_) observer_({model_id, n, ms});
}

size_t Scheduler::waiting(const std::string& model) const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [d, ex] : executors_) n += ex->queued(model);
  return n;
}

uint64_t Scheduler::dropped_cancelled() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& [d, ex] : executors_) n += ex->dropped_cancelled();
  return n;
}

uint64_t Scheduler::dropped_expired() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& [d, ex] : executors_) n += ex->dropped_expired();
  return n;
}

void Scheduler::drain() {
  admission_.start_draining();
  std::vector<Executor*> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [d, ex] : executors_) all.push_back(ex.get());
  }
  for (Executor* ex : all) ex->wait_idle();
}

}  // namespace seer
