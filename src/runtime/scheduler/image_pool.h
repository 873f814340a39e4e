// The image pool: decodes requests' images (ModelBackend::prepare) on a fixed set of threads,
// so that the number of photos being decoded at once — and the memory they take — is bounded
// no matter how many HTTP threads accept uploads (DESIGN.md, threads: "An image pool decodes").
//
//   ImagePool pool(/*threads=*/4, /*max_queued=*/256);
//   std::vector<Status> st = pool.prepare_all(model->backend(), requests);  // blocks until done
//   // st[i] is requests[i]'s own outcome (a bad image fails only its request)
//
// The caller keeps the backend alive (it holds the model's lease) until prepare_all returns.
// Thread-safe; submitting blocks while `max_queued` decodes wait (back-pressure).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "runtime/inference_types.h"
#include "runtime/model_backend.h"

namespace seer {

class ImagePool {
 public:
  // threads == 0: min(hardware threads, 8).
  explicit ImagePool(size_t threads = 0, size_t max_queued = 256);

  // Prepares every request on the pool; one Status per request, in order.
  std::vector<Status> prepare_all(const ModelBackend& backend, std::span<InferenceRequest> requests);
  size_t threads() const { return pool_.size(); }

 private:
  ThreadPool pool_;
};

}  // namespace seer
