#include "server/inference_run.h"

#include "server/client_connection.h"
#include "server/http_util.h"

namespace seer {

using Clock = std::chrono::steady_clock;

double InferenceRun::seconds() const { return std::chrono::duration<double>(Clock::now() - start).count(); }

StatusOr<InferenceRun> run_inference(ServerContext& ctx, const httplib::Request& req, httplib::Response& res,
                                     const ModelDescriptor& model, const CallCommon& common,
                                     std::vector<InferenceRequest> requests) {
  InferenceRun run;
  run.model_id = model.id;
  res.set_header(kModelHeader, model.id);
  SEER_ASSIGN_OR_RETURN(std::shared_ptr<LoadedModel> lease, ctx.manager.acquire(model.id));
  run.start = Clock::now();
  std::optional<std::chrono::milliseconds> timeout;
  if (common.timeout_s) timeout = std::chrono::milliseconds(static_cast<int64_t>(*common.timeout_s * 1000));

  // Decode on the bounded image pool (not on this thread), then queue what decoded.
  const std::vector<Status> prepared = ctx.scheduler.prepare(lease->backend(), requests);
  std::vector<StatusOr<JobPtr>> jobs;
  jobs.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    if (!prepared[i].ok()) jobs.emplace_back(prepared[i]);
    else jobs.push_back(ctx.scheduler.submit(lease, std::move(requests[i]), timeout));
  }
  lease.reset();  // the jobs hold the model now; an unload need not wait for this thread

  // Wait; once the client is gone, cancel everything still queued (it will not run).
  ClientConnection conn(req);
  bool gone = false;
  run.results.reserve(jobs.size());
  for (auto& j : jobs) {
    if (!j.ok()) {
      run.results.emplace_back(j.status());
      continue;
    }
    if (gone) {
      (*j)->cancel();
      run.results.emplace_back(Status::cancelled("the client closed the connection"));
      continue;
    }
    run.results.push_back((*j)->wait([&conn] { return conn.closed(); }, kClientPollInterval));
    if (!run.results.back().ok() && run.results.back().status().code() == StatusCode::kCancelled) gone = true;
  }
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - run.start).count();
  res.set_header("X-Inference-Time", fmt::format("{:.1f}", ms));
  return run;
}

}  // namespace seer
