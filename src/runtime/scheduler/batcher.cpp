#include "runtime/scheduler/batcher.h"

#include <algorithm>

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
  const Clock::time_point at = queue_.front().arrived + delay_;
  if (queue_.size() < last_size_) return std::max(at, settle_until_);
  return at;
}

void Batcher::on_batch_done(size_t size, Clock::time_point started, Clock::time_point finished) {
  constexpr auto kMaxSettle = std::chrono::milliseconds(250);
  Clock::duration settle = (finished - started) / 50;  // 2 % of the run
  settle = std::clamp<Clock::duration>(settle, delay_, std::max<Clock::duration>(delay_, kMaxSettle));
  last_size_ = size;
  settle_until_ = finished + settle;
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
