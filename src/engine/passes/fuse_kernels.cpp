#include "engine/passes/fuse_kernels.h"

#include <algorithm>
#include <cmath>

#include "engine/fused_ops.h"
#include "engine/op.h"

namespace seer::engine {
namespace {

struct View {
  Graph& g;
  std::vector<std::vector<int>> consumers;
  std::vector<int> producer;
  std::vector<char> is_output;

  explicit View(Graph& graph) : g(graph), consumers(graph.consumers()), producer(graph.values.size(), -1),
                                is_output(graph.values.size(), 0) {
    for (size_t n = 0; n < g.nodes.size(); ++n)
      if (!g.nodes[n].dead)
        for (int v : g.nodes[n].outputs)
          if (v != kNoValue) producer[v] = static_cast<int>(n);
    for (int v : g.outputs) is_output[v] = 1;
  }
  // The single live consumer of value v, or -1 (none, several, or v is a graph output).
  int only_consumer(int v) const {
    if (v < 0 || is_output[v]) return -1;
    int found = -1;
    for (int n : consumers[v]) {
      if (g.nodes[n].dead) continue;
      if (found != -1) return -1;
      found = n;
    }
    return found;
  }
  Node* node_of(int v) { return v >= 0 && producer[v] >= 0 ? &g.nodes[producer[v]] : nullptr; }
};

bool is_op(const Node* n, const char* type) { return n && !n->dead && n->domain.empty() && n->op_type == type; }

// The constant float scalar (numel 1) in value v, if it is one.
bool scalar_constant(const Graph& g, int v, float* out) {
  if (!g.is_constant(v)) return false;
  const Value& val = g.values[v];
  if (val.dtype != DataType::kFloat32 || val.shape.numel() != 1) return false;
  *out = *static_cast<const float*>(val.constant);
  return true;
}

// True when value v is a constant int64 (or int32) vector equal to `want`.
bool ints_constant(const Graph& g, int v, std::initializer_list<int64_t> want) {
  if (!g.is_constant(v)) return false;
  const Value& val = g.values[v];
  if (val.shape.rank() > 1 || val.shape.numel() != static_cast<int64_t>(want.size())) return false;
  size_t i = 0;
  for (int64_t w : want) {
    int64_t x;
    if (val.dtype == DataType::kInt64) x = static_cast<const int64_t*>(val.constant)[i];
    else if (val.dtype == DataType::kInt32) x = static_cast<const int32_t*>(val.constant)[i];
    else return false;
    if (x != w) return false;
    ++i;
  }
  return true;
}

// Transpose(perm [0,2,1,3]): [B,S,H,D] <-> [B,H,S,D], the head split / merge around attention.
bool head_swap(const Node* n) {
  return is_op(n, "Transpose") && n->attr_ints("perm") == std::vector<int64_t>{0, 2, 1, 3};
}

// Which seer.Attention operands are [B,S,H,D] ("bshd") rather than [B,H,S,D].
struct HeadLayouts {
  bool q = false, k = false, v = false, out = false;
};

// Head splits and merges around an attention block: a Transpose(perm [0,2,1,3]) producing *q or
// *v with no other consumer, and one that is *out's only consumer, are absorbed: their nodes go
// to *chain (to be killed), *q / *v / *out become the untransposed values, and the kernel reads
// and writes [B,S,H,D] through strides instead of a copy running per operand.
HeadLayouts absorb_head_swaps(View& view, int* q, int* v, int* out, std::vector<int>* chain) {
  HeadLayouts l;
  for (auto [side, flag] : {std::pair{q, &l.q}, std::pair{v, &l.v}}) {
    Node* t = view.node_of(*side);
    if (head_swap(t) && view.only_consumer(*side) >= 0) {
      chain->push_back(view.producer[*side]);
      *side = t->inputs[0];
      *flag = true;
    }
  }
  const int out_tr = view.only_consumer(*out);
  if (out_tr >= 0 && head_swap(&view.g.nodes[out_tr])) {
    chain->push_back(out_tr);
    *out = view.g.nodes[out_tr].outputs[0];
    l.out = true;
  }
  return l;
}

bool registered(const char* name, const char* domain) {
  return OpRegistry::global().find(name, domain, 1) != nullptr;
}

}  // namespace

Status fuse_matmul_bias(Graph& graph, int* count) {
  if (!registered("FusedMatMul", kSeerDomain)) return Status();
  View view(graph);
  bool changed = false;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    Node& mm = graph.nodes[i];
    if (!is_op(&mm, "MatMul") || mm.num_outputs() != 1) continue;
    const int add_id = view.only_consumer(mm.outputs[0]);
    if (add_id < 0 || !is_op(&graph.nodes[add_id], "Add")) continue;
    Node& add = graph.nodes[add_id];
    const int bias = add.inputs[0] == mm.outputs[0] ? add.inputs[1] : add.inputs[0];
    if (!graph.is_constant(bias) || graph.values[bias].dtype != DataType::kFloat32) continue;
    const Shape& bs = graph.values[bias].shape;
    // Only a bias along N: anything else could change the output's shape or needs the M axis.
    if (bs.rank() > 2 || bs.numel() != (bs.rank() ? bs.dim(-1) : 1)) continue;
    const Value& b_val = graph.values[mm.inputs[1]];
    if (bs.rank() && b_val.shape_known && b_val.shape.rank() >= 2 && bs.dim(-1) != b_val.shape.dim(-1) && bs.dim(-1) != 1) continue;
    if (graph.values[mm.inputs[0]].shape_known && graph.values[mm.inputs[0]].shape.rank() < 2) continue;
    if (b_val.shape_known && b_val.shape.rank() < 2) continue;
    std::string activation;
    int out = add.outputs[0];
    Node* act = nullptr;
    const int act_id = view.only_consumer(out);
    if (act_id >= 0) {
      Node& a = graph.nodes[act_id];
      if (is_op(&a, "Relu")) activation = "relu";
      else if (is_op(&a, "Sigmoid")) activation = "sigmoid";
      else if (is_op(&a, "Gelu")) activation = a.attr_string("approximate", "none") == "tanh" ? "gelu_tanh" : "gelu_erf";
      if (!activation.empty()) {
        act = &a;
        out = a.outputs[0];
      }
    }
    // A residual Add of another tensor (a transformer's skip connection) becomes the kernel's
    // binary post-op: the sum is written once instead of re-read by an Add.
    Node* res_add = nullptr;
    int residual = kNoValue;
    const int res_id = view.only_consumer(out);
    if (res_id >= 0 && is_op(&graph.nodes[res_id], "Add")) {
      Node& r = graph.nodes[res_id];
      const int other = r.inputs[0] == out ? r.inputs[1] : r.inputs[0];
      const DataType t = graph.values[other].dtype;
      if (other != out && !graph.is_constant(other) &&
          (t == DataType::kFloat32 || t == DataType::kUndefined)) {
        res_add = &r;
        residual = other;
        out = r.outputs[0];
      }
    }
    std::vector<int> inputs = {mm.inputs[0], mm.inputs[1], bias};
    if (residual != kNoValue) inputs.push_back(residual);
    std::string name = mm.name + "/fused_bias";
    mm.dead = true;
    add.dead = true;
    if (act) act->dead = true;
    if (res_add) res_add->dead = true;
    // add_node may reallocate `nodes`: no references are used after this line.
    const int id = graph.add_node("FusedMatMul", kSeerDomain, 1, inputs, {out}, name);
    if (!activation.empty()) graph.nodes[id].set_attr_string("activation", activation);
    changed = true;
    if (count) ++*count;
  }
  return changed ? graph.finalize() : Status();
}

