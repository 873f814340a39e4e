#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "runtime/model_manager.h"
#include "runtime/scheduler/scheduler.h"
#include "runtime/testing/fake_backend.h"
#include "runtime_test_util.h"

namespace seer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

JobPtr job(std::string text = "x", Clock::time_point deadline = Clock::now() + std::chrono::hours(1),
           std::shared_ptr<LoadedModel> model = nullptr) {
  TagRequest t;
  t.image.encoded = std::move(text);
  return std::make_shared<Job>(InferenceRequest(std::move(t)), std::move(model), deadline);
}

TEST(RuntimeBatcher, ClosesAtMaxBatchOrAfterTheDelay) {
  Batcher b(4, milliseconds(10));
  const auto t0 = Clock::time_point() + std::chrono::hours(1);
  for (int i = 0; i < 10; ++i) b.push(job(std::to_string(i)), t0);
  EXPECT_EQ(*b.ready_at(), t0);  // full: ready now
  auto p1 = b.pop(t0);
  ASSERT_EQ(p1.jobs.size(), 4u);
  EXPECT_EQ(std::get<TagRequest>(p1.jobs[0]->request()).image.encoded, "0");
  EXPECT_EQ(b.pop(t0).jobs.size(), 4u);
  // Two left: not ready until the delay has passed since the oldest arrived.
  EXPECT_EQ(*b.ready_at(), t0 + milliseconds(10));
  EXPECT_TRUE(b.pop(t0 + milliseconds(9)).jobs.empty());
  auto p3 = b.pop(t0 + milliseconds(10));
  ASSERT_EQ(p3.jobs.size(), 2u);
  EXPECT_EQ(std::get<TagRequest>(p3.jobs[1]->request()).image.encoded, "9");
  EXPECT_TRUE(b.empty());
  EXPECT_FALSE(b.ready_at().has_value());
}

TEST(RuntimeBatcher, DropsCancelledAndExpiredJobsWithoutRunningThem) {
  Batcher b(8, milliseconds(0));
  const auto t0 = Clock::now();
  auto a = job("a"), c = job("c"), e = job("e", t0 + milliseconds(5));
  c->cancel();
  b.push(a, t0);
  b.push(c, t0);
  b.push(e, t0);
  auto p = b.pop(t0 + milliseconds(6));
  ASSERT_EQ(p.jobs.size(), 1u);
  EXPECT_EQ(p.jobs[0], a);
  ASSERT_EQ(p.dropped.size(), 2u);
}

TEST(RuntimeAdmission, RejectsWhenFullAndWhileDraining) {
  Admission ad(2);
  EXPECT_TRUE(ad.try_admit("m").ok());
  EXPECT_TRUE(ad.try_admit("m").ok());
  Status s = ad.try_admit("m");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(http_status(s.code()), 503);
  EXPECT_TRUE(ad.try_admit("other").ok());  // per model
  ad.release("m");
  EXPECT_TRUE(ad.try_admit("m").ok());
  EXPECT_EQ(ad.rejections(), 1u);
  ad.start_draining();
  EXPECT_EQ(ad.try_admit("other").code(), StatusCode::kUnavailable);
}

TEST(RuntimeExecutor, FormsBatchesUpToMaxAndWaitsTheDelayForTheRest) {
  std::mutex mu;
  std::vector<int> sizes;
  std::vector<double> waited_ms;
  Executor ex("test", [&](const std::string&, std::vector<JobPtr>& jobs) {
    const auto now = Clock::now();
    {
      std::lock_guard lock(mu);
      sizes.push_back(static_cast<int>(jobs.size()));
      waited_ms.push_back(std::chrono::duration<double, std::milli>(now - jobs.front()->enqueued()).count());
    }
    for (auto& j : jobs) j->complete(InferenceResult(TextOutput{"ok", 0}), static_cast<int>(jobs.size()));
  });
  std::vector<JobPtr> jobs;
  for (int i = 0; i < 10; ++i) jobs.push_back(job());
  for (auto& j : jobs) ex.submit("m", 4, milliseconds(200), j);
  ex.wait_idle();
  for (auto& j : jobs) EXPECT_TRUE(j->wait().ok());
  ASSERT_EQ(sizes, (std::vector<int>{4, 4, 2}));
  // The partial batch ran only after the delay (a lower bound: no speed is asserted).
  EXPECT_GE(waited_ms[2], 200.0);
}

