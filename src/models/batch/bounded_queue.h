// A blocking FIFO with a capacity, closed by its producer when done: the hand-off between the
// pipeline's inference and writer stages (back-pressure: push waits while the queue is full).
//
//   BoundedQueue<Batch> q(2);
//   producer: q.push(std::move(b)); ... q.close();
//   consumer: while (auto b = q.pop()) write(*b);
//
// Thread-safe; any number of producers and consumers.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace seer {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  void push(T item) {
    std::unique_lock lk(mu_);
    room_.wait(lk, [&] { return q_.size() < capacity_; });
    q_.push_back(std::move(item));
    has_.notify_one();
  }
  // The next item; nullopt once the queue is closed and drained.
  std::optional<T> pop() {
    std::unique_lock lk(mu_);
    has_.wait(lk, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return std::nullopt;
    T item = std::move(q_.front());
    q_.pop_front();
    room_.notify_one();
    return item;
  }
  void close() {
    std::lock_guard lk(mu_);
    closed_ = true;
    has_.notify_all();
  }

 private:
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable has_, room_;
  std::deque<T> q_;
  bool closed_ = false;
};

}  // namespace seer
