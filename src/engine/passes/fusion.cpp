#include "engine/passes/passes.h"

namespace seer::engine {

Status fuse_patterns(Graph& graph, WeightStore& store, int* count) {
  if (count) *count = 0;
  return Status();
}

}  // namespace seer::engine