TEST(RuntimeScheduler, QueueFullIsUnavailableAndEveryAdmittedJobRuns) {
  MemoryLedger ledger;
  auto stats = std::make_shared<FakeStats>();
  FakeSpec spec;
  spec.max_batch = 1;
  auto model = std::make_shared<LoadedModel>(testing::named("m"),
                                             std::make_unique<FakeBackend>("m", spec, stats), Reservation(),
                                             LoadPlan{}, 1);
  Scheduler s(testing::scheduler_options(2, 0));
  auto submit = [&](std::string text) {
    TagRequest t;
    t.image.encoded = std::move(text);
    return s.submit(model, InferenceRequest(std::move(t)));
  };
  stats->gate.close();
  auto j1 = submit("1");
  ASSERT_TRUE(j1.ok());
  while (stats->gate.waiting() == 0) std::this_thread::yield();  // j1 runs (blocked)
  auto j2 = submit("2"), j3 = submit("3");
  ASSERT_TRUE(j2.ok());
  ASSERT_TRUE(j3.ok());
  auto j4 = submit("4");
  ASSERT_FALSE(j4.ok());
  EXPECT_EQ(j4.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.rejections(), 1u);
  EXPECT_EQ(s.queue_depths()["m"], 2);
  stats->gate.open();
  const std::pair<decltype(&j1), std::string> jobs[] = {{&j1, "1"}, {&j2, "2"}, {&j3, "3"}};
  for (const auto& [j, text] : jobs) {
    auto r = (**j)->wait();
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(std::get<TagOutput>(*r).text, "fake:" + text);  // each job its own request's answer
    // A completed job no longer holds its request (the decoded image): freed with the result.
    EXPECT_TRUE(std::get<TagRequest>((**j)->request()).image.encoded.empty());
  }
  s.drain();
  EXPECT_EQ(stats->requests.load(), 3);
  EXPECT_EQ(s.queue_depths()["m"], 0);
}

TEST(RuntimeScheduler, ResultsComeBackInOrderWithTheBatchTheyRanIn) {
  auto stats = std::make_shared<FakeStats>();
  FakeSpec spec;
  spec.max_batch = 8;
  auto model = std::make_shared<LoadedModel>(testing::named("m"),
                                             std::make_unique<FakeBackend>("m", spec, stats), Reservation(),
                                             LoadPlan{}, 8);
  Scheduler s(testing::scheduler_options(64, 100000));
  std::vector<JobPtr> jobs;
  for (int i = 0; i < 8; ++i) {
    TagRequest t;
    t.image.encoded = "img" + std::to_string(i);
    auto j = s.submit(model, InferenceRequest(std::move(t)));
    ASSERT_TRUE(j.ok());
    jobs.push_back(*j);
  }
  for (int i = 0; i < 8; ++i) {
    auto r = jobs[i]->wait();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(std::get<TagOutput>(*r).text, "fake:img" + std::to_string(i));
    EXPECT_EQ(jobs[i]->batch_size(), 8);  // 8 = max batch closes the batch before the delay
  }
  EXPECT_EQ(stats->batches.load(), 1);
}

TEST(RuntimeScheduler, TimeoutIsDeadlineExceeded) {
  auto stats = std::make_shared<FakeStats>();
  auto model = std::make_shared<LoadedModel>(testing::named("m"),
                                             std::make_unique<FakeBackend>("m", FakeSpec{}, stats), Reservation(),
                                             LoadPlan{}, 1);
  Scheduler s(testing::scheduler_options(4, 0));
  stats->gate.close();
  TagRequest t;
  t.image.encoded = "x";
  auto j = s.submit(model, InferenceRequest(std::move(t)), milliseconds(20));
  ASSERT_TRUE(j.ok());
  auto r = (*j)->wait();
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  stats->gate.open();
  s.drain();
}

TEST(RuntimeScheduler, AnAbandonedJobIsCancelledAndNeverRuns) {
  auto stats = std::make_shared<FakeStats>();
  FakeSpec spec;
  spec.max_batch = 1;
  auto model = std::make_shared<LoadedModel>(testing::named("m"),
                                             std::make_unique<FakeBackend>("m", spec, stats), Reservation(),
                                             LoadPlan{}, 1);
  Scheduler s(testing::scheduler_options(8, 0));
  auto submit = [&](std::string text) {
    TagRequest t;
    t.image.encoded = std::move(text);
    return s.submit(model, InferenceRequest(std::move(t)));
  };
  stats->gate.close();
  auto running = submit("running");
  ASSERT_TRUE(running.ok());
  while (stats->gate.waiting() == 0) std::this_thread::yield();  // holds the compute thread
  auto queued = submit("queued");
  ASSERT_TRUE(queued.ok());
  // Its client goes away while it waits in the queue: wait() asks, cancels, returns Cancelled.
  std::atomic<int> asked{0};
  auto r = (*queued)->wait([&] { return ++asked >= 3; }, milliseconds(1));
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(http_status(r.status().code()), 499);
  EXPECT_GE(asked.load(), 3);
  EXPECT_TRUE((*queued)->cancelled());
  stats->gate.open();
  ASSERT_TRUE((*running)->wait().ok());
  // A waiter whose client stays never cancels.
  auto kept = submit("kept");
  ASSERT_TRUE(kept.ok());
  auto ok = (*kept)->wait([] { return false; }, milliseconds(1));
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(std::get<TagOutput>(*ok).text, "fake:kept");
  s.drain();
  EXPECT_EQ(stats->requests.load(), 2) << "the cancelled job ran";
  EXPECT_EQ(s.dropped_cancelled(), 1u);
  EXPECT_EQ(s.dropped_expired(), 0u);
  EXPECT_EQ(s.queue_depths()["m"], 0) << "its queue place was given back";
}

