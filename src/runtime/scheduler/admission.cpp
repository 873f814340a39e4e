#include "runtime/scheduler/admission.h"

namespace seer {

Admission::Admission(int max_queue) : max_queue_(max_queue < 1 ? 1 : max_queue) {}

Status Admission::try_admit(const std::string& model) {
  if (draining_) {
    rejections_++;
    return Status::unavailable("the server is shutting down");
  }
  std::lock_guard lock(mu_);
  int& d = depth_[model];
  if (d >= max_queue_) {
    rejections_++;
    return Status::unavailable("the queue of model '{}' is full ({} requests waiting); retry later", model,
                               max_queue_);
  }
  d++;
  return {};
}

void Admission::release(const std::string& model, int n) {
  std::lock_guard lock(mu_);
  auto it = depth_.find(model);
  if (it == depth_.end()) return;
  it->second = it->second > n ? it->second - n : 0;
}

int Admission::depth(const std::string& model) const {
  std::lock_guard lock(mu_);
  auto it = depth_.find(model);
  return it == depth_.end() ? 0 : it->second;
}

std::map<std::string, int> Admission::depths() const {
  std::lock_guard lock(mu_);
  return depth_;
}

}  // namespace seer
