#include "runtime/scheduler/batcher.h"

namespace seer {

Batcher::Batcher(int max_batch, Clock::duration delay) : max_batch_(max_batch < 1 ? 1 : max_batch), delay_(delay) {}

void Batcher::push(JobPtr job, Clock::time_point now) { queue_.push_back({std::move(job), now}); }

std::optional<Batcher::Clock::time_point> Batcher::oldest() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.front().arrived;
}

std::optional<Batcher::Clock::time_point> Batcher::ready_at() const {
  if (queue_.empty()) return std::nullopt;
  if (queue_.size() >= static_cast<size_t>(max_batch_)) return queue_.front().arrived;
  return queue_.front().arrived + delay_;
}

Batcher::Popped Batcher::pop(Clock::time_point now) {
  Popped out;
  // Drop the dead first, so that they neither take batch slots nor hold a batch open.
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->job->cancelled() || it->job->expired(now)) {
      out.dropped.push_back(std::move(it->job));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  auto at = ready_at();
  if (!at || *at > now) return out;
  const LoadedModel* model = queue_.front().job->model().get();
  while (!queue_.empty() && out.jobs.size() < static_cast<size_t>(max_batch_) &&
         queue_.front().job->model().get() == model) {
    out.jobs.push_back(std::move(queue_.front().job));
    queue_.pop_front();
  }
  return out;
}

}  // namespace seer