TEST(RuntimeImagePool, PreparesEveryRequestOnThePoolEachWithItsOwnStatus) {
  // A backend whose prepare() records its thread and fails the image "bad".
  class Recording final : public ModelBackend {
   public:
    int max_batch_limit() const override { return 1; }
    StatusOr<LoadPlan> plan(int) const override { return LoadPlan{}; }
    Status load(Reservation&, int) override { return {}; }
    Status prepare(InferenceRequest& r) const override {
      std::lock_guard lock(mu);
      threads.push_back(std::this_thread::get_id());
      ImageInput& img = image_of(r);
      if (img.encoded == "bad") return Status::invalid_argument("bad image");
      img.encoded = "prepared:" + img.encoded;
      return {};
    }
    std::vector<StatusOr<InferenceResult>> run(std::span<InferenceRequest* const>) override { return {}; }
    void unload() override {}
    mutable std::mutex mu;
    mutable std::vector<std::thread::id> threads;
  } backend;
  ImagePool pool(2, 4);
  EXPECT_EQ(pool.threads(), 2u);
  std::vector<InferenceRequest> reqs;
  for (const char* t : {"a", "bad", "c", "d", "e", "f", "g", "h"}) {
    TagRequest r;
    r.image.encoded = t;
    reqs.emplace_back(std::move(r));
  }
  std::vector<Status> st = pool.prepare_all(backend, reqs);
  ASSERT_EQ(st.size(), reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    if (i == 1) {
      EXPECT_EQ(st[i].code(), StatusCode::kInvalidArgument);
    } else {
      EXPECT_TRUE(st[i].ok());
      EXPECT_EQ(image_of(reqs[i]).encoded.rfind("prepared:", 0), 0u);
    }
  }
  ASSERT_EQ(backend.threads.size(), reqs.size());
  for (auto id : backend.threads) EXPECT_NE(id, std::this_thread::get_id()) << "decoded on the caller's thread";
}

}  // namespace
}  // namespace seer

namespace seer {
namespace {

// Regrouping: after a batch of 5 that ran 5 s, 3 waiting jobs do not start at once: the batch
// stays open 2 % of the run (100 ms) after it finished, so the 5 answered clients can rejoin.
// Once as many jobs wait as the last batch held, or the max batch, it closes as usual; a fast
// model's settle is just the delay.
TEST(RuntimeBatcher, AfterALargerBatchStaysOpenBrieflySoClientsRegroup) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  const auto t0 = std::chrono::steady_clock::time_point() + std::chrono::hours(1);
  Batcher b(8, milliseconds(2));
  b.on_batch_done(5, t0, t0 + seconds(5));
  const auto done = t0 + seconds(5);
  for (int i = 0; i < 3; ++i) b.push(job(), t0 + seconds(1));
  EXPECT_EQ(*b.ready_at(), done + milliseconds(100));
  EXPECT_TRUE(b.pop(done + milliseconds(99)).jobs.empty());
  for (int i = 0; i < 2; ++i) b.push(job(), done + milliseconds(60));  // 5 wait: as many as before
  EXPECT_EQ(*b.ready_at(), t0 + seconds(1) + milliseconds(2));
  EXPECT_EQ(b.pop(done + milliseconds(60)).jobs.size(), 5u);

  // A 10 s batch: settle capped at 250 ms. A 1 ms batch: settle = the delay.
  b.on_batch_done(4, t0, t0 + seconds(20));
  b.push(job(), t0);
  EXPECT_EQ(*b.ready_at(), t0 + seconds(20) + milliseconds(250));
  b.pop(t0 + seconds(30));
  b.on_batch_done(4, t0, t0 + milliseconds(1));
  b.push(job(), t0);
  EXPECT_EQ(*b.ready_at(), t0 + milliseconds(3));  // max(arrival + 2 ms, end + 2 ms)
}

}  // namespace
}  // namespace seer
