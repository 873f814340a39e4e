#include "engine/memory_planner.h"

#include <algorithm>
#include <numeric>

namespace seer::engine {

static size_t round64(size_t b) { return (b + 63) & ~size_t{63}; }

ArenaLayout plan_arena(const std::vector<ArenaItem>& items) {
  ArenaLayout out;
  out.offsets.assign(items.size(), 0);
  std::vector<size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (items[a].bytes != items[b].bytes) return items[a].bytes > items[b].bytes;
    return items[a].first < items[b].first;
  });
  std::vector<size_t> placed;  // indices already given an offset
  struct Range { size_t begin, end; };
  std::vector<Range> busy;
  for (size_t idx : order) {
    const ArenaItem& it = items[idx];
    const size_t size = round64(it.bytes);
    if (size == 0) continue;
    busy.clear();
    for (size_t p : placed)
      if (items[p].first <= it.last && it.first <= items[p].last)
        busy.push_back({out.offsets[p], out.offsets[p] + round64(items[p].bytes)});
    std::sort(busy.begin(), busy.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
    // Best fit: the smallest gap that holds it, else after the last busy range.
    size_t best = SIZE_MAX, best_gap = SIZE_MAX, cursor = 0;
    for (const Range& r : busy) {
      if (r.begin > cursor && r.begin - cursor >= size && r.begin - cursor < best_gap) {
        best = cursor;
        best_gap = r.begin - cursor;
      }
      cursor = std::max(cursor, r.end);
    }
    if (best == SIZE_MAX) best = cursor;
    out.offsets[idx] = best;
    out.bytes = std::max(out.bytes, best + size);
    placed.push_back(idx);
  }
  return out;
}

size_t max_live_bytes(const std::vector<ArenaItem>& items) {
  int steps = 0;
  for (const ArenaItem& it : items) steps = std::max(steps, it.last + 1);
  std::vector<size_t> live(steps + 1, 0);
  for (const ArenaItem& it : items)
    for (int s = it.first; s <= it.last; ++s) live[s] += round64(it.bytes);
  return live.empty() ? 0 : *std::max_element(live.begin(), live.end());
}

}  // namespace seer::engine
