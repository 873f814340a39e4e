// The arena planner: no two tensors whose lifetimes overlap share bytes, and on a hand-made graph
// the arena is exactly the max-live sum.
#include <gtest/gtest.h>

#include "engine/memory_planner.h"

namespace seer::engine {
namespace {

void expect_no_overlap(const std::vector<ArenaItem>& items, const ArenaLayout& layout) {
  for (size_t i = 0; i < items.size(); ++i)
    for (size_t j = i + 1; j < items.size(); ++j) {
      const bool live_together = items[i].first <= items[j].last && items[j].first <= items[i].last;
      if (!live_together || !items[i].bytes || !items[j].bytes) continue;
      const size_t ai = layout.offsets[i], bi = ai + items[i].bytes;
      const size_t aj = layout.offsets[j], bj = aj + items[j].bytes;
      EXPECT_TRUE(bi <= aj || bj <= ai) << "items " << i << " and " << j << " overlap";
      EXPECT_LE(std::max(bi, bj), layout.bytes);
    }
}

TEST(EnginePlanner, ChainReusesMemoryAndHitsTheMaxLiveBound) {
  // x0 -> x1 -> x2 -> x3 -> x4: each tensor lives from its producer to its one reader.
  std::vector<ArenaItem> items = {
      {.bytes = 1024, .first = 0, .last = 1}, {.bytes = 4096, .first = 1, .last = 2},
      {.bytes = 2048, .first = 2, .last = 3}, {.bytes = 4096, .first = 3, .last = 4},
      {.bytes = 512, .first = 4, .last = 5}};
  ArenaLayout layout = plan_arena(items);
  expect_no_overlap(items, layout);
  // Steps: 1: 1024+4096, 2: 4096+2048, 3: 2048+4096, ... -> max live 6144.
  EXPECT_EQ(max_live_bytes(items), 6144u);
  EXPECT_EQ(layout.bytes, 6144u);
}

TEST(EnginePlanner, ResidualBranchStaysLiveAcrossTheBlock) {
  // x (step 0..3) is read again by the residual Add at step 3; a, b, c are block temporaries.
  std::vector<ArenaItem> items = {
      {.bytes = 1000, .first = 0, .last = 3},  // x, rounded to 1024
      {.bytes = 3000, .first = 1, .last = 2},  // a
      {.bytes = 3000, .first = 2, .last = 3},  // b
      {.bytes = 1000, .first = 3, .last = 4}}; // y
  ArenaLayout layout = plan_arena(items);
  expect_no_overlap(items, layout);
  EXPECT_EQ(max_live_bytes(items), 1024u + 3008u + 3008u);
  EXPECT_EQ(layout.bytes, max_live_bytes(items));
}

TEST(EnginePlanner, RandomLifetimesNeverOverlap) {
  std::vector<ArenaItem> items;
  uint32_t seed = 12345;
  auto rnd = [&] { seed = seed * 1664525u + 1013904223u; return seed >> 8; };
  for (int i = 0; i < 300; ++i) {
    int first = static_cast<int>(rnd() % 100);
    items.push_back({.bytes = 64 + rnd() % 100000, .first = first, .last = first + static_cast<int>(rnd() % 20)});
  }
  ArenaLayout layout = plan_arena(items);
  expect_no_overlap(items, layout);
  EXPECT_GE(layout.bytes, max_live_bytes(items));
  for (size_t off : layout.offsets) EXPECT_EQ(off % 64, 0u);
}

}  // namespace
}  // namespace seer::engine

#include "engine/no_alloc.h"

namespace seer::engine {
namespace {

std::vector<int>* volatile g_sink = nullptr;

// With SEER_NO_ALLOC_ON_RUN=1 (ctest sets it for every test), operator new inside the run-path
// scope aborts; every engine, model and e2e test then proves the run path allocates nothing.
TEST(EngineNoAlloc, AllocationInsideTheRunScopeAborts) {
  if (!no_alloc_enforced()) GTEST_SKIP() << "SEER_NO_ALLOC_ON_RUN is not set (ctest sets it)";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        NoAllocScope guard;
        g_sink = new std::vector<int>(100);
      },
      "heap allocation");
  {
    NoAllocScope guard;
    AllowAllocScope allow("test");
    g_sink = new std::vector<int>(100);  // allowed
  }
  delete g_sink;
}

}  // namespace
}  // namespace seer::engine
