// TF.js graph models (format "graph-model": a TF GraphDef as JSON) -> engine nodes. The op set is
// what the TF.js converter emits for MobileNet-style SavedModels (tools/nsfwjs/OPS.md lists what
// nsfwjs's mobilenet_v2_mid uses); any other op fails the load with Unsupported naming the op and
// node. Const nodes are manifest weights of the same name, laid out for their consumer when used.
#include <nlohmann/json.hpp>
#include <set>

#include "core/base64.h"
#include "engine/tfjs/tfjs_graph_builder.h"

namespace seer::engine::tfjs {
namespace {

using nlohmann::json;

struct TfNode {
  std::string name, op;
  std::vector<std::string> inputs;  // data inputs (node names; control inputs "^x" dropped)
  const json* attr = nullptr;
};

// A translated node: a tensor, or a Const (kept as its weight name until a consumer lays it out).
struct Result {
  TVal v{};
  bool is_const = false;
  std::string weight{};
};

class GraphTranslator {
 public:
  explicit GraphTranslator(GraphBuilder& b) : b_(b) {}
  Status run(const json& topology, const json& model);

 private:
  Status translate(const TfNode& n);
  StatusOr<Result> in(const TfNode& n, size_t i);
  Status unsupported(const TfNode& n, const std::string& what) {
    return Status::unsupported("TF.js graph model: op {} in node '{}': {}", n.op, n.name, what);
  }
  Status error(const TfNode& n, const std::string& what) {
    return Status::invalid_argument("TF.js graph model: op {} in node '{}': {}", n.op, n.name, what);
  }
  // AttrValue accessors (JSON form of tensorflow.AttrValue; strings are base64).
  StatusOr<std::string> attr_s(const TfNode& n, const char* key, std::string fallback = {});
  std::vector<int64_t> attr_ints(const TfNode& n, const char* key);
  StatusOr<std::vector<std::string>> attr_strings(const TfNode& n, const char* key);
  int64_t attr_i(const TfNode& n, const char* key, int64_t fallback);
  bool attr_b(const TfNode& n, const char* key, bool fallback);

  Status binary(const TfNode& n, const char* op);
  Status conv(const TfNode& n, bool depthwise, bool fused);
  Status pool(const TfNode& n, const char* op);
  Status matmul(const TfNode& n, bool fused);
  Status squeeze(const TfNode& n);
  // ["BiasAdd"] / ["BiasAdd","Relu"] / ["BiasAdd","Relu6"] -> the activation; else Unsupported.
  StatusOr<std::string> fused_activation(const TfNode& n, bool* has_bias);

