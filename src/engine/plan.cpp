#include "engine/plan.h"

#include <cstdlib>
#include <cstring>

#include "engine/memory_planner.h"

namespace seer::engine {

static StatusOr<const OpDef*> def_of(const Node& node) {
  const OpDef* def = nullptr;
  SEER_RETURN_IF_ERROR(OpRegistry::global().resolve(node, &def));
  return def;
}

Status infer_node(const Node& node, std::span<const Tensor> inputs, std::span<Tensor> outputs) {
  SEER_ASSIGN_OR_RETURN(const OpDef* def, def_of(node));
  for (Tensor& t : outputs) t = Tensor();
  InferContext ic(node, inputs, outputs);
  SEER_RETURN_IF_ERROR(def->infer(ic));
  for (int i = 0; i < node.num_outputs(); ++i) {
    if (node.outputs[i] == kNoValue) continue;
    if (outputs[i].dtype == DataType::kUndefined)
      return Status::internal("{}: infer left output {} without a type", node.describe(), i);
    for (int64_t d : outputs[i].shape)
      if (d < 0) return Status::internal("{}: infer gave output {} shape {}", node.describe(), i,
                                         outputs[i].shape.to_string());
  }
  return Status();
}

Status evaluate_node(const Node& node, std::span<const Tensor> inputs, std::span<Tensor> outputs,
                     WeightStore& store, PrepareServices& services) {
  SEER_ASSIGN_OR_RETURN(const OpDef* def, def_of(node));
  SEER_RETURN_IF_ERROR(infer_node(node, inputs, outputs));
  PrepareContext pc(node, inputs, outputs, services);
  services.evaluating = true;
  auto created = def->create(pc);
  services.evaluating = false;
  SEER_ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> kernel, std::move(created));
  for (int i = 0; i < node.num_outputs(); ++i) {
    if (node.outputs[i] == kNoValue) continue;
    SEER_ASSIGN_OR_RETURN(void* p, store.allocate(outputs[i].bytes()));
    outputs[i].ptr = p;
  }
  size_t scratch = pc.scratch_bytes();
  void* s = scratch ? std::aligned_alloc(64, kernels::align64(scratch)) : nullptr;
  RunContext rc(inputs, outputs, s, scratch);
  Status st = kernel->run(rc);
  std::free(s);
  return st;
}

