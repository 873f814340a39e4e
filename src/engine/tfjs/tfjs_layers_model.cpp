// TF.js layers models (Keras functional topology JSON) -> engine nodes. One node per layer, each
// called once (tools/nsfwjs/FORMAT.md); a BatchNormalization that only reads a linear convolution
// is folded into that convolution's weights and bias, a ZeroPadding2D into the next VALID
// convolution's pads. Unknown layer classes or config values fail with Unsupported naming the
// class and the layer.
#include <array>
#include <cmath>
#include <set>
#include <nlohmann/json.hpp>

#include "engine/tfjs/tfjs_graph_builder.h"

namespace seer::engine::tfjs {
namespace {

using nlohmann::json;

struct Layer {
  std::string name, cls;
  const json* config = nullptr;
  std::vector<std::string> inputs;
};

class LayersTranslator {
 public:
  explicit LayersTranslator(GraphBuilder& b) : b_(b) {}
  Status run(const json& topology);

 private:
  Status translate(const Layer& l);
  Status unsupported(const Layer& l, const std::string& what) {
    return Status::unsupported("TF.js layers model: layer '{}' ({}): {}", l.name, l.cls, what);
  }
  Status error(const Layer& l, const std::string& what) {
    return Status::invalid_argument("TF.js layers model: layer '{}' ({}): {}", l.name, l.cls, what);
  }
  StatusOr<TVal> in(const Layer& l, size_t i);
  // Two ints from config[key] (a number or [a, b]); fallback when absent or null.
  StatusOr<std::array<int64_t, 2>> pair(const Layer& l, const char* key, std::array<int64_t, 2> fallback);
  std::string str(const Layer& l, const char* key, const std::string& fallback);

  Status conv(const Layer& l, bool depthwise);
  Status batch_norm(const Layer& l);
  Status pool(const Layer& l, const char* op);
  Status dense(const Layer& l);
  // The BatchNormalization that is the only reader of `layer`, if any.
  const Layer* only_bn_consumer(const std::string& layer) const;
  void set(const Layer& l, TVal v) { done_[l.name] = v; }