  GraphBuilder& b_;
  std::map<std::string, Result> done_;
};

StatusOr<std::string> GraphTranslator::attr_s(const TfNode& n, const char* key, std::string fallback) {
  if (!n.attr || !n.attr->contains(key) || !(*n.attr)[key].contains("s")) return fallback;
  auto d = base64_decode((*n.attr)[key]["s"].get<std::string>());
  if (!d.ok()) return error(n, fmt::format("attribute {} is not base64", key));
  return *d;
}

std::vector<int64_t> GraphTranslator::attr_ints(const TfNode& n, const char* key) {
  std::vector<int64_t> out;
  if (!n.attr || !n.attr->contains(key)) return out;
  const json& a = (*n.attr)[key];
  if (!a.contains("list") || !a["list"].contains("i")) return out;
  for (const json& v : a["list"]["i"])
    out.push_back(v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>());
  return out;
}

StatusOr<std::vector<std::string>> GraphTranslator::attr_strings(const TfNode& n, const char* key) {
  std::vector<std::string> out;
  if (!n.attr || !n.attr->contains(key)) return out;
  const json& a = (*n.attr)[key];
  if (!a.contains("list") || !a["list"].contains("s")) return out;
  for (const json& v : a["list"]["s"]) {
    auto d = base64_decode(v.get<std::string>());
    if (!d.ok()) return error(n, fmt::format("attribute {} is not base64", key));
    out.push_back(*d);
  }
  return out;
}

int64_t GraphTranslator::attr_i(const TfNode& n, const char* key, int64_t fallback) {
  if (!n.attr || !n.attr->contains(key) || !(*n.attr)[key].contains("i")) return fallback;
  const json& v = (*n.attr)[key]["i"];
  return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>();
}

bool GraphTranslator::attr_b(const TfNode& n, const char* key, bool fallback) {
  if (!n.attr || !n.attr->contains(key) || !(*n.attr)[key].contains("b")) return fallback;
  return (*n.attr)[key]["b"].get<bool>();
}

StatusOr<Result> GraphTranslator::in(const TfNode& n, size_t i) {
  if (i >= n.inputs.size()) return error(n, fmt::format("needs input {}", i));
  return done_.at(n.inputs[i]);
}

StatusOr<std::string> GraphTranslator::fused_activation(const TfNode& n, bool* has_bias) {
  SEER_ASSIGN_OR_RETURN(std::vector<std::string> ops, attr_strings(n, "fused_ops"));
  *has_bias = false;
  if (ops.empty()) return std::string();
  if (ops[0] != "BiasAdd" || ops.size() > 2) return unsupported(n, fmt::format("fused_ops [{}]", fmt::join(ops, ",")));
  if (attr_i(n, "num_args", 1) != 1) return unsupported(n, "num_args != 1");
  *has_bias = true;
  if (ops.size() == 1) return std::string();
  if (ops[1] == "Relu") return std::string("relu");
  if (ops[1] == "Relu6") return std::string("relu6");
  return unsupported(n, fmt::format("fused_ops [{}]", fmt::join(ops, ",")));
}

Status GraphTranslator::binary(const TfNode& n, const char* op) {
  SEER_ASSIGN_OR_RETURN(Result a, in(n, 0));
  SEER_ASSIGN_OR_RETURN(Result c, in(n, 1));
  if (a.is_const && c.is_const) return unsupported(n, "both operands are constants");
  const bool nchw = a.is_const ? c.v.nchw : a.v.nchw;
  auto operand = [&](Result& r, const std::string& suffix) -> StatusOr<int> {
    if (!r.is_const) {
      if (r.v.nchw != nchw) return unsupported(n, "operands of different layouts");
      SEER_ASSIGN_OR_RETURN(TVal v, b_.materialize(r.v, n.name + suffix + "/pad"));
      return v.id;
    }
    SEER_ASSIGN_OR_RETURN(const TfjsWeightEntry* e, b_.entry(r.weight, -1));
    SEER_ASSIGN_OR_RETURN(std::vector<float> w, b_.weights().decode(r.weight));
    if (e->shape.numel() == 1) return b_.scalar(w[0]);
    if (nchw && e->shape.rank() == 1) return b_.per_channel(n.name + suffix, w.data(), e->shape[0], true);
    if (!nchw) return b_.constant(n.name + suffix, e->shape, w.data());
    return unsupported(n, fmt::format("constant {} of shape {} against an image tensor", r.weight,
                                      e->shape.to_string()));
  };
  SEER_ASSIGN_OR_RETURN(int x, operand(a, "/a"));
  SEER_ASSIGN_OR_RETURN(int y, operand(c, "/b"));
  done_[n.name] = {.v = {.id = b_.node(op, {x, y}, n.name), .nchw = nchw}};
  return Status();
}

Status GraphTranslator::conv(const TfNode& n, bool depthwise, bool fused) {
  SEER_ASSIGN_OR_RETURN(Result x, in(n, 0));
  SEER_ASSIGN_OR_RETURN(Result f, in(n, 1));
  if (x.is_const || !f.is_const) return unsupported(n, "needs a tensor input and a constant filter");
  SEER_ASSIGN_OR_RETURN(std::string fmt_, attr_s(n, "data_format", "NHWC"));
  if (fmt_ != "NHWC") return unsupported(n, fmt::format("data_format {}", fmt_));
  SEER_ASSIGN_OR_RETURN(std::string padding, attr_s(n, "padding"));
  if (padding != "SAME" && padding != "VALID") return unsupported(n, fmt::format("padding '{}'", padding));
  std::vector<int64_t> st = attr_ints(n, "strides"), dil = attr_ints(n, "dilations");
  if (st.empty()) st = {1, 1, 1, 1};
  if (dil.empty()) dil = {1, 1, 1, 1};
  if (st.size() != 4 || dil.size() != 4 || st[0] != 1 || st[3] != 1 || dil[0] != 1 || dil[3] != 1)
    return unsupported(n, "strides/dilations other than [1,h,w,1]");
  ConvSpec s{.name = n.name, .x = x.v};
  s.stride[0] = st[1]; s.stride[1] = st[2];
  s.dilation[0] = dil[1]; s.dilation[1] = dil[2];
  s.same = padding == "SAME";
  if (depthwise) SEER_RETURN_IF_ERROR(b_.load_depthwise_kernel(f.weight, &s).with_context(n.name));
  else SEER_RETURN_IF_ERROR(b_.load_hwio_kernel(f.weight, &s).with_context(n.name));
  if (fused) {
    bool has_bias;
    SEER_ASSIGN_OR_RETURN(s.activation, fused_activation(n, &has_bias));
    if (has_bias) {
      SEER_ASSIGN_OR_RETURN(Result bias, in(n, 2));
      if (!bias.is_const) return unsupported(n, "bias is not a constant");
      SEER_ASSIGN_OR_RETURN(s.bias, b_.weight(bias.weight, s.c_out));
    }
  }
  SEER_ASSIGN_OR_RETURN(TVal y, b_.conv(s));
  done_[n.name] = {.v = y};
  return Status();
}

Status GraphTranslator::pool(const TfNode& n, const char* op) {
  SEER_ASSIGN_OR_RETURN(Result x, in(n, 0));
  if (x.is_const || !x.v.nchw) return unsupported(n, "input is not an NHWC image tensor");
  SEER_ASSIGN_OR_RETURN(std::string fmt_, attr_s(n, "data_format", "NHWC"));
  SEER_ASSIGN_OR_RETURN(std::string padding, attr_s(n, "padding"));
  std::vector<int64_t> k = attr_ints(n, "ksize"), st = attr_ints(n, "strides");
  if (fmt_ != "NHWC" || k.size() != 4 || st.size() != 4 || k[0] != 1 || k[3] != 1 || st[0] != 1 || st[3] != 1)
    return unsupported(n, "only NHWC 2-D pooling with ksize/strides [1,h,w,1]");
  if (padding != "SAME" && padding != "VALID") return unsupported(n, fmt::format("padding '{}'", padding));
  SEER_ASSIGN_OR_RETURN(TVal v, b_.materialize(x.v, n.name + "/pad"));
  TVal y{.id = b_.node(op, {v.id}, n.name), .nchw = true};
  Node& node = b_.last();
  node.set_attr_ints("kernel_shape", {k[1], k[2]});
  node.set_attr_ints("strides", {st[1], st[2]});
  // TF SAME pools over the in-image cells only (averages exclude the padding).
  if (padding == "SAME") node.set_attr_string("auto_pad", "SAME_UPPER");
  if (std::string(op) == "AveragePool") node.set_attr_int("count_include_pad", 0);
  done_[n.name] = {.v = y};
  return Status();
}

Status GraphTranslator::squeeze(const TfNode& n) {
  SEER_ASSIGN_OR_RETURN(Result x, in(n, 0));
  if (x.is_const) return unsupported(n, "constant input");
  std::vector<int64_t> dims = attr_ints(n, "squeeze_dims");
  if (dims.empty()) dims = attr_ints(n, "axis");
  if (dims.empty()) return unsupported(n, "squeeze of every size-1 dim (give squeeze_dims)");
  TVal v = x.v;
  std::set<int64_t> s;
  for (int64_t d : dims) s.insert(d < 0 ? d + 4 : d);
  std::vector<int64_t> axes;
  if (v.nchw && s.count(1) && s.count(2)) {  // H and W go: NCHW and NHWC leave the same order
    for (int64_t d : s) axes.push_back(GraphBuilder::nchw_axis(d));
    SEER_ASSIGN_OR_RETURN(v, b_.materialize(v, n.name + "/pad"));
  } else {
    SEER_ASSIGN_OR_RETURN(v, b_.to_nhwc(v, n.name + "/nhwc"));
    axes = dims;
  }
  SEER_ASSIGN_OR_RETURN(int ax, b_.constant_i64(n.name + "/axes", axes));
  done_[n.name] = {.v = {.id = b_.node("Squeeze", {v.id, ax}, n.name)}};
  return Status();
}

Status GraphTranslator::matmul(const TfNode& n, bool fused) {
  SEER_ASSIGN_OR_RETURN(Result a, in(n, 0));
  SEER_ASSIGN_OR_RETURN(Result w, in(n, 1));
  if (a.is_const || a.v.nchw || !w.is_const) return unsupported(n, "needs a 2-D tensor times a constant matrix");
  if (attr_b(n, "transpose_a", false)) return unsupported(n, "transpose_a");
  SEER_ASSIGN_OR_RETURN(const TfjsWeightEntry* e, b_.entry(w.weight, 2));
  SEER_ASSIGN_OR_RETURN(std::vector<float> m, b_.weights().decode(w.weight));
  int64_t k = e->shape[0], cols = e->shape[1];
  if (attr_b(n, "transpose_b", false)) {  // stored [N,K]: lay out as [K,N] once
    std::vector<float> t(m.size());
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < cols; ++c) t[c * k + r] = m[r * cols + c];
    std::swap(k, cols);
    m.swap(t);
  }
  SEER_ASSIGN_OR_RETURN(int wid, b_.constant(n.name + "/W", Shape{k, cols}, m.data()));
  std::string act;
  bool has_bias = false;
  if (fused) {
    SEER_ASSIGN_OR_RETURN(act, fused_activation(n, &has_bias));
  }
  int y = b_.node("MatMul", {a.v.id, wid}, has_bias || !act.empty() ? n.name + "/matmul" : n.name);
  if (has_bias) {
    SEER_ASSIGN_OR_RETURN(Result bias, in(n, 2));
    if (!bias.is_const) return unsupported(n, "bias is not a constant");
    SEER_ASSIGN_OR_RETURN(const float* bv, b_.weight(bias.weight, cols));
    int bid = b_.constant_view(n.name + "/B", Shape{cols}, bv);
    y = b_.node("Add", {y, bid}, act.empty() ? n.name : n.name + "/bias");
  }
  SEER_ASSIGN_OR_RETURN(TVal out, b_.activation(n.name, TVal{.id = y}, act));
  done_[n.name] = {.v = out};
  return Status();
}

Status GraphTranslator::translate(const TfNode& n) {
  const std::string& op = n.op;
  if (op == "Const") {
    if (!b_.weights().find(n.name))
      return error(n, "no weight of this name in the manifest (inline constant values are not supported)");
    done_[n.name] = {.is_const = true, .weight = n.name};
    return Status();
  }
  if (op == "Placeholder") {
    if (n.attr && n.attr->contains("dtype") && (*n.attr)["dtype"].value("type", "DT_FLOAT") != "DT_FLOAT")
      return unsupported(n, "input dtype other than DT_FLOAT");
    Shape shape;
    const json* dims = nullptr;
    if (n.attr && n.attr->contains("shape") && (*n.attr)["shape"].contains("shape"))
      dims = &(*n.attr)["shape"]["shape"];
    if (!dims || !dims->contains("dim")) return unsupported(n, "input without a known rank");
    for (const json& d : (*dims)["dim"]) {
      const json& sz = d.contains("size") ? d["size"] : json("-1");
      int64_t v = sz.is_string() ? std::stoll(sz.get<std::string>()) : sz.get<int64_t>();
      shape.push_back(v < 0 ? kDynamicDim : v);
    }
    SEER_ASSIGN_OR_RETURN(TVal v, b_.input(n.name, shape));
    done_[n.name] = {.v = v};
    return Status();
  }
  if (op == "Identity") {
    SEER_ASSIGN_OR_RETURN(Result x, in(n, 0));
    done_[n.name] = x;
    return Status();
  }
  if (op == "Mul") return binary(n, "Mul");
  if (op == "Sub") return binary(n, "Sub");
  if (op == "AddV2" || op == "Add") return binary(n, "Add");
  if (op == "RealDiv") return binary(n, "Div");
  if (op == "Maximum") return binary(n, "Max");
  if (op == "Minimum") return binary(n, "Min");
  if (op == "BiasAdd") return binary(n, "Add");
  if (op == "Relu" || op == "Relu6" || op == "Sigmoid" || op == "Tanh") {
    SEER_ASSIGN_OR_RETURN(Result x, in(n, 0));
    if (x.is_const) return unsupported(n, "constant input");
    std::string act = op == "Relu" ? "relu" : op == "Relu6" ? "relu6" : op == "Sigmoid" ? "sigmoid" : "tanh";
    SEER_ASSIGN_OR_RETURN(TVal y, b_.activation(n.name, x.v, act));
    done_[n.name] = {.v = y};
    return Status();
  }
  if (op == "Conv2D") return conv(n, false, false);
  if (op == "_FusedConv2D") return conv(n, false, true);
  if (op == "DepthwiseConv2dNative") return conv(n, true, false);
  if (op == "FusedDepthwiseConv2dNative") return conv(n, true, true);
  if (op == "AvgPool") return pool(n, "AveragePool");
  if (op == "MaxPool") return pool(n, "MaxPool");
  if (op == "Squeeze") return squeeze(n);
  if (op == "MatMul") return matmul(n, false);
  if (op == "_FusedMatMul") return matmul(n, true);
  if (op == "Softmax") {
    SEER_ASSIGN_OR_RETURN(Result x, in(n, 0));
    if (x.is_const || x.v.nchw) return unsupported(n, "softmax of a constant or an image tensor");
    SEER_ASSIGN_OR_RETURN(TVal y, b_.activation(n.name, x.v, "softmax"));
    done_[n.name] = {.v = y};
    return Status();
  }
  return Status::unsupported("TF.js graph model: op {} (node '{}') is not supported", op, n.name);
}

Status GraphTranslator::run(const json& topology, const json& model) {
  if (!topology.contains("node") || !topology["node"].is_array())
    return Status::invalid_argument("TF.js graph model: modelTopology has no node list");
  std::vector<TfNode> nodes;
  std::map<std::string, size_t> by_name;
  for (const json& j : topology["node"]) {
    TfNode n;
    if (!j.is_object() || !j.contains("name") || !j.contains("op"))
      return Status::invalid_argument("TF.js graph model: a node without name or op");
    n.name = j["name"].get<std::string>();
    n.op = j["op"].get<std::string>();
    if (j.contains("attr")) n.attr = &j["attr"];
    for (const json& in : j.value("input", json::array())) {
      std::string s = in.get<std::string>();
      if (s.empty() || s[0] == '^') continue;  // control dependency: no data flows
      if (auto colon = s.rfind(':'); colon != std::string::npos) {
        if (s.substr(colon + 1) != "0")
          return Status::unsupported("TF.js graph model: node '{}' reads output {} (only :0)", n.name, s);
        s.resize(colon);
      }
      n.inputs.push_back(s);
    }
    if (!by_name.emplace(n.name, nodes.size()).second)
      return Status::invalid_argument("TF.js graph model: node name '{}' appears twice", n.name);
    nodes.push_back(std::move(n));
  }
  // Kahn's order over data inputs (TF does not promise a sorted node list).
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<size_t>> users(nodes.size());
  std::vector<int> uses(nodes.size(), 0);
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const std::string& s : nodes[i].inputs) {
      auto it = by_name.find(s);
      if (it == by_name.end())
        return Status::invalid_argument("TF.js graph model: node '{}' reads unknown node '{}'", nodes[i].name, s);
      users[it->second].push_back(i);
      ++pending[i];
      ++uses[it->second];
    }
  std::vector<size_t> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!pending[i]) ready.push_back(i);
  size_t translated = 0;
  for (size_t r = 0; r < ready.size(); ++r) {
    const TfNode& n = nodes[ready[r]];
    SEER_RETURN_IF_ERROR(translate(n));
    ++translated;
    for (size_t u : users[ready[r]])
      if (--pending[u] == 0) ready.push_back(u);
  }
  if (translated != nodes.size()) return Status::invalid_argument("TF.js graph model: the graph has a cycle");

  // Outputs: the signature's, else every non-Const node nobody reads.
  std::vector<std::string> outs;
  const json* sig = nullptr;
  if (model.contains("userDefinedMetadata") && model["userDefinedMetadata"].contains("signature"))
    sig = &model["userDefinedMetadata"]["signature"];
  if (sig && sig->contains("outputs") && (*sig)["outputs"].is_object()) {
    for (const auto& [key, v] : (*sig)["outputs"].items()) {
      std::string name = v.is_object() && v.contains("name") ? v["name"].get<std::string>() : key;
      outs.push_back(name.substr(0, name.rfind(':')));
    }
  } else {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (!uses[i] && nodes[i].op != "Const" && nodes[i].op != "NoOp") outs.push_back(nodes[i].name);
  }
  if (outs.empty()) return Status::invalid_argument("TF.js graph model: no outputs");
  for (const std::string& o : outs) {
    auto it = done_.find(o);
    if (it == done_.end()) return Status::invalid_argument("TF.js graph model: output '{}' is not a node", o);
    if (it->second.is_const) return Status::unsupported("TF.js graph model: output '{}' is a constant", o);
    SEER_RETURN_IF_ERROR(b_.output(it->second.v, o));
  }
  return Status();
}

}  // namespace

Status translate_graph_model(const json& topology, const json& model, GraphBuilder& b) {
  GraphTranslator t(b);
  return t.run(topology, model);
}

}  // namespace seer::engine::tfjs