StatusOr<std::unique_ptr<Plan>> build_plan(const Graph& graph, const std::vector<Shape>& input_shapes,
                                           WeightStore& store, PrepareServices& services) {
  auto plan = std::make_unique<Plan>();
  plan->input_shapes = input_shapes;
  plan->values.resize(graph.values.size());
  if (input_shapes.size() != graph.inputs.size())
    return Status::invalid_argument("{} input shapes for {} graph inputs", input_shapes.size(),
                                    graph.inputs.size());
  for (size_t v = 0; v < graph.values.size(); ++v) {
    const Value& gv = graph.values[v];
    if (gv.constant) {
      PlanValue& pv = plan->values[v];
      pv.dtype = gv.dtype;
      pv.shape = gv.shape;
      pv.where = PlanValue::Where::kConst;
      pv.ptr = gv.constant;
    }
  }
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    PlanValue& pv = plan->values[graph.inputs[i]];
    pv.dtype = graph.values[graph.inputs[i]].dtype;
    pv.shape = input_shapes[i];
    pv.where = PlanValue::Where::kInput;
    pv.input_index = static_cast<int>(i);
  }

  // For a value that is a view of another (alias_input ops), the value that owns the bytes.
  std::vector<int> alias_root(graph.values.size(), -1);
  auto root = [&](int v) { return alias_root[v] >= 0 ? alias_root[v] : v; };
  std::vector<Tensor> ins, outs;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    ins.assign(node.inputs.size(), Tensor());
    outs.assign(node.outputs.size(), Tensor());
    bool all_const = true;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      int v = node.inputs[i];
      if (v == kNoValue) continue;
      const PlanValue& pv = plan->values[v];
      if (pv.where == PlanValue::Where::kNone)
        return Status::internal("{}: input '{}' has no plan", node.describe(), graph.values[v].name);
      ins[i] = Tensor(pv.dtype, pv.shape, pv.where == PlanValue::Where::kConst ? pv.ptr : nullptr);
      if (pv.where != PlanValue::Where::kConst) all_const = false;
    }
    SEER_ASSIGN_OR_RETURN(const OpDef* def, def_of(node));
    SEER_RETURN_IF_ERROR(infer_node(node, ins, outs));
    // Reshape family: the output is a view of the input's bytes (same arena item, input or
    // constant), so no kernel runs and no copy is made.
    if (def->alias_input && node.num_outputs() == 1 && node.outputs[0] != kNoValue &&
        !node.inputs.empty() && node.inputs[0] != kNoValue && outs[0].dtype == ins[0].dtype &&
        outs[0].bytes() == ins[0].bytes()) {
      const int in_v = node.inputs[0];
      PlanValue& pv = plan->values[node.outputs[0]];
      pv = plan->values[in_v];
      pv.shape = outs[0].shape;
      alias_root[node.outputs[0]] = alias_root[in_v] >= 0 ? alias_root[in_v] : in_v;
      continue;
    }
    size_t out_bytes = 0;
    for (const Tensor& t : outs) out_bytes += t.dtype == DataType::kUndefined ? 0 : t.bytes();
    if ((all_const || def->shape_only) && def->foldable && out_bytes <= kPlanFoldMaxBytes) {
      SEER_RETURN_IF_ERROR(evaluate_node(node, ins, outs, store, services));
      for (size_t o = 0; o < node.outputs.size(); ++o) {
        if (node.outputs[o] == kNoValue) continue;
        PlanValue& pv = plan->values[node.outputs[o]];
        pv = PlanValue{outs[o].dtype, outs[o].shape, PlanValue::Where::kConst, outs[o].ptr, 0, -1};
      }
      ++plan->folded_values;
      continue;
    }
    PrepareContext pc(node, ins, outs, services);
    SEER_ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> kernel, def->create(pc));
    PlanStep step;
    step.node = static_cast<int>(n);
    step.kernel = std::move(kernel);
    step.inputs = node.inputs;
    step.outputs = node.outputs;
    step.scratch_bytes = pc.scratch_bytes();
    step.packed_inputs = pc.packed_inputs();
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o] == kNoValue) continue;
      PlanValue& pv = plan->values[node.outputs[o]];
      pv.dtype = outs[o].dtype;
      pv.shape = outs[o].shape;
      pv.where = PlanValue::Where::kArena;
    }
    plan->steps.push_back(std::move(step));
  }

  // Lifetimes: arena values from their producing step to their last reader (a view's readers
  // count for the value it views); graph outputs to the end; each step's scratch for that step
  // only.
  const int nsteps = static_cast<int>(plan->steps.size());
  std::vector<int> first(graph.values.size(), -1), last(graph.values.size(), -1);
  for (int s = 0; s < nsteps; ++s) {
    for (int v : plan->steps[s].outputs)
      if (v != kNoValue) first[v] = last[v] = s;
    for (int v : plan->steps[s].inputs)
      if (v != kNoValue && plan->values[v].where == PlanValue::Where::kArena) last[root(v)] = s;
  }
  for (int v : graph.outputs)
    if (plan->values[v].where == PlanValue::Where::kArena) last[root(v)] = nsteps;
  std::vector<ArenaItem> items;
  std::vector<int> item_value;  // value id, or -(step+1) for scratch
  for (size_t v = 0; v < graph.values.size(); ++v)
    if (plan->values[v].where == PlanValue::Where::kArena && first[v] >= 0) {
      items.push_back({byte_size(plan->values[v].dtype, plan->values[v].shape),
                       first[v], last[v]});
      item_value.push_back(static_cast<int>(v));
    }
  for (int s = 0; s < nsteps; ++s)
    if (plan->steps[s].scratch_bytes) {
      items.push_back({plan->steps[s].scratch_bytes, s, s});
      item_value.push_back(-(s + 1));
    }
  ArenaLayout layout = plan_arena(items);
  for (size_t i = 0; i < items.size(); ++i) {
    if (item_value[i] >= 0) plan->values[item_value[i]].offset = layout.offsets[i];
    else plan->steps[-item_value[i] - 1].scratch_offset = layout.offsets[i];
  }
  for (size_t v = 0; v < graph.values.size(); ++v)
    if (alias_root[v] >= 0 && plan->values[v].where == PlanValue::Where::kArena)
      plan->values[v].offset = plan->values[alias_root[v]].offset;
  plan->arena_bytes = layout.bytes;
  return plan;
}

}  // namespace seer::engine
