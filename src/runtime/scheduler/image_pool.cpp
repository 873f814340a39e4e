#include "runtime/scheduler/image_pool.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace seer {

namespace {
size_t default_threads(size_t threads) {
  if (threads > 0) return threads;
  return std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
}
}  // namespace

ImagePool::ImagePool(size_t threads, size_t max_queued) : pool_(default_threads(threads), max_queued) {}

std::vector<Status> ImagePool::prepare_all(const ModelBackend& backend, std::span<InferenceRequest> requests) {
  std::vector<Status> out(requests.size());
  // A latch on the caller's stack: every task finishes before we return, so the references stay valid.
  std::mutex mu;
  std::condition_variable cv;
  size_t left = requests.size();
  for (size_t i = 0; i < requests.size(); ++i) {
    pool_.submit([&, i] {
      Status s;
      try {
        s = backend.prepare(requests[i]);
      } catch (const std::exception& e) {  // a decoder's exception must not kill a pool thread
        s = Status::internal("image decode threw: {}", e.what());
      }
      std::lock_guard lock(mu);
      out[i] = std::move(s);
      if (--left == 0) cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return left == 0; });
  return out;
}

}  // namespace seer
