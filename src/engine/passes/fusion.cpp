// fuse_patterns(): decomposed LayerNorm -> LayerNormalization, both GELU forms -> Gelu, then the
// kernels' fusions (MatMul+bias[+act] -> seer.FusedMatMul, attention -> seer.Attention). GELU
// goes first so a MatMul+Add+GELU chain becomes one FusedMatMul with a GELU epilogue.
#include <cmath>

#include "engine/fused_ops.h"
#include "engine/passes/fuse_kernels.h"
#include "engine/passes/passes.h"

namespace seer::engine {
namespace {

struct Index {
  Graph& g;
  std::vector<std::vector<int>> consumers;
  std::vector<int> producer;
  std::vector<char> is_output;
  explicit Index(Graph& graph)
      : g(graph), consumers(graph.consumers()), producer(graph.values.size(), -1),
        is_output(graph.values.size(), 0) {
    for (size_t n = 0; n < g.nodes.size(); ++n)
      for (int v : g.nodes[n].outputs)
        if (v != kNoValue) producer[v] = static_cast<int>(n);
    for (int v : g.outputs) is_output[v] = 1;
  }
  Node* prod(int v) {
    if (v < 0 || producer[v] < 0) return nullptr;
    Node* n = &g.nodes[producer[v]];
    return n->dead ? nullptr : n;
  }
  // The only live consumer of v (not a graph output), else nullptr.
  Node* only(int v) {
    if (v < 0 || is_output[v]) return nullptr;
    Node* found = nullptr;
    for (int n : consumers[v]) {
      if (g.nodes[n].dead) continue;
      if (found) return nullptr;
      found = &g.nodes[n];
    }
    return found;
  }
};

bool is(const Node* n, const char* op) { return n && !n->dead && n->domain.empty() && n->op_type == op; }

bool scalar(const Graph& g, int v, double want, double tol) {
  if (!g.is_constant(v)) return false;
  const Value& val = g.values[v];
  if (val.shape.numel() != 1) return false;
  double x;
  if (val.dtype == DataType::kFloat32) x = *static_cast<const float*>(val.constant);
  else if (val.dtype == DataType::kFloat64) x = *static_cast<const double*>(val.constant);
  else return false;
  return std::abs(x - want) <= tol * std::abs(want);
}

// The input of binary node n that is not `v` (n's inputs are {v, other}), or -1.
int other_input(const Node& n, int v) {
  if (n.num_inputs() != 2) return -1;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return -1;
}

// Given `t` = 1 + erf(x/√2) (or 1 + tanh(...)), finds x·t·0.5 in any Mul order. Returns the node
// producing y and marks the intermediates dead through `dead`.
Node* find_half_product(Index& ix, int t, int x, std::vector<Node*>* dead) {
  Node* m1 = ix.only(t);
  if (!is(m1, "Mul")) return nullptr;
  const int o1 = other_input(*m1, t);
  if (o1 == x) {  // (x·t)·0.5
    Node* m2 = ix.only(m1->outputs[0]);
    if (!is(m2, "Mul") || !scalar(ix.g, other_input(*m2, m1->outputs[0]), 0.5, 1e-6)) return nullptr;
    dead->push_back(m1);
    return m2;
  }
  if (scalar(ix.g, o1, 0.5, 1e-6)) {  // (t·0.5)·x
    Node* m2 = ix.only(m1->outputs[0]);
    if (!is(m2, "Mul") || other_input(*m2, m1->outputs[0]) != x) return nullptr;
    dead->push_back(m1);
    return m2;
  }
  Node* h = ix.prod(o1);  // (x·0.5)·t
  if (is(h, "Mul") && ix.only(o1) == m1 && other_input(*h, x) >= 0 &&
      scalar(ix.g, other_input(*h, x), 0.5, 1e-6)) {
    dead->push_back(h);
    return m1;
  }
  return nullptr;
}

void replace_with(Graph& g, std::vector<Node*>& dead, Node* last, Node fused) {
  fused.outputs = {last->outputs[0]};
  for (Node* n : dead) n->dead = true;
  last->dead = true;
  g.nodes.push_back(std::move(fused));
}

int fuse_gelu(Graph& g) {
  if (!OpRegistry::global().find("Gelu", "", kFusedGeluOpset)) return 0;
  int count = 0;
  const size_t n_nodes = g.nodes.size();
  for (size_t i = 0; i < n_nodes; ++i) {
    Index ix(g);
    Node& act = g.nodes[i];
    if (act.dead || !(is(&act, "Erf") || is(&act, "Tanh"))) continue;
    const bool tanh_form = act.op_type == "Tanh";
    std::vector<Node*> dead{&act};
    Node* pre = ix.prod(act.inputs[0]);
    int x = -1;
    if (!tanh_form) {  // erf(x / √2) or erf(x · 1/√2)
      if (is(pre, "Div") && scalar(g, pre->inputs[1], std::sqrt(2.0), 1e-4)) x = pre->inputs[0];
      else if (is(pre, "Mul") && scalar(g, pre->inputs[1], std::sqrt(0.5), 1e-4)) x = pre->inputs[0];
      else if (is(pre, "Mul") && scalar(g, pre->inputs[0], std::sqrt(0.5), 1e-4)) x = pre->inputs[1];
    } else {  // tanh(√(2/π) · (x + 0.044715·x³))
      if (!is(pre, "Mul")) continue;
      int inner = -1;
      if (scalar(g, pre->inputs[1], std::sqrt(2.0 / M_PI), 1e-4)) inner = pre->inputs[0];
      else if (scalar(g, pre->inputs[0], std::sqrt(2.0 / M_PI), 1e-4)) inner = pre->inputs[1];
      Node* add = ix.prod(inner);
      if (!is(add, "Add") || ix.only(inner) != pre) continue;
      for (int k = 0; k < 2 && x < 0; ++k) {
        Node* cube = ix.prod(add->inputs[1 - k]);
        if (is(cube, "Mul") && (scalar(g, cube->inputs[0], 0.044715, 1e-3) || scalar(g, cube->inputs[1], 0.044715, 1e-3))) {
          x = add->inputs[k];
          dead.push_back(cube);
        }
      }
      if (x >= 0) dead.push_back(add);
    }
    if (x < 0 || !pre || ix.only(act.inputs[0]) != &act) continue;
    dead.push_back(pre);
    Node* plus = ix.only(act.outputs[0]);
    if (!is(plus, "Add") || !scalar(g, other_input(*plus, act.outputs[0]), 1.0, 1e-6)) continue;
    dead.push_back(plus);
    Node* last = find_half_product(ix, plus->outputs[0], x, &dead);
    if (!last) continue;
    Node gelu;
    gelu.op_type = "Gelu";
    gelu.opset = kFusedGeluOpset;
    gelu.name = act.name + "/fused_gelu";
    gelu.inputs = {x};
    gelu.set_attr_string("approximate", tanh_form ? "tanh" : "none");
    // Intermediates of the x³ term die with dead-node removal once nothing reads them.
    replace_with(g, dead, last, std::move(gelu));
    ++count;
  }
  return count;
}

bool last_axis_mean(const Graph& g, const Node& n, int x) {
  if (!is(&n, "ReduceMean") || n.attr_int("keepdims", 1) != 1) return false;
  std::vector<int64_t> axes = n.attr_ints("axes");
  if (n.num_inputs() > 1 && n.inputs[1] != kNoValue) {
    if (!g.is_constant(n.inputs[1]) || g.values[n.inputs[1]].shape.numel() != 1) return false;
    axes = {*static_cast<const int64_t*>(g.values[n.inputs[1]].constant)};
  }
  if (axes.size() != 1) return false;
  if (axes[0] == -1) return true;
  const Value& v = g.values[x];
  return v.shape_known && axes[0] == v.shape.rank() - 1;
}

Status fuse_layer_norm(Graph& g, WeightStore& store, int* count) {
  if (!OpRegistry::global().find("LayerNormalization", "", kFusedLayerNormOpset)) return Status();
  const size_t n_nodes = g.nodes.size();
  for (size_t i = 0; i < n_nodes; ++i) {
    Index ix(g);
    Node& div = g.nodes[i];
    if (!is(&div, "Div")) continue;
    Node* sub = ix.prod(div.inputs[0]);
    Node* sq = ix.prod(div.inputs[1]);
    if (!is(sub, "Sub") || !is(sq, "Sqrt")) continue;
    const int x = sub->inputs[0];
    Node* mean = ix.prod(sub->inputs[1]);
    if (!mean || !last_axis_mean(g, *mean, x) || mean->inputs[0] != x) continue;
    Node* add_eps = ix.prod(sq->inputs[0]);
    if (!is(add_eps, "Add") || !g.is_constant(add_eps->inputs[1]) ||
        g.values[add_eps->inputs[1]].shape.numel() != 1 || g.values[add_eps->inputs[1]].dtype != DataType::kFloat32)
      continue;
    const float eps = *static_cast<const float*>(g.values[add_eps->inputs[1]].constant);
    Node* var = ix.prod(add_eps->inputs[0]);
    if (!var || !last_axis_mean(g, *var, x)) continue;
    Node* pw = ix.prod(var->inputs[0]);
    const bool square = (is(pw, "Pow") && pw->inputs[0] == sub->outputs[0] && scalar(g, pw->inputs[1], 2.0, 1e-6)) ||
                        (is(pw, "Mul") && pw->inputs[0] == sub->outputs[0] && pw->inputs[1] == sub->outputs[0]);
    if (!square) continue;
    // Every intermediate must feed only this pattern.
    if (ix.only(mean->outputs[0]) != sub || ix.only(pw->outputs[0]) != var || ix.only(var->outputs[0]) != add_eps ||
        ix.only(add_eps->outputs[0]) != sq || ix.only(sq->outputs[0]) != &div)
      continue;
    int sub_users = 0;
    for (int u : ix.consumers[sub->outputs[0]]) sub_users += !g.nodes[u].dead;
    if (sub_users != 2 || ix.is_output[sub->outputs[0]]) continue;
    std::vector<Node*> dead{mean, sub, pw, var, add_eps, sq};
    Node* last = &div;
    int gamma = -1, beta = -1;
    Node* mul = ix.only(div.outputs[0]);
    if (is(mul, "Mul") && g.is_constant(other_input(*mul, div.outputs[0]))) {
      gamma = other_input(*mul, div.outputs[0]);
      dead.push_back(last);
      last = mul;
      Node* add = ix.only(mul->outputs[0]);
      if (is(add, "Add") && g.is_constant(other_input(*add, mul->outputs[0]))) {
        beta = other_input(*add, mul->outputs[0]);
        dead.push_back(last);
        last = add;
      }
    }
    const Value& xv = g.values[x];
    if (gamma < 0) {  // LayerNormalization needs a scale: make ones of the last dim
      if (!xv.shape_known || xv.shape.rank() == 0 || xv.shape.dim(-1) <= 0) continue;
      const int64_t n = xv.shape.dim(-1);
      SEER_ASSIGN_OR_RETURN(void* p, store.allocate(n * sizeof(float)));
      for (int64_t k = 0; k < n; ++k) static_cast<float*>(p)[k] = 1.f;
      gamma = g.add_value(div.name + "/ones", DataType::kFloat32, Shape{n}, true);
      g.values[gamma].constant = p;
    }
    if (g.values[gamma].dtype != DataType::kFloat32 || g.values[gamma].shape.rank() > 1) continue;
    if (beta >= 0 && (g.values[beta].dtype != DataType::kFloat32 || g.values[beta].shape.rank() > 1)) continue;
    Node ln;
    ln.op_type = "LayerNormalization";
    ln.opset = kFusedLayerNormOpset;
    ln.name = div.name + "/fused_layernorm";
    ln.inputs = {x, gamma};
    if (beta >= 0) ln.inputs.push_back(beta);
    ln.set_attr_int("axis", -1);
    ln.set_attr_float("epsilon", eps);
    replace_with(g, dead, last, std::move(ln));
    ++*count;
  }
  return Status();
}

}  // namespace

Status fuse_patterns(Graph& graph, WeightStore& store, int* count) {
  int n = 0;
  SEER_RETURN_IF_ERROR(fuse_layer_norm(graph, store, &n));
  n += fuse_gelu(graph);
  SEER_RETURN_IF_ERROR(graph.finalize());
  // The nodes a fused pattern replaced (e.g. the x·x·x Muls of the tanh GELU) still consume the
  // MatMul output until removed; MatMul-with-activation fusion needs the Gelu as its only consumer.
  SEER_RETURN_IF_ERROR(remove_dead_nodes(graph));
  SEER_RETURN_IF_ERROR(fuse_matmul_bias(graph, &n));
  SEER_RETURN_IF_ERROR(fuse_attention(graph, &n));
  SEER_RETURN_IF_ERROR(fuse_qkv_attention(graph, &n));
  SEER_RETURN_IF_ERROR(graph.finalize());
  if (count) *count = n;
  return Status();
}

}  // namespace seer::engine
