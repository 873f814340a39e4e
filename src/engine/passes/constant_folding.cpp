#include "engine/passes/passes.h"

#include "engine/plan.h"

namespace seer::engine {

Status fold_constants(Graph& graph, WeightStore& store, PrepareServices& services) {
  std::vector<Tensor> ins, outs;
  for (Node& node : graph.nodes) {
    if (node.dead) continue;
    const OpDef* def = OpRegistry::global().find(node.op_type, node.domain, node.opset);
    if (!def || !def->foldable) continue;
    bool all_const = true;
    size_t in_bytes = 0;
    ins.assign(node.inputs.size(), Tensor());
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      int v = node.inputs[i];
      if (v == kNoValue) continue;
      if (!graph.is_constant(v)) { all_const = false; break; }
      ins[i] = graph.constant_tensor(v);
      in_bytes += ins[i].bytes();
    }
    if (!all_const) continue;
    outs.assign(node.outputs.size(), Tensor());
    if (!infer_node(node, ins, outs).ok()) continue;  // the plan reports it with shapes in hand
    size_t out_bytes = 0;
    for (const Tensor& t : outs) out_bytes += t.dtype == DataType::kUndefined ? 0 : t.bytes();
    if (out_bytes > 2 * in_bytes + (4u << 20)) continue;
    SEER_RETURN_IF_ERROR(evaluate_node(node, ins, outs, store, services)
                             .with_context("constant folding"));
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      int v = node.outputs[o];
      if (v == kNoValue) continue;
      Value& val = graph.values[v];
      val.dtype = outs[o].dtype;
      val.shape = outs[o].shape;
      val.shape_known = true;
      val.constant = outs[o].ptr;
      val.producer = -1;
    }
    node.dead = true;
  }
  return graph.finalize();
}

Status remove_dead_nodes(Graph& graph) {
  std::vector<char> needed(graph.values.size(), 0);
  for (int o : graph.outputs) needed[o] = 1;
  for (int n = static_cast<int>(graph.nodes.size()) - 1; n >= 0; --n) {
    Node& node = graph.nodes[n];
    if (node.dead) continue;
    bool live = false;
    for (int v : node.outputs) live = live || (v != kNoValue && needed[v]);
    if (!live) {
      node.dead = true;
      continue;
    }
    for (int v : node.inputs)
      if (v != kNoValue) needed[v] = 1;
  }
  return graph.finalize();
}

}  // namespace seer::engine
