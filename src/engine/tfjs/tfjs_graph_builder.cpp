#include "engine/tfjs/tfjs_graph_builder.h"

#include <cmath>
#include <cstring>

namespace seer::engine::tfjs {

StatusOr<TVal> GraphBuilder::input(const std::string& name, const Shape& nhwc) {
  int id = g_.add_value(name, DataType::kFloat32, nhwc, true);
  g_.values[id].dim_params.assign(nhwc.rank(), std::string());
  if (nhwc.rank() >= 1 && nhwc[0] == kDynamicDim) g_.values[id].dim_params[0] = "batch";
  g_.inputs.push_back(id);
  TVal v{.id = id};
  if (nhwc.rank() != 4) return v;
  int t = node("Transpose", {id}, name + "/nchw");
  last().set_attr_ints("perm", {0, 3, 1, 2});
  return TVal{.id = t, .nchw = true};
}

int GraphBuilder::node(const std::string& op, std::vector<int> inputs, const std::string& out) {
  int y = g_.add_value(out);
  g_.add_node(op, "", kOpset, std::move(inputs), {y}, out);
  return y;
}

StatusOr<int> GraphBuilder::constant(const std::string& name, const Shape& shape, const float* values) {
  const size_t bytes = static_cast<size_t>(shape.numel()) * sizeof(float);
  SEER_ASSIGN_OR_RETURN(void* p, store_.allocate(bytes));
  if (bytes) std::memcpy(p, values, bytes);
  int id = g_.add_value(name, DataType::kFloat32, shape, true);
  g_.values[id].constant = p;
  return id;
}

int GraphBuilder::constant_view(const std::string& name, const Shape& shape, const float* in_store) {
  int id = g_.add_value(name, DataType::kFloat32, shape, true);
  g_.values[id].constant = in_store;
  return id;
}

StatusOr<int> GraphBuilder::constant_i64(const std::string& name, const std::vector<int64_t>& values) {
  SEER_ASSIGN_OR_RETURN(void* p, store_.allocate(values.size() * sizeof(int64_t)));
  if (!values.empty()) std::memcpy(p, values.data(), values.size() * sizeof(int64_t));
  int id = g_.add_value(name, DataType::kInt64, Shape{static_cast<int64_t>(values.size())}, true);
  g_.values[id].constant = p;
  return id;
}

StatusOr<int> GraphBuilder::scalar(float v) {
  auto it = scalars_.find(v);
  if (it != scalars_.end()) return it->second;
  SEER_ASSIGN_OR_RETURN(int id, constant(fmt::format("tfjs/scalar_{}", scalars_.size()), Shape{}, &v));
  scalars_.emplace(v, id);
  return id;
}

StatusOr<const TfjsWeightEntry*> GraphBuilder::entry(const std::string& name, int rank) {
  const TfjsWeightEntry* e = weights_.find(name);
  if (!e) return Status::invalid_argument("weight '{}' is not in the weights manifest", name);
  if (rank >= 0 && e->shape.rank() != rank)
    return Status::invalid_argument("weight '{}' has shape {}, expected rank {}", name,
                                    e->shape.to_string(), rank);
  return e;
}

StatusOr<const float*> GraphBuilder::weight(const std::string& name, int64_t expect_numel) {
  SEER_ASSIGN_OR_RETURN(const TfjsWeightEntry* e, entry(name, -1));
  if (expect_numel >= 0 && e->shape.numel() != expect_numel)
    return Status::invalid_argument("weight '{}' has shape {}, expected {} values", name,
                                    e->shape.to_string(), expect_numel);
  SEER_ASSIGN_OR_RETURN(void* p, store_.allocate(static_cast<size_t>(e->shape.numel()) * sizeof(float)));
  SEER_RETURN_IF_ERROR(weights_.decode(*e, static_cast<float*>(p)));
  return static_cast<const float*>(p);
}

Status GraphBuilder::load_hwio_kernel(const std::string& name, ConvSpec* s) {
  SEER_ASSIGN_OR_RETURN(const TfjsWeightEntry* e, entry(name, 4));
  const int64_t kh = e->shape[0], kw = e->shape[1], ci = e->shape[2], co = e->shape[3];
  SEER_ASSIGN_OR_RETURN(std::vector<float> hwio, weights_.decode(name));
  SEER_ASSIGN_OR_RETURN(void* p, store_.allocate(hwio.size() * sizeof(float)));
  float* oihw = static_cast<float*>(p);
  for (int64_t y = 0; y < kh; ++y)
    for (int64_t x = 0; x < kw; ++x)
      for (int64_t i = 0; i < ci; ++i)
        for (int64_t o = 0; o < co; ++o)
          oihw[((o * ci + i) * kh + y) * kw + x] = hwio[((y * kw + x) * ci + i) * co + o];
  s->w = oihw;
  s->c_out = co;
  s->c_in_per_group = ci;
  s->kh = kh;
  s->kw = kw;
  s->group = 1;
  return Status();
}

Status GraphBuilder::load_depthwise_kernel(const std::string& name, ConvSpec* s) {
  SEER_ASSIGN_OR_RETURN(const TfjsWeightEntry* e, entry(name, 4));
  const int64_t kh = e->shape[0], kw = e->shape[1], c = e->shape[2], m = e->shape[3];
  SEER_ASSIGN_OR_RETURN(std::vector<float> src, weights_.decode(name));
  SEER_ASSIGN_OR_RETURN(void* p, store_.allocate(src.size() * sizeof(float)));
  float* dst = static_cast<float*>(p);
  // TF output channel c·M + m reads input channel c; ONNX group c makes outputs c·M .. c·M+M-1.
  for (int64_t y = 0; y < kh; ++y)
    for (int64_t x = 0; x < kw; ++x)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t k = 0; k < m; ++k)
          dst[((ch * m + k) * kh + y) * kw + x] = src[((y * kw + x) * c + ch) * m + k];
  s->w = dst;
  s->c_out = c * m;
  s->c_in_per_group = 1;
  s->kh = kh;
  s->kw = kw;
  s->group = c;
  return Status();
}

