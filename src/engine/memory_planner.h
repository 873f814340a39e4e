// Places tensors in one arena from their lifetimes: two tensors share bytes only when their
// lifetimes (inclusive step ranges) do not overlap. Greedy by size (largest first, lowest
// offset that fits), which reaches the max-live lower bound on chain- and tree-shaped graphs.
//
//   std::vector<ArenaItem> items = {{.bytes = 4096, .first = 0, .last = 2}, {...}};
//   ArenaLayout layout = plan_arena(items);       // layout.offsets[i], layout.bytes
//
// Offsets and sizes are rounded to 64 bytes. Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace seer::engine {

struct ArenaItem {
  size_t bytes = 0;
  int first = 0;  // first step that writes or reads it
  int last = 0;   // last step that reads it (inclusive)
};

struct ArenaLayout {
  std::vector<size_t> offsets;  // per item
  size_t bytes = 0;             // arena size
};

ArenaLayout plan_arena(const std::vector<ArenaItem>& items);
// The lower bound: max over steps of the sum of (64-rounded) live bytes.
size_t max_live_bytes(const std::vector<ArenaItem>& items);

}  // namespace seer::engine
