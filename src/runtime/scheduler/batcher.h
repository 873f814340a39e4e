// Dynamic batching for one model: jobs wait here until a batch closes, which happens when
// `max_batch` jobs are waiting or when the oldest has waited `delay`, whichever comes first.
// Regrouping: when the last batch was larger than what waits now, the clients it answered are
// likely on their way back, so the batch also stays open until `settle` after the last batch
// finished — settle = 2 % of that batch's run time, between `delay` and 250 ms. Without it, 8
// clients of a 5 s model that once split 5 + 3 stay split forever (each group starts while the
// other's answers travel back); with it they merge into batches of 8 for ≤ 2 % added latency.
// Fast models (run time × 2 % below `delay`) see no change.
//
//   Batcher b(/*max_batch=*/8, std::chrono::milliseconds(2));
//   b.push(job, now);
//   if (auto at = b.ready_at(); at && *at <= now) {
//     Batcher::Popped p = b.pop(now);   // p.jobs: 1..8 jobs to run; p.dropped: cancelled/expired
//   }
//
// A batch holds jobs of one LoadedModel only (a reload between jobs cannot mix instances).
// Pure logic with explicit times: no threads, no clock reads. Not thread-safe (the Executor
// guards it with its lock).
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <vector>

#include "runtime/scheduler/job.h"

namespace seer {

class Batcher {
 public:
  using Clock = std::chrono::steady_clock;

  Batcher(int max_batch, Clock::duration delay);

  void set_max_batch(int max_batch) { max_batch_ = max_batch < 1 ? 1 : max_batch; }
  int max_batch() const { return max_batch_; }
  Clock::duration delay() const { return delay_; }

  void push(JobPtr job, Clock::time_point now);
  size_t size() const { return queue_.size(); }
  bool empty() const { return queue_.empty(); }
  // When the next batch may run: the oldest job's arrival + delay, or that job's arrival when
  // max_batch jobs already wait. nullopt when empty.
  std::optional<Clock::time_point> ready_at() const;
  // The arrival time of the oldest waiting job (for fairness between models).
  std::optional<Clock::time_point> oldest() const;

  struct Popped {
    std::vector<JobPtr> jobs;     // to run, in arrival order, at most max_batch
    std::vector<JobPtr> dropped;  // cancelled or past their deadline: complete them, don't run
  };
  // Takes the next batch if ready at `now` (else returns nothing).
  Popped pop(Clock::time_point now);
  // A popped batch of `size` jobs ran from `started` to `finished` (for regrouping).
  void on_batch_done(size_t size, Clock::time_point started, Clock::time_point finished);

 private:
  struct Waiting {
    JobPtr job;
    Clock::time_point arrived;
  };
  int max_batch_;
  Clock::duration delay_;
  std::deque<Waiting> queue_;
  size_t last_size_ = 0;
  Clock::time_point settle_until_{};  // last batch's end + settle
};

}  // namespace seer