Status fuse_attention(Graph& graph, int* count) {
  if (!registered("Attention", kSeerDomain)) return Status();
  View view(graph);
  bool changed = false;
  const size_t n_nodes = graph.nodes.size();
  for (size_t i = 0; i < n_nodes; ++i) {
    if (!is_op(&graph.nodes[i], "Softmax")) continue;
    const int sm_id = static_cast<int>(i);
    std::vector<int> chain = {sm_id};
    {
      const Node& sm = graph.nodes[sm_id];
      const int64_t axis = sm.attr_int("axis", sm.opset >= 13 ? -1 : 1);
      if (!(axis == -1 || axis == 3)) continue;
      if (sm.opset < 13 && axis != 3) continue;
    }
    // Downstream: Softmax -> MatMul(P, V).
    const int pv_id = view.only_consumer(graph.nodes[sm_id].outputs[0]);
    if (pv_id < 0 || !is_op(&graph.nodes[pv_id], "MatMul") || graph.nodes[pv_id].inputs[0] != graph.nodes[sm_id].outputs[0]) continue;
    chain.push_back(pv_id);
    // Upstream: [Add bias] <- [Mul/Div scalar] <- MatMul(Q, Kᵀ).
    float scale = 1.f;
    int bias = kNoValue;
    int cur = graph.nodes[sm_id].inputs[0];
    Node* n = view.node_of(cur);
    auto id_of = [&](const Node* node) { return static_cast<int>(node - graph.nodes.data()); };
    // True when value v is the QK MatMul's output, directly or through a scalar Mul/Div.
    auto from_scores = [&](int v) {
      Node* p = view.node_of(v);
      if (is_op(p, "Mul") || is_op(p, "Div")) {
        float c;
        if (scalar_constant(graph, p->inputs[1], &c)) p = view.node_of(p->inputs[0]);
        else if (p->op_type == "Mul" && scalar_constant(graph, p->inputs[0], &c)) p = view.node_of(p->inputs[1]);
        else return false;
      }
      return is_op(p, "MatMul");
    };
    if (is_op(n, "Add")) {
      if (view.only_consumer(cur) < 0) continue;
      const bool first = from_scores(n->inputs[0]);
      if (!first && !from_scores(n->inputs[1])) continue;
      bias = first ? n->inputs[1] : n->inputs[0];
      cur = first ? n->inputs[0] : n->inputs[1];
      chain.push_back(id_of(n));
      n = view.node_of(cur);
    }
    if (is_op(n, "Mul") || is_op(n, "Div")) {
      if (view.only_consumer(cur) < 0) continue;
      float c;
      const bool div = n->op_type == "Div";
      if (scalar_constant(graph, n->inputs[1], &c)) {
        cur = n->inputs[0];
      } else if (!div && scalar_constant(graph, n->inputs[0], &c)) {
        cur = n->inputs[1];
      } else {
        continue;
      }
      scale *= div ? 1.f / c : c;
      chain.push_back(id_of(n));
      n = view.node_of(cur);
    }
    if (!is_op(n, "MatMul") || view.only_consumer(cur) < 0) continue;
    chain.push_back(view.producer[cur]);
    int q = n->inputs[0];
    int kt = n->inputs[1];
    // Scalar Mul on Q or on Kᵀ (scaled_dot_product_attention's export) folds into the scale.
    for (int* side : {&q, &kt}) {
      Node* m = view.node_of(*side);
      float c;
      if (is_op(m, "Mul") && view.only_consumer(*side) >= 0) {
        if (scalar_constant(graph, m->inputs[1], &c)) {
          chain.push_back(view.producer[*side]);
          *side = m->inputs[0];
          scale *= c;
        } else if (scalar_constant(graph, m->inputs[0], &c)) {
          chain.push_back(view.producer[*side]);
          *side = m->inputs[1];
          scale *= c;
        }
      }
    }
    Node* tr = view.node_of(kt);
    if (!is_op(tr, "Transpose")) continue;
    const std::vector<int64_t> perm = tr->attr_ints("perm");
    // Kᵀ as [0,1,3,2] of [B,H,S,D] (or [0,2,1] of [B·H,S,D]); or, as HF exports write it (torch
    // fuses the head split's [0,2,1,3] with the .transpose(-1,-2)), [0,2,3,1] of [B,S,H,D].
    const bool k_bshd = perm == std::vector<int64_t>{0, 2, 3, 1};
    if (!k_bshd && perm != std::vector<int64_t>{0, 1, 3, 2} && perm != std::vector<int64_t>{0, 2, 1}) continue;
    bool ok = true;
    int k = tr->inputs[0];
    int v = graph.nodes[pv_id].inputs[1];
    if (view.only_consumer(kt) >= 0) chain.push_back(view.producer[kt]);
    for (int val : {q, k, v})
      if (graph.values[val].dtype != DataType::kFloat32 && graph.values[val].dtype != DataType::kUndefined) ok = false;
    if (bias != kNoValue && graph.values[bias].shape_known && graph.values[bias].shape.rank() > 4) ok = false;
    if (!ok || !std::isfinite(scale)) continue;
    int out = graph.nodes[pv_id].outputs[0];
    HeadLayouts bshd = absorb_head_swaps(view, &q, &v, &out, &chain);
    bshd.k = k_bshd;
    const std::string name = graph.nodes[pv_id].name + "/attention";
    for (int id : chain)
      if (id >= 0) graph.nodes[id].dead = true;
    std::vector<int> inputs = {q, k, v};
    if (bias != kNoValue) inputs.push_back(bias);
    const int id = graph.add_node("Attention", kSeerDomain, 1, inputs, {out}, name);
    Node& att = graph.nodes[id];
    att.set_attr_float("scale", scale);
    if (bshd.q) att.set_attr_string("q_layout", "bshd");
    if (bshd.k) att.set_attr_string("k_layout", "bshd");
    if (bshd.v) att.set_attr_string("v_layout", "bshd");
    if (bshd.out) att.set_attr_string("out_layout", "bshd");
    changed = true;
    if (count) ++*count;
  }
  return changed ? graph.finalize() : Status();
}

