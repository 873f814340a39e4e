// The graph specialised for one set of concrete input shapes: every value's dtype and shape,
// shape subgraphs folded to constants, one kernel per remaining node and arena offsets from the
// memory planner. Built at load (Model::build); read-only afterwards. Internal to the engine.
//
//   SEER_ASSIGN_OR_RETURN(std::unique_ptr<Plan> p, build_plan(graph, {Shape{1, 3, 224, 224}}, store, services));
//   p->arena_bytes;  p->steps.size();
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "engine/graph.h"
#include "engine/op.h"
#include "engine/weight_store.h"

namespace seer::engine {

struct PlanValue {
  enum class Where : uint8_t { kNone, kConst, kInput, kArena };
  DataType dtype = DataType::kUndefined;
  Shape shape;
  Where where = Where::kNone;
  const void* ptr = nullptr;  // kConst
  size_t offset = 0;          // kArena
  int input_index = -1;       // kInput
};

struct PlanStep {
  int node = -1;
  std::unique_ptr<OpKernel> kernel;
  std::vector<int> inputs, outputs;  // value ids (kNoValue for omitted)
  size_t scratch_offset = 0, scratch_bytes = 0;
  uint64_t packed_inputs = 0;  // bit i: the kernel packed constant input i and never reads it
};

struct Plan {
  std::vector<Shape> input_shapes;
  std::vector<PlanValue> values;  // indexed like Graph::values
  std::vector<PlanStep> steps;
  size_t arena_bytes = 0;
  size_t folded_values = 0;  // values this plan folded at load
};

// Per-node output bytes up to which shape-dependent constant subgraphs fold at plan time.
inline constexpr size_t kPlanFoldMaxBytes = 64 << 10;

StatusOr<std::unique_ptr<Plan>> build_plan(const Graph& graph, const std::vector<Shape>& input_shapes,
                                           WeightStore& store, PrepareServices& services);

// Runs one node on inputs at load (folding): infers, creates the kernel, allocates outputs in
// `store`, runs. outputs[i] receive dtype, shape and the pointer. Unsupported when the op is not
// registered.
Status evaluate_node(const Node& node, std::span<const Tensor> inputs, std::span<Tensor> outputs,
                     WeightStore& store, PrepareServices& services);
// Infers output dtypes/shapes of `node` (outputs[i].ptr left null).
Status infer_node(const Node& node, std::span<const Tensor> inputs, std::span<Tensor> outputs);

}  // namespace seer::engine
