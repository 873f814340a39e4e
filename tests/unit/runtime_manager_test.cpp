#include <gtest/gtest.h>

#include <thread>

#include "memory/probes.h"
#include "runtime/model_manager.h"
#include "runtime/testing/fake_backend.h"
#include "runtime_test_util.h"

namespace seer {
namespace {

using testing::TempModelsDir;
constexpr uint64_t kMiB = 1 << 20;
const DeviceId kSim{DeviceKind::kSimulated, 1};

ModelLoadOptions pinned() {
  ModelLoadOptions o;
  o.pin = true;
  return o;
}
ModelLoadOptions keep_alive(int64_t s) {
  ModelLoadOptions o;
  o.keep_alive_s = s;
  return o;
}

struct Fixture {
  TempModelsDir dir;
  MemoryLedger ledger;
  std::shared_ptr<FakeStats> stats = std::make_shared<FakeStats>();
  ModelFamilyRegistry families;
  std::unique_ptr<ModelCatalog> catalog;
  std::unique_ptr<ModelManager> manager;

  explicit Fixture(uint64_t budget, ManagerOptions opt = {}) {
    ledger.add_device(Device::simulated(1, budget), budget);
    families.add(fake_family(ModelKind::kTagger, FakeSpec{}, stats));
    opt.device = kSim;
    opt.reaper_thread = false;
    opt_ = opt;
  }
  void open() {
    auto c = ModelCatalog::open(testing::catalog_options(dir.models()), families);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    catalog = std::move(c).value();
    manager = std::make_unique<ModelManager>(ledger, *catalog, families, opt_);
  }
  ~Fixture() {
    if (manager) manager->shutdown();
    manager.reset();
  }
  uint64_t peak() { return ledger.device_usage(kSim)->peak_bytes; }
  ManagerOptions opt_;
};

TEST(RuntimeManager, EveryStateHasAName) {
  EXPECT_EQ(to_string(ModelState::kUnloaded), "unloaded");
  EXPECT_EQ(to_string(ModelState::kLoading), "loading");
  EXPECT_EQ(to_string(ModelState::kReady), "ready");
  EXPECT_EQ(to_string(ModelState::kUnloading), "unloading");
  EXPECT_EQ(to_string(ModelState::kFailed), "failed");
}

TEST(RuntimeManager, LoadsOnDemandWithinTheReservedPlan) {
  Fixture f(64 * kMiB);
  f.dir.add_fake("a", "weights=8MiB arena_per_item=1MiB max_batch=4");
  f.open();
  auto m = f.manager->acquire("a");
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ((*m)->max_batch(), 4);
  EXPECT_EQ(f.ledger.bytes(kSim, "a", MemoryTag::kWeights), 8 * kMiB);
  EXPECT_EQ(f.ledger.bytes(kSim, "a", MemoryTag::kArena), 4 * kMiB);
  auto info = f.manager->info("a");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, ModelState::kReady);
  EXPECT_EQ(info->leases, 1);
  EXPECT_EQ(info->memory.at(MemoryTag::kWeights), 8 * kMiB);
  m = Status::cancelled("drop");
  EXPECT_EQ(f.manager->info("a")->leases, 0);
  EXPECT_EQ(f.stats->loads.load(), 1);
}

TEST(RuntimeManager, UnknownIdIsNotFound) {
  Fixture f(64 * kMiB);
  f.dir.add_fake("a");
  f.open();
  auto m = f.manager->acquire("../a");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(f.manager->unload("nope").code(), StatusCode::kNotFound);
}

TEST(RuntimeManager, BudgetForOneOfTwoAlternatesWithEvictionAndNeverExceedsIt) {
  Fixture f(40 * kMiB);
  f.dir.add_fake("a", "weights=20MiB arena_per_item=1MiB max_batch=4");
  f.dir.add_fake("b", "weights=20MiB arena_per_item=1MiB max_batch=4");
  f.open();
  for (int i = 0; i < 6; ++i) {
    const char* id = i % 2 ? "b" : "a";
    auto m = f.manager->acquire(id);
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    EXPECT_EQ(f.ledger.owner_bytes(id), 24 * kMiB);
    EXPECT_EQ(f.ledger.owner_bytes(i % 2 ? "a" : "b"), 0u);
    EXPECT_LE(f.peak(), 40 * kMiB);
  }
  const auto c = f.manager->counters();
  EXPECT_EQ(c.loads, 6u);
  EXPECT_EQ(c.evictions, 5u);
  EXPECT_LE(f.peak(), 40 * kMiB);
  EXPECT_EQ(f.manager->info("a")->state, ModelState::kUnloaded);
  EXPECT_EQ(f.manager->info("b")->state, ModelState::kReady);
}

TEST(RuntimeManager, BiggerThanTheBudgetIsResourceExhaustedWithTheNumbers) {
  Fixture f(40 * kMiB);
  f.dir.add_fake("huge", "weights=100MiB arena_per_item=1MiB max_batch=1");
  f.open();
  auto m = f.manager->acquire("huge");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(m.status().message().find("100.0 MiB"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("40.0 MiB"), std::string::npos) << m.status().message();
  auto info = f.manager->info("huge");
  EXPECT_EQ(info->state, ModelState::kFailed);
  EXPECT_FALSE(info->reason.empty());
  EXPECT_EQ(f.ledger.device_usage(kSim)->used_bytes, 0u);
  EXPECT_EQ(f.ledger.device_usage(kSim)->reserved_bytes, 0u);
}

TEST(RuntimeManager, MaxBatchShrinksToFitTheBudget) {
  Fixture f(40 * kMiB);
  f.dir.add_fake("a", "weights=10MiB arena_per_item=4MiB max_batch=16");  // 16 -> 74 MiB; 4 -> 26 MiB
  f.open();
  auto m = f.manager->acquire("a");
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ((*m)->max_batch(), 4);
}

TEST(RuntimeManager, PinnedModelIsNotEvicted) {
  Fixture f(40 * kMiB);
  f.dir.add_fake("a", "weights=20MiB arena_per_item=1MiB max_batch=4");
  f.dir.add_fake("b", "weights=20MiB arena_per_item=1MiB max_batch=4");
  f.open();
  ASSERT_TRUE(f.manager->load("a", pinned()).ok());
  auto m = f.manager->acquire("b");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(m.status().message().find("a (24.0 MiB, pinned)"), std::string::npos) << m.status().message();
  EXPECT_EQ(f.manager->info("a")->state, ModelState::kReady);
}

TEST(RuntimeManager, UnloadWaitsForRunningJobs) {
  Fixture f(64 * kMiB);
  f.dir.add_fake("a", "weights=8MiB arena_per_item=1MiB max_batch=1");
  f.open();
  auto m = f.manager->acquire("a");
  ASSERT_TRUE(m.ok());
  f.stats->gate.close();
  std::shared_ptr<LoadedModel> lease = *m;
  m = Status::cancelled("moved");
  std::thread job([&] {
    TagRequest t;
    t.image.encoded = "x";
    InferenceRequest r = std::move(t);
    InferenceRequest* batch[] = {&r};
    (void)lease->backend().run(batch);
    lease.reset();
  });
  while (f.stats->gate.waiting() == 0) std::this_thread::yield();
  std::atomic<bool> unloaded{false};
  std::thread unloader([&] {
    EXPECT_TRUE(f.manager->unload("a").ok());
    unloaded = true;
  });
  while (f.manager->info("a")->state != ModelState::kUnloading) std::this_thread::yield();
  // The job still runs: weights are still there and the unload has not returned.
  EXPECT_FALSE(unloaded.load());
  EXPECT_EQ(f.ledger.bytes(kSim, "a", MemoryTag::kWeights), 8 * kMiB);
  EXPECT_EQ(f.stats->unloads.load(), 0);
  f.stats->gate.open();
  job.join();
  unloader.join();
  EXPECT_TRUE(unloaded.load());
  EXPECT_EQ(f.stats->unloads.load(), 1);
  EXPECT_EQ(f.ledger.owner_bytes("a"), 0u);
  EXPECT_EQ(f.manager->info("a")->state, ModelState::kUnloaded);
}

TEST(RuntimeManager, KeepAliveZeroUnloadsAfterTheRequestAndMinusOneNever) {
  Fixture f(64 * kMiB);
  f.dir.add_fake("zero", "weights=4MiB");
  f.dir.add_fake("never", "weights=4MiB");
  f.open();
  ASSERT_TRUE(f.manager->load("zero", keep_alive(0)).ok());
  ASSERT_TRUE(f.manager->load("never", keep_alive(-1)).ok());
  {
    auto m = f.manager->acquire("zero");
    ASSERT_TRUE(m.ok());
    f.manager->reap_once();  // leased: stays
    EXPECT_EQ(f.manager->info("zero")->state, ModelState::kReady);
  }
  f.manager->reap_once();
  EXPECT_EQ(f.manager->info("zero")->state, ModelState::kUnloaded);
  EXPECT_EQ(f.manager->info("never")->state, ModelState::kReady);
  EXPECT_EQ(f.ledger.owner_bytes("zero"), 0u);
}

TEST(RuntimeManager, FailedLoadKeepsTheReasonAndALaterAcquireRetries) {
  Fixture f(64 * kMiB);
  f.dir.add_fake("bad", "fail_load=corrupt");
  f.open();
  auto m = f.manager->acquire("bad");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInternal);
  EXPECT_NE(f.manager->info("bad")->reason.find("corrupt"), std::string::npos);
  EXPECT_EQ(f.ledger.device_usage(kSim)->reserved_bytes, 0u);
  f.dir.add_fake("bad", "weights=1MiB");  // fixed on disk
  EXPECT_TRUE(f.manager->acquire("bad").ok());
}

TEST(RuntimeManager, SwitchUnloadsTheOthers) {
  Fixture f(64 * kMiB);
  f.dir.add_fake("a", "weights=4MiB");
  f.dir.add_fake("b", "weights=4MiB");
  f.open();
  ASSERT_TRUE(f.manager->load("a").ok());
  ASSERT_TRUE(f.manager->switch_to("b").ok());
  EXPECT_EQ(f.manager->info("a")->state, ModelState::kUnloaded);
  EXPECT_EQ(f.manager->info("b")->state, ModelState::kReady);
  ASSERT_TRUE(f.manager->unload_all().ok());
  EXPECT_EQ(f.ledger.device_usage(kSim)->used_bytes, 0u);
}

TEST(RuntimeManager, UnloadReturnsRssToTheBaseline) {
  Fixture f(512 * kMiB);
  f.dir.add_fake("big", "weights=128MiB arena_per_item=16MiB max_batch=2");
  f.open();
  const uint64_t before = read_process_memory().rss_bytes;
  ASSERT_TRUE(f.manager->load("big").ok());
  const uint64_t loaded = read_process_memory().rss_bytes;
  EXPECT_GE(loaded, before + 150 * kMiB);  // the fake touches its pages: the OS sees them
  ASSERT_TRUE(f.manager->unload("big").ok());
  const uint64_t after = read_process_memory().rss_bytes;
  EXPECT_LE(after, before + 8 * kMiB);
  EXPECT_GE(f.manager->counters().ghost_checks, 1u);
}

}  // namespace
}  // namespace seer
