// Admission control: a bound on how many jobs may wait per model, so that overload turns into
// fast 503 + Retry-After answers instead of unbounded queues and memory (DESIGN.md, threads).
//
//   Admission admission(/*max_queue=*/256);
//   SEER_RETURN_IF_ERROR(admission.try_admit("wd14"));   // Unavailable when 256 already wait
//   ... the job leaves the queue (its batch starts, or it is dropped) ...
//   admission.release("wd14");
//   admission.start_draining();                          // shutting down: admit nothing more
//
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "core/status.h"

namespace seer {

class Admission {
 public:
  explicit Admission(int max_queue);

  // Counts one more waiting job for `model`, or Unavailable (queue full, or draining).
  Status try_admit(const std::string& model);
  void release(const std::string& model, int n = 1);
  int depth(const std::string& model) const;
  std::map<std::string, int> depths() const;
  int max_queue() const { return max_queue_; }
  uint64_t rejections() const { return rejections_.load(); }
  void start_draining() { draining_ = true; }
  bool draining() const { return draining_.load(); }

 private:
  const int max_queue_;
  mutable std::mutex mu_;
  std::map<std::string, int> depth_;
  std::atomic<uint64_t> rejections_{0};
  std::atomic<bool> draining_{false};
};

}  // namespace seer
