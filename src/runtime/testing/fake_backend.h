// A ModelBackend with no model behind it, for tests of the catalog, manager, scheduler and
// server: it allocates ledger buffers of configured sizes, sleeps a configured time per batch
// and answers deterministically (the text of a result is "fake:" + the request's image bytes).
//
//   auto stats = std::make_shared<FakeStats>();
//   FakeSpec spec{.weight_bytes = 8 << 20, .arena_bytes_per_item = 1 << 20, .max_batch = 4};
//   registry.add(fake_family(ModelKind::kTagger, spec, stats));   // recognises "fake.model" dirs
//   ... load, run ...
//   EXPECT_EQ(stats->loads.load(), 1);
//
// A gate lets a test hold run() until it opens (to unload while a job is running).
// Thread-safe where ModelBackend requires it; the stats are atomics.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/model_backend.h"

namespace seer {

struct FakeSpec {
  uint64_t weight_bytes = 1 << 20;
  uint64_t arena_bytes_base = 0;
  uint64_t arena_bytes_per_item = 64 << 10;
  int max_batch = 8;
  int run_sleep_ms = 0;     // per batch
  bool touch_pages = true;  // write every page so RSS sees the buffers
  std::string fail_load;    // non-empty: load() fails with this message (Internal)
};

// Closed gate: run() waits in it until open(). Starts open.
class FakeGate {
 public:
  void close();
  void open();
  void wait();  // returns when open
  int waiting() const { return waiting_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  std::atomic<int> waiting_{0};
};

struct FakeStats {
  std::atomic<int> loads{0};
  std::atomic<int> unloads{0};
  std::atomic<int> batches{0};
  std::atomic<int> requests{0};
  std::atomic<int> running{0};  // run() calls in progress
  std::mutex mu;
  std::vector<int> batch_sizes;  // in run order (guarded by mu)
  FakeGate gate;
};

class FakeBackend final : public ModelBackend {
 public:
  FakeBackend(std::string id, FakeSpec spec, std::shared_ptr<FakeStats> stats);
  ~FakeBackend() override { unload(); }

  int max_batch_limit() const override { return spec_.max_batch; }
  StatusOr<LoadPlan> plan(int max_batch) const override;
  Status load(Reservation& reservation, int max_batch) override;
  Status prepare(InferenceRequest& request) const override;
  std::vector<StatusOr<InferenceResult>> run(std::span<InferenceRequest* const> batch) override;
  void unload() override;

 private:
  std::string id_;
  FakeSpec spec_;
  std::shared_ptr<FakeStats> stats_;
  int loaded_batch_ = 0;
  Buffer weights_;
  Buffer arena_;
};

// `spec` overridden by the whitespace-separated key=value words of `file`: weights=8MiB
// arena_base=0 arena_per_item=1MiB max_batch=4 sleep_ms=5 fail_load=why.
StatusOr<FakeSpec> read_fake_spec(const std::filesystem::path& file, FakeSpec spec);

// A family of kind `kind` that recognises folders holding a file named `marker`
// (default "fake.model") and makes FakeBackends with `spec` (overridden by the marker's
// key=value words, see read_fake_spec), sharing `stats`.
ModelFamily fake_family(ModelKind kind, FakeSpec spec, std::shared_ptr<FakeStats> stats,
                        std::string marker = "fake.model");

}  // namespace seer
