// eliminate_transposes(): Transpose pairs that cancel, as exporters leave them around NHWC
// convolutions (tf2onnx's Keras graphs, WD14 v2: Transpose → Conv → Transpose → Relu →
// Transpose → Conv). Two rewrites, repeated until nothing changes:
//   A  Transpose(p2) ∘ Transpose(p1)             → one Transpose(p1∘p2), or nothing if identity
//   B  Transpose(p2) ∘ U ∘ Transpose(p1), U unary → U ∘ Transpose(p1∘p2), or just U
// U is an elementwise op of one tensor (its other inputs scalar constants), so it commutes with
// any permutation. A rewrite only happens when the inner values have no other reader, so no
// layout that something else needs is lost. Runs after fuse_patterns (the attention fusions
// match the exporters' own Transposes).
#include <algorithm>
#include <numeric>

#include "engine/passes/passes.h"

namespace seer::engine {
namespace {

bool is_transpose(const Node* n) {
  return n && !n->dead && n->domain.empty() && n->op_type == "Transpose" && n->has_attr("perm") &&
         n->has_input(0);
}

// Elementwise ops of their first input; other inputs must be scalar constants (Clip's bounds).
bool is_unary_elementwise(const Graph& g, const Node* n) {
  static const char* const kOps[] = {"Relu", "Sigmoid", "Tanh", "Clip", "LeakyRelu", "Gelu",
                                     "Erf", "Neg", "Abs", "Sqrt", "Exp", "HardSigmoid",
                                     "HardSwish", "Elu", "Softplus", "Reciprocal"};
  if (!n || n->dead || !n->domain.empty() || n->num_outputs() != 1 || !n->has_input(0)) return false;
  if (std::find_if(std::begin(kOps), std::end(kOps),
                   [&](const char* op) { return n->op_type == op; }) == std::end(kOps))
    return false;
  for (int i = 1; i < n->num_inputs(); ++i) {
    const int v = n->inputs[i];
    if (v == kNoValue) continue;
    if (!g.is_constant(v) || g.values[v].shape.numel() != 1) return false;
  }
  return true;
}

// ONNX Transpose: out dim i = in dim perm[i]. Applying p1 then p2 = one Transpose with
// c[i] = p1[p2[i]].
std::vector<int64_t> compose(const std::vector<int64_t>& p1, const std::vector<int64_t>& p2) {
  std::vector<int64_t> c(p2.size());
  for (size_t i = 0; i < p2.size(); ++i) c[i] = p1[p2[i]];
  return c;
}

bool is_identity(const std::vector<int64_t>& p) {
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != static_cast<int64_t>(i)) return false;
  return true;
}

bool valid_perm(const std::vector<int64_t>& p) {
  std::vector<int64_t> s = p;
  std::sort(s.begin(), s.end());
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] != static_cast<int64_t>(i)) return false;
  return true;
}

struct Uses {
  std::vector<std::vector<int>> consumers;
  std::vector<int> producer;
  std::vector<char> is_output;
  explicit Uses(const Graph& g)
      : consumers(g.consumers()), producer(g.values.size(), -1), is_output(g.values.size(), 0) {
    for (size_t n = 0; n < g.nodes.size(); ++n)
      for (int v : g.nodes[n].outputs)
        if (v != kNoValue) producer[v] = static_cast<int>(n);
    for (int v : g.outputs) is_output[v] = 1;
  }
  // v is read by exactly one node, and is no graph output.
  bool single_use(int v) const { return !is_output[v] && consumers[v].size() == 1; }
};

// Makes `t` read `source` through permutation `perm`: drops `t` (its readers read `source`)
// when perm is the identity and its output is no graph output, else rewrites it in place.
void retarget(Graph& g, Uses& uses, Node& t, int source, const std::vector<int64_t>& perm) {
  const int out = t.outputs[0];
  if (is_identity(perm) && !uses.is_output[out]) {
    for (int reader : uses.consumers[out])
      for (int& in : g.nodes[reader].inputs)
        if (in == out) in = source;
    t.dead = true;
    return;
  }
  t.inputs = {source};
  if (is_identity(perm)) {  // a graph output keeps its name: a free view of `source`
    t.op_type = "Identity";
    t.attributes.clear();
  } else {
    t.set_attr_ints("perm", perm);
  }
}

int eliminate_once(Graph& g) {
  Uses uses(g);
  int rewrites = 0;
  for (Node& t2 : g.nodes) {
    if (!is_transpose(&t2)) continue;
    const std::vector<int64_t> p2 = t2.attr_ints("perm");
    if (!valid_perm(p2)) continue;
    const int v = t2.inputs[0];
    const int pid = uses.producer[v];
    if (pid < 0) continue;
    Node& p = g.nodes[pid];
    if (is_transpose(&p)) {  // A
      const std::vector<int64_t> p1 = p.attr_ints("perm");
      if (p1.size() != p2.size() || !valid_perm(p1)) continue;
      retarget(g, uses, t2, p.inputs[0], compose(p1, p2));
      ++rewrites;
      break;  // the use lists changed: recompute them
    }
    if (is_unary_elementwise(g, &p) && uses.single_use(v)) {  // B
      const int u_in = p.inputs[0];
      const int t1id = uses.producer[u_in];
      if (t1id < 0 || !is_transpose(&g.nodes[t1id]) || !uses.single_use(u_in)) continue;
      Node& t1 = g.nodes[t1id];
      const std::vector<int64_t> p1 = t1.attr_ints("perm");
      if (p1.size() != p2.size() || !valid_perm(p1)) continue;
      p.inputs[0] = t1.inputs[0];        // U now works in the untransposed layout
      g.values[v].shape_known = false;   // its declared shape was the transposed one
      g.values[v].shape = Shape{};
      t1.dead = true;
      retarget(g, uses, t2, v, compose(p1, p2));
      ++rewrites;
      break;
    }
  }
  return rewrites;
}

}  // namespace

Status eliminate_transposes(Graph& graph, int* count) {
  int total = 0;
  // Each round removes at least one Transpose, so this ends; the cap bounds a pathological file.
  for (int round = 0; round < 100000; ++round) {
    const int n = eliminate_once(graph);
    if (n == 0) break;
    total += n;
    SEER_RETURN_IF_ERROR(graph.finalize());
  }
  if (count) *count = total;
  return Status();
}

}  // namespace seer::engine
