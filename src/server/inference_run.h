// The fan-out every inference route shares: acquire the model (loading it on demand), decode the
// images on the scheduler's image pool, queue one job per request, wait for all of them —
// cancelling what is left when the client closes its connection — and set the inference
// headers (X-Inference-Time, the model for the metrics). Routes only parse and format.
//
//   auto call = parse_tag_call(body, ctx.limits);                    // typed request
//   std::vector<InferenceRequest> reqs = ...;                        // one per image
//   SEER_ASSIGN_OR_RETURN(InferenceRun run, run_inference(ctx, req, res, model, call->common,
//                                                         std::move(reqs)));
//   for (auto& r : run.results) ...                                  // one per request, in order
//
// A model-level failure (unknown, does not fit, shutting down) is the call's Status; a
// per-request failure (bad image, queue full, timeout, client gone) is that request's result.
// Internal to src/server/. Thread-safe (runs on the calling HTTP thread).
#pragma once

#include <httplib.h>

#include <chrono>
#include <string>
#include <vector>

#include "runtime/model_backend.h"
#include "server/api_json.h"
#include "server/server_context.h"

namespace seer {

struct InferenceRun {
  std::string model_id;
  std::vector<StatusOr<InferenceResult>> results;  // one per request, in order
  std::chrono::steady_clock::time_point start;     // after the model was acquired
  double seconds() const;                          // since start
};

StatusOr<InferenceRun> run_inference(ServerContext& ctx, const httplib::Request& req, httplib::Response& res,
                                     const ModelDescriptor& model, const CallCommon& common,
                                     std::vector<InferenceRequest> requests);

// How often a waiting handler checks whether its client is still connected.
inline constexpr std::chrono::milliseconds kClientPollInterval{50};

}  // namespace seer