Status fuse_qkv_attention(Graph& graph, int* count) {
  if (!registered("QkvAttention", kSeerDomain)) return Status();
  View view(graph);
  bool changed = false;
  const size_t n_nodes = graph.nodes.size();
  for (size_t i = 0; i < n_nodes; ++i) {
    Node& att = graph.nodes[i];
    if (att.dead || att.domain != kSeerDomain || att.op_type != "Attention" || att.num_inputs() != 3) continue;
    // Q, K, V must be the dense [B,H,S,D] slices of the Split below.
    if (att.attr_string("q_layout", "bhsd") != "bhsd" || att.attr_string("k_layout", "bhsd") != "bhsd" ||
        att.attr_string("v_layout", "bhsd") != "bhsd")
      continue;
    std::vector<int> chain = {static_cast<int>(i)};
    // Q, K, V: Squeeze(axis 0) of outputs 0, 1, 2 of one Split(axis 0) into 1 + 1 + 1.
    Node* split = nullptr;
    bool ok = true;
    for (int j = 0; j < 3 && ok; ++j) {
      const int qkv = att.inputs[j];
      Node* sq = view.node_of(qkv);
      ok = is_op(sq, "Squeeze") && view.only_consumer(qkv) == static_cast<int>(i);
      if (!ok) break;
      ok = sq->opset < 13 ? sq->attr_ints("axes") == std::vector<int64_t>{0}
                          : sq->num_inputs() > 1 && ints_constant(graph, sq->inputs[1], {0});
      Node* sp = ok ? view.node_of(sq->inputs[0]) : nullptr;
      ok = ok && is_op(sp, "Split") && sp->num_outputs() == 3 && sp->outputs[j] == sq->inputs[0] &&
           view.only_consumer(sq->inputs[0]) == view.producer[qkv] && (split == nullptr || split == sp);
      if (!ok) break;
      split = sp;
      chain.push_back(view.producer[qkv]);
    }
    if (!ok || !split || split->attr_int("axis", 0) != 0) continue;
    if (split->num_inputs() > 1 && split->inputs[1] != kNoValue && !ints_constant(graph, split->inputs[1], {1, 1, 1}))
      continue;
    if (split->has_attr("split") && split->attr_ints("split") != std::vector<int64_t>{1, 1, 1}) continue;
    // Split <- Transpose(X, perm [2, 0, 3, 1, 4]): X is [B, S, 3, H, D] (a QKV projection).
    const int t_out = split->inputs[0];
    Node* tr = view.node_of(t_out);
    if (!is_op(tr, "Transpose") || tr->attr_ints("perm") != std::vector<int64_t>{2, 0, 3, 1, 4} ||
        view.only_consumer(t_out) != view.producer[split->outputs[0]])
      continue;
    // Output: [B, S, H, D], either already (fuse_attention absorbed the Transpose: out_layout
    // bshd) or through a Transpose(perm [0, 2, 1, 3]) that is its only consumer.
    int out = att.outputs[0];
    if (att.attr_string("out_layout", "bhsd") != "bshd") {
      const int out_tr_id = view.only_consumer(out);
      if (out_tr_id < 0 || !head_swap(&graph.nodes[out_tr_id])) continue;
      chain.push_back(out_tr_id);
      out = graph.nodes[out_tr_id].outputs[0];
    }
    chain.push_back(view.producer[split->outputs[0]]);
    chain.push_back(view.producer[t_out]);
    const int x = tr->inputs[0];
    const float scale = att.attr_float("scale", 1.f);
    const std::string name = att.name + "/qkv";
    for (int id : chain) graph.nodes[id].dead = true;
    const int id = graph.add_node("QkvAttention", kSeerDomain, 1, {x}, {out}, name);
    graph.nodes[id].set_attr_float("scale", scale);
    changed = true;
    if (count) ++*count;
  }
  return changed ? graph.finalize() : Status();
}

}  // namespace seer::engine