  GraphBuilder& b_;
  std::vector<Layer> layers_;
  std::map<std::string, size_t> by_name_;
  std::map<std::string, std::vector<size_t>> readers_;
  std::set<std::string> outputs_, folded_;
  std::map<std::string, TVal> done_;
};

StatusOr<TVal> LayersTranslator::in(const Layer& l, size_t i) {
  if (i >= l.inputs.size()) return error(l, fmt::format("needs input {}", i));
  auto it = done_.find(l.inputs[i]);
  if (it == done_.end()) return error(l, fmt::format("reads '{}' before it is computed", l.inputs[i]));
  return it->second;
}

StatusOr<std::array<int64_t, 2>> LayersTranslator::pair(const Layer& l, const char* key,
                                                        std::array<int64_t, 2> fallback) {
  if (!l.config->contains(key) || (*l.config)[key].is_null()) return fallback;
  const json& v = (*l.config)[key];
  if (v.is_number_integer()) return std::array<int64_t, 2>{v.get<int64_t>(), v.get<int64_t>()};
  if (v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer())
    return std::array<int64_t, 2>{v[0].get<int64_t>(), v[1].get<int64_t>()};
  return unsupported(l, fmt::format("{} = {}", key, v.dump()));
}

std::string LayersTranslator::str(const Layer& l, const char* key, const std::string& fallback) {
  if (!l.config->contains(key) || !(*l.config)[key].is_string()) return fallback;
  return (*l.config)[key].get<std::string>();
}

const Layer* LayersTranslator::only_bn_consumer(const std::string& layer) const {
  auto it = readers_.find(layer);
  if (outputs_.count(layer) || it == readers_.end() || it->second.size() != 1) return nullptr;
  const Layer& r = layers_[it->second[0]];
  return r.cls == "BatchNormalization" ? &r : nullptr;
}

// The BN parameters (gamma only with scale, beta only with center), decoded in store buffers.
struct BnParams {
  const float* gamma = nullptr;
  const float* beta = nullptr;
  const float* mean = nullptr;
  const float* var = nullptr;
  double epsilon = 1e-3;
};

StatusOr<BnParams> bn_params(GraphBuilder& b, const Layer& bn, int64_t channels) {
  const json& c = *bn.config;
  BnParams p;
  p.epsilon = c.value("epsilon", 1e-3);
  const std::string pre = bn.name + "/";
  if (c.value("scale", true)) {
    SEER_ASSIGN_OR_RETURN(p.gamma, b.weight(pre + "gamma", channels));
  }
  if (c.value("center", true)) {
    SEER_ASSIGN_OR_RETURN(p.beta, b.weight(pre + "beta", channels));
  }
  SEER_ASSIGN_OR_RETURN(p.mean, b.weight(pre + "moving_mean", channels));
  SEER_ASSIGN_OR_RETURN(p.var, b.weight(pre + "moving_variance", channels));
  return p;
}

Status check_channel_axis(const Layer& bn) {
  const json& axis = (*bn.config).value("axis", json(-1));
  int64_t a = axis.is_array() && axis.size() == 1 ? axis[0].get<int64_t>() : axis.is_number_integer() ? axis.get<int64_t>() : 0;
  if (a != -1 && a != 3)
    return Status::unsupported("TF.js layers model: layer '{}' (BatchNormalization): axis {} (only the channels)",
                               bn.name, axis.dump());
  return Status();
}

Status LayersTranslator::conv(const Layer& l, bool depthwise) {
  SEER_ASSIGN_OR_RETURN(TVal x, in(l, 0));
  if (str(l, "data_format", "channels_last") != "channels_last") return unsupported(l, "data_format channels_first");
  const std::string padding = str(l, "padding", "valid");
  if (padding != "valid" && padding != "same") return unsupported(l, fmt::format("padding '{}'", padding));
  if (l.config->value("groups", 1) != 1) return unsupported(l, "groups");
  ConvSpec s{.name = l.name, .x = x, .same = padding == "same"};
  SEER_ASSIGN_OR_RETURN(auto st, pair(l, "strides", {1, 1}));
  SEER_ASSIGN_OR_RETURN(auto dil, pair(l, "dilation_rate", {1, 1}));
  s.stride[0] = st[0]; s.stride[1] = st[1];
  s.dilation[0] = dil[0]; s.dilation[1] = dil[1];
  const std::string pre = l.name + "/";
  if (depthwise) SEER_RETURN_IF_ERROR(b_.load_depthwise_kernel(pre + "depthwise_kernel", &s).with_context(l.name));
  else SEER_RETURN_IF_ERROR(b_.load_hwio_kernel(pre + "kernel", &s).with_context(l.name));
  if (l.config->value("use_bias", true)) {
    SEER_ASSIGN_OR_RETURN(s.bias, b_.weight(pre + "bias", s.c_out));
  }
  std::string act = str(l, "activation", "linear");
  if (act == "linear") act.clear();
  if (act.empty()) {
    if (const Layer* bn = only_bn_consumer(l.name)) {
      SEER_RETURN_IF_ERROR(check_channel_axis(*bn));
      SEER_ASSIGN_OR_RETURN(BnParams p, bn_params(b_, *bn, s.c_out));
      SEER_RETURN_IF_ERROR(b_.fold_batch_norm(&s, p.gamma, p.beta, p.mean, p.var, p.epsilon));
      folded_.insert(bn->name);
    }
  } else if (act != "relu" && act != "relu6") {
    // Other activations go through the generic path after the conv.
    SEER_ASSIGN_OR_RETURN(TVal y, b_.conv(s));
    auto a = b_.activation(l.name + "/act", y, act);
    if (!a.ok()) return unsupported(l, a.status().message());
    set(l, *a);
    return Status();
  }
  s.activation = act;
  SEER_ASSIGN_OR_RETURN(TVal y, b_.conv(s));
  set(l, y);
  return Status();
}

Status LayersTranslator::batch_norm(const Layer& l) {
  SEER_ASSIGN_OR_RETURN(TVal x, in(l, 0));
  if (folded_.count(l.name)) {  // already inside the conv that feeds it
    set(l, x);
    return Status();
  }
  SEER_RETURN_IF_ERROR(check_channel_axis(l));
  if (!x.nchw) return unsupported(l, "batch norm of a tensor that is not NHWC rank 4");
  SEER_ASSIGN_OR_RETURN(x, b_.materialize(x, l.name + "/pad"));
  SEER_ASSIGN_OR_RETURN(const TfjsWeightEntry* e, b_.entry(l.name + "/moving_mean", 1));
  const int64_t c = e->shape[0];
  SEER_ASSIGN_OR_RETURN(BnParams p, bn_params(b_, l, c));
  // y = x·k + (beta - mean·k), k = gamma / sqrt(var + eps), as one Mul and one Add per channel.
  std::vector<float> k(c), off(c);
  for (int64_t i = 0; i < c; ++i) {
    const double kk = (p.gamma ? double(p.gamma[i]) : 1.0) / std::sqrt(double(p.var[i]) + p.epsilon);
    k[i] = static_cast<float>(kk);
    off[i] = static_cast<float>((p.beta ? double(p.beta[i]) : 0.0) - double(p.mean[i]) * kk);
  }
  SEER_ASSIGN_OR_RETURN(int kid, b_.per_channel(l.name + "/k", k.data(), c, true));
  SEER_ASSIGN_OR_RETURN(int oid, b_.per_channel(l.name + "/offset", off.data(), c, true));
  int m = b_.node("Mul", {x.id, kid}, l.name + "/mul");
  set(l, TVal{.id = b_.node("Add", {m, oid}, l.name), .nchw = true});
  return Status();
}

Status LayersTranslator::pool(const Layer& l, const char* op) {
  SEER_ASSIGN_OR_RETURN(TVal x, in(l, 0));
  if (!x.nchw) return unsupported(l, "input is not NHWC rank 4");
  if (str(l, "data_format", "channels_last") != "channels_last") return unsupported(l, "data_format channels_first");
  const std::string padding = str(l, "padding", "valid");
  if (padding != "valid" && padding != "same") return unsupported(l, fmt::format("padding '{}'", padding));
  SEER_ASSIGN_OR_RETURN(auto k, pair(l, "pool_size", {2, 2}));
  SEER_ASSIGN_OR_RETURN(auto st, pair(l, "strides", k));
  SEER_ASSIGN_OR_RETURN(x, b_.materialize(x, l.name + "/pad"));
  TVal y{.id = b_.node(op, {x.id}, l.name), .nchw = true};
  Node& n = b_.last();
  n.set_attr_ints("kernel_shape", {k[0], k[1]});
  n.set_attr_ints("strides", {st[0], st[1]});
  if (padding == "same") n.set_attr_string("auto_pad", "SAME_UPPER");
  // TF 'same' average pooling divides by the in-image cells only.
  if (std::string(op) == "AveragePool") n.set_attr_int("count_include_pad", 0);
  set(l, y);
  return Status();
}

Status LayersTranslator::dense(const Layer& l) {
  SEER_ASSIGN_OR_RETURN(TVal x, in(l, 0));
  if (x.nchw) return unsupported(l, "Dense on a rank-4 tensor (only after Flatten/pooling to 2-D)");
  SEER_ASSIGN_OR_RETURN(const TfjsWeightEntry* e, b_.entry(l.name + "/kernel", 2));
  SEER_ASSIGN_OR_RETURN(const float* w, b_.weight(l.name + "/kernel"));
  const int64_t units = e->shape[1];
  std::string act = str(l, "activation", "linear");
  if (act == "linear") act.clear();
  const bool bias = l.config->value("use_bias", true);
  int wid = b_.constant_view(l.name + "/W", e->shape, w);
  int y = b_.node("MatMul", {x.id, wid}, bias || !act.empty() ? l.name + "/matmul" : l.name);
  if (bias) {
    SEER_ASSIGN_OR_RETURN(const float* bv, b_.weight(l.name + "/bias", units));
    int bid = b_.constant_view(l.name + "/B", Shape{units}, bv);
    y = b_.node("Add", {y, bid}, act.empty() ? l.name : l.name + "/bias");
  }
  auto a = b_.activation(l.name, TVal{.id = y}, act);
  if (!a.ok()) return unsupported(l, a.status().message());
  set(l, *a);
  return Status();
}

Status LayersTranslator::translate(const Layer& l) {
  const std::string& c = l.cls;
  if (c == "InputLayer") {
    const json& shape = l.config->value("batch_input_shape", json());
    if (!shape.is_array() || !Shape::fits(shape.size())) return unsupported(l, "batch_input_shape");
    if (l.config->value("dtype", std::string("float32")) != "float32") return unsupported(l, "dtype other than float32");
    Shape s;
    for (const json& d : shape) s.push_back(d.is_null() ? kDynamicDim : d.get<int64_t>());
    SEER_ASSIGN_OR_RETURN(TVal v, b_.input(l.name, s));
    set(l, v);
    return Status();
  }
  if (c == "Conv2D") return conv(l, false);
  if (c == "DepthwiseConv2D") {
    if (l.config->value("depth_multiplier", 1) < 1) return unsupported(l, "depth_multiplier");
    return conv(l, true);
  }
  if (c == "BatchNormalization") return batch_norm(l);
  if (c == "ZeroPadding2D") {
    SEER_ASSIGN_OR_RETURN(TVal x, in(l, 0));
    if (!x.nchw || x.pending_pad) return unsupported(l, "input is not NHWC rank 4");
    const json& p = l.config->value("padding", json());
    int64_t pad[4];  // top, left, bottom, right
    if (p.is_number_integer()) {
      pad[0] = pad[1] = pad[2] = pad[3] = p.get<int64_t>();
    } else if (p.is_array() && p.size() == 2 && p[0].is_array() && p[1].is_array() && p[0].size() == 2 &&
               p[1].size() == 2) {
      pad[0] = p[0][0].get<int64_t>(); pad[2] = p[0][1].get<int64_t>();
      pad[1] = p[1][0].get<int64_t>(); pad[3] = p[1][1].get<int64_t>();
    } else if (p.is_array() && p.size() == 2 && p[0].is_number_integer()) {
      pad[0] = pad[2] = p[0].get<int64_t>();
      pad[1] = pad[3] = p[1].get<int64_t>();
    } else {
      return unsupported(l, fmt::format("padding {}", p.dump()));
    }
    if (str(l, "data_format", "channels_last") != "channels_last") return unsupported(l, "data_format channels_first");
    x.pending_pad = true;
    std::copy(pad, pad + 4, x.pad);
    set(l, x);
    return Status();
  }
  if (c == "ReLU") {
    SEER_ASSIGN_OR_RETURN(TVal x, in(l, 0));
    const json& mv = l.config->value("max_value", json());
    const double slope = l.config->value("negative_slope", 0.0);
    const double threshold = l.config->value("threshold", 0.0);
    if (slope != 0 || threshold != 0) return unsupported(l, "negative_slope/threshold");
    std::string act = "relu";
    if (!mv.is_null()) {
      if (!mv.is_number() || mv.get<double>() != 6.0) return unsupported(l, fmt::format("max_value {}", mv.dump()));
      act = "relu6";
    }
    SEER_ASSIGN_OR_RETURN(TVal y, b_.activation(l.name, x, act));
    set(l, y);
    return Status();
  }
  if (c == "Activation") {
    SEER_ASSIGN_OR_RETURN(TVal x, in(l, 0));
    auto y = b_.activation(l.name, x, str(l, "activation", "linear"));
    if (!y.ok()) return unsupported(l, y.status().message());
    set(l, *y);
    return Status();
  }
  if (c == "Dropout" || c == "SpatialDropout2D") {  // identity at inference
    SEER_ASSIGN_OR_RETURN(TVal x, in(l, 0));
    set(l, x);
    return Status();
  }
  if (c == "Add" || c == "Concatenate") {
    if (l.inputs.empty()) return error(l, "no inputs");
    std::vector<TVal> xs;
    for (size_t i = 0; i < l.inputs.size(); ++i) {
      SEER_ASSIGN_OR_RETURN(TVal x, in(l, i));
      SEER_ASSIGN_OR_RETURN(x, b_.materialize(x, fmt::format("{}/pad{}", l.name, i)));
      if (!xs.empty() && x.nchw != xs[0].nchw) return unsupported(l, "inputs of different ranks");
      xs.push_back(x);
    }
    const bool nchw = xs[0].nchw;
    if (c == "Add") {
      int acc = xs[0].id;
      for (size_t i = 1; i < xs.size(); ++i)
        acc = b_.node("Add", {acc, xs[i].id}, i + 1 == xs.size() ? l.name : fmt::format("{}/{}", l.name, i));
      set(l, TVal{.id = acc, .nchw = nchw});
      return Status();
    }
    int64_t axis = l.config->value("axis", -1);
    if (nchw) {
      if (axis < -4 || axis > 3) return unsupported(l, fmt::format("axis {}", axis));
      axis = GraphBuilder::nchw_axis(axis);
    }
    std::vector<int> ids;
    for (const TVal& x : xs) ids.push_back(x.id);
    int y = b_.node("Concat", ids, l.name);
    b_.last().set_attr_int("axis", axis);
    set(l, TVal{.id = y, .nchw = nchw});
    return Status();
  }
  if (c == "MaxPooling2D") return pool(l, "MaxPool");
  if (c == "AveragePooling2D") return pool(l, "AveragePool");
  if (c == "GlobalAveragePooling2D" || c == "GlobalMaxPooling2D") {
    SEER_ASSIGN_OR_RETURN(TVal x, in(l, 0));
    if (!x.nchw) return unsupported(l, "input is not NHWC rank 4");
    if (l.config->value("keepdims", false)) return unsupported(l, "keepdims");
    SEER_ASSIGN_OR_RETURN(x, b_.materialize(x, l.name + "/pad"));
    int p = b_.node(c == "GlobalAveragePooling2D" ? "GlobalAveragePool" : "GlobalMaxPool", {x.id}, l.name + "/pool");
    int y = b_.node("Flatten", {p}, l.name);
    b_.last().set_attr_int("axis", 1);
    set(l, TVal{.id = y});
    return Status();
  }
  if (c == "Flatten") {
    SEER_ASSIGN_OR_RETURN(TVal x, in(l, 0));
    SEER_ASSIGN_OR_RETURN(x, b_.to_nhwc(x, l.name + "/nhwc"));  // TF flattens in H, W, C order
    int y = b_.node("Flatten", {x.id}, l.name);
    b_.last().set_attr_int("axis", 1);
    set(l, TVal{.id = y});
    return Status();
  }
  if (c == "Dense") return dense(l);
  return Status::unsupported("TF.js layers model: layer class {} (layer '{}') is not supported", c, l.name);
}

Status LayersTranslator::run(const json& topology) {
  const json* mc = topology.contains("model_config") ? &topology["model_config"] : &topology;
  const std::string cls = mc->value("class_name", std::string());
  if (cls != "Model" && cls != "Functional")
    return Status::unsupported("TF.js layers model: model class '{}' (only functional Model)", cls);
  const json& config = (*mc)["config"];
  if (!config.contains("layers") || !config["layers"].is_array())
    return Status::invalid_argument("TF.js layers model: model_config has no layers");
  for (const json& j : config["layers"]) {
    Layer l;
    l.name = j.at("name").get<std::string>();
    l.cls = j.at("class_name").get<std::string>();
    l.config = &j.at("config");
    const json& inbound = j.value("inbound_nodes", json::array());
    if (inbound.size() > 1) return Status::unsupported("TF.js layers model: layer '{}' is called {} times (shared layers)", l.name, inbound.size());
    if (inbound.size() == 1) {
      for (const json& src : inbound[0]) {
        if (!src.is_array() || src.size() < 3 || !src[0].is_string())
          return Status::unsupported("TF.js layers model: layer '{}': inbound node format {}", l.name, src.dump());
        if (src[1].get<int64_t>() != 0 || src[2].get<int64_t>() != 0)
          return Status::unsupported("TF.js layers model: layer '{}' reads node/tensor {}/{} of '{}' (only 0/0)",
                                     l.name, src[1].dump(), src[2].dump(), src[0].get<std::string>());
        l.inputs.push_back(src[0].get<std::string>());
      }
    }
    if (!by_name_.emplace(l.name, layers_.size()).second)
      return Status::invalid_argument("TF.js layers model: layer name '{}' appears twice", l.name);
    layers_.push_back(std::move(l));
  }
  for (size_t i = 0; i < layers_.size(); ++i)
    for (const std::string& s : layers_[i].inputs) {
      if (!by_name_.count(s))
        return Status::invalid_argument("TF.js layers model: layer '{}' reads unknown layer '{}'", layers_[i].name, s);
      readers_[s].push_back(i);
    }
  std::vector<std::string> outs;
  for (const json& o : config.value("output_layers", json::array())) outs.push_back(o.at(0).get<std::string>());
  if (outs.empty()) return Status::invalid_argument("TF.js layers model: no output_layers");
  outputs_.insert(outs.begin(), outs.end());
  // Keras lists layers in a topological order; translate() reports a layer read too early.
  for (const Layer& l : layers_) SEER_RETURN_IF_ERROR(translate(l));
  for (const std::string& o : outs) {
    auto it = done_.find(o);
    if (it == done_.end()) return Status::invalid_argument("TF.js layers model: output layer '{}' is unknown", o);
    SEER_RETURN_IF_ERROR(b_.output(it->second, o));
  }
  return Status();
}

}  // namespace

Status translate_layers_model(const json& topology, GraphBuilder& b) {
  LayersTranslator t(b);
  return t.run(topology);
}

}  // namespace seer::engine::tfjs