Status GraphBuilder::fold_batch_norm(ConvSpec* s, const float* gamma, const float* beta, const float* mean,
                                     const float* var, double epsilon) {
  const int64_t per_out = s->c_in_per_group * s->kh * s->kw;
  SEER_ASSIGN_OR_RETURN(void* pb, store_.allocate(static_cast<size_t>(s->c_out) * sizeof(float)));
  float* bias = static_cast<float*>(pb);
  float* w = const_cast<float*>(s->w);  // our own store buffer, written once at load
  for (int64_t o = 0; o < s->c_out; ++o) {
    const double k = (gamma ? double(gamma[o]) : 1.0) / std::sqrt(double(var[o]) + epsilon);
    for (int64_t i = 0; i < per_out; ++i) w[o * per_out + i] = static_cast<float>(w[o * per_out + i] * k);
    const double b0 = s->bias ? double(s->bias[o]) : 0.0;
    bias[o] = static_cast<float>((beta ? double(beta[o]) : 0.0) + (b0 - double(mean[o])) * k);
  }
  s->bias = bias;
  return Status();
}

StatusOr<TVal> GraphBuilder::conv(const ConvSpec& s) {
  if (!s.x.nchw) return Status::unsupported("'{}': convolution of a tensor that is not NHWC rank 4", s.name);
  TVal x = s.x;
  if (x.pending_pad && s.same) {
    SEER_ASSIGN_OR_RETURN(x, materialize(x, s.name + "/pad"));
  }
  // spec's weight and bias already live in store buffers: the constants point at them.
  std::vector<int> ins{x.id, constant_view(s.name + "/W", Shape{s.c_out, s.c_in_per_group, s.kh, s.kw}, s.w)};
  if (s.bias) ins.push_back(constant_view(s.name + "/B", Shape{s.c_out}, s.bias));
  int y = node("Conv", std::move(ins), s.activation.empty() ? s.name : s.name + "/conv");
  Node& n = last();
  n.set_attr_ints("kernel_shape", {s.kh, s.kw});
  n.set_attr_ints("strides", {s.stride[0], s.stride[1]});
  n.set_attr_ints("dilations", {s.dilation[0], s.dilation[1]});
  n.set_attr_int("group", s.group);
  if (s.same) n.set_attr_string("auto_pad", "SAME_UPPER");  // TF SAME: the odd pixel at the end
  else if (x.pending_pad) n.set_attr_ints("pads", {x.pad[0], x.pad[1], x.pad[2], x.pad[3]});
  TVal out{.id = y, .nchw = true};
  if (s.activation.empty()) return out;
  return activation(s.name, out, s.activation);
}

StatusOr<TVal> GraphBuilder::activation(const std::string& name, TVal x, const std::string& act) {
  if (act.empty() || act == "linear") return x;
  SEER_ASSIGN_OR_RETURN(x, materialize(x, name + "/pad"));
  TVal out = x;
  if (act == "relu") {
    out.id = node("Relu", {x.id}, name);
  } else if (act == "relu6") {
    SEER_ASSIGN_OR_RETURN(int lo, scalar(0.f));
    SEER_ASSIGN_OR_RETURN(int hi, scalar(6.f));
    out.id = node("Clip", {x.id, lo, hi}, name);
  } else if (act == "sigmoid") {
    out.id = node("Sigmoid", {x.id}, name);
  } else if (act == "tanh") {
    out.id = node("Tanh", {x.id}, name);
  } else if (act == "softmax") {  // over the last TF axis = channels
    out.id = node("Softmax", {x.id}, name);
    last().set_attr_int("axis", x.nchw ? 1 : -1);
  } else {
    return Status::unsupported("activation '{}'", act);
  }
  return out;
}

StatusOr<TVal> GraphBuilder::materialize(TVal x, const std::string& name) {
  if (!x.pending_pad) return x;
  SEER_ASSIGN_OR_RETURN(int pads, constant_i64(name + "/pads", {0, 0, x.pad[0], x.pad[1], 0, 0, x.pad[2], x.pad[3]}));
  TVal out{.id = node("Pad", {x.id, pads}, name), .nchw = true};
  last().set_attr_string("mode", "constant");
  return out;
}

StatusOr<TVal> GraphBuilder::to_nhwc(TVal x, const std::string& name) {
  SEER_ASSIGN_OR_RETURN(x, materialize(x, name + "/pad"));
  if (!x.nchw) return x;
  TVal out{.id = node("Transpose", {x.id}, name)};
  last().set_attr_ints("perm", {0, 2, 3, 1});
  return out;
}

StatusOr<int> GraphBuilder::per_channel(const std::string& name, const float* values, int64_t c, bool nchw) {
  return constant(name, nchw ? Shape{c, 1, 1} : Shape{c}, values);
}

int64_t GraphBuilder::nchw_axis(int64_t a) {
  if (a < 0) a += 4;
  static constexpr int64_t kMap[4] = {0, 2, 3, 1};
  return a >= 0 && a < 4 ? kMap[a] : a;
}

Status GraphBuilder::output(TVal x, const std::string& name) {
  SEER_ASSIGN_OR_RETURN(x, to_nhwc(x, name + "/nhwc"));
  int id = x.id;
  if (g_.values[id].name != name || g_.is_constant(id)) id = node("Identity", {x.id}, name);
  g_.outputs.push_back(id);
  return Status();
}

}  // namespace seer::engine::tfjs
