// Internal to the TF.js importer: emits engine (ONNX-style) nodes and constants for the graph-model
// and layers-model translators, and the weight layouts they share.
//
//   GraphBuilder b(graph, store, weights);
//   SEER_ASSIGN_OR_RETURN(TVal x, b.input("input_1", {kDynamicDim, 224, 224, 3}));  // -> NCHW
//   ConvSpec c{.name = "Conv1", .x = x, ...};
//   SEER_RETURN_IF_ERROR(b.load_hwio_kernel("Conv1/kernel", &c));
//   SEER_ASSIGN_OR_RETURN(TVal y, b.conv(c));
//
// Layout: TF.js models are NHWC, the engine's Conv/pool ops are NCHW (ONNX). The model input is
// transposed to NCHW once; every image tensor then stays NCHW (TVal::nchw), and channel axes,
// per-channel constants and Flatten are translated accordingly. Conv kernels are re-laid out
// (HWIO -> OIHW, depthwise [kh,kw,C,M] -> [C·M,1,kh,kw] with group C) once, straight into the
// model's ledger buffers. TF SAME padding is ONNX SAME_UPPER (the odd pixel at the end).
// Not thread-safe (one import).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/graph.h"
#include "engine/tfjs/tfjs_weights.h"
#include "engine/weight_store.h"

namespace seer::engine::tfjs {

inline constexpr int kOpset = 17;  // every emitted node is written for ai.onnx opset 17

// A translated tensor: an engine value, whether it is an NCHW image tensor (a TF NHWC one), and
// a ZeroPadding2D not yet applied (folded into the next VALID conv when there is one).
struct TVal {
  int id = -1;
  bool nchw = false;
  bool pending_pad = false;
  int64_t pad[4] = {0, 0, 0, 0};  // top, left, bottom, right
};

struct ConvSpec {
  std::string name{};
  TVal x{};
  const float* w = nullptr;  // OIHW in a store buffer (load_*_kernel)
  int64_t c_out = 0, c_in_per_group = 0, kh = 1, kw = 1, group = 1;
  const float* bias = nullptr;  // [c_out] in a store buffer, or null
  int64_t stride[2] = {1, 1}, dilation[2] = {1, 1};
  bool same = false;      // TF SAME (else VALID)
  std::string activation{};  // "", "relu", "relu6"
};

class GraphBuilder {
 public:
  GraphBuilder(Graph& g, WeightStore& store, const TfjsWeights& weights)
      : g_(g), store_(store), weights_(weights) {}

  Graph& graph() { return g_; }
  WeightStore& store() { return store_; }
  const TfjsWeights& weights() const { return weights_; }

  // A graph input; a rank-4 input is transposed to NCHW.
  StatusOr<TVal> input(const std::string& name, const Shape& nhwc);
  // Emits a node with one output named `out`; returns the output value id.
  int node(const std::string& op, std::vector<int> inputs, const std::string& out);
  Node& last() { return g_.nodes.back(); }

  // Constants in store buffers.
  StatusOr<int> constant(const std::string& name, const Shape& shape, const float* values);
  // A constant over float32 bytes already in a store buffer (weight(), load_*_kernel()): no copy.
  int constant_view(const std::string& name, const Shape& shape, const float* in_store);
  StatusOr<int> constant_i64(const std::string& name, const std::vector<int64_t>& values);
  StatusOr<int> scalar(float v);  // shared per value
  // A weight decoded into a new store buffer, shape as in the manifest.
  StatusOr<const float*> weight(const std::string& name, int64_t expect_numel = -1);
  StatusOr<const TfjsWeightEntry*> entry(const std::string& name, int rank);

  // Kernels -> OIHW store buffers, filling spec's w/c_out/c_in_per_group/kh/kw/group.
  Status load_hwio_kernel(const std::string& weight, ConvSpec* spec);
  Status load_depthwise_kernel(const std::string& weight, ConvSpec* spec);
  // y = (conv(x) + bias - mean)·gamma/sqrt(var+eps) + beta folded into spec's weights and bias
  // (gamma/beta null = 1/0). Allocates a new bias buffer.
  Status fold_batch_norm(ConvSpec* spec, const float* gamma, const float* beta, const float* mean,
                         const float* var, double epsilon);

  StatusOr<TVal> conv(const ConvSpec& spec);
  // "relu", "relu6", "sigmoid", "tanh", "softmax", "linear"/"" ; else Unsupported.
  StatusOr<TVal> activation(const std::string& name, TVal x, const std::string& act);
  // Applies a pending ZeroPadding2D as a Pad node.
  StatusOr<TVal> materialize(TVal x, const std::string& name);
  // An NCHW tensor back to NHWC (outputs, Flatten); others unchanged.
  StatusOr<TVal> to_nhwc(TVal x, const std::string& name);
  // A per-channel [C] constant made broadcastable against `x` ([C,1,1] for NCHW).
  StatusOr<int> per_channel(const std::string& name, const float* values, int64_t c, bool nchw);
  // NHWC axis -> NCHW axis for a rank-4 tensor.
  static int64_t nchw_axis(int64_t nhwc_axis);
  // Marks `x` as a graph output named `name` (an Identity when the value has another name).
  Status output(TVal x, const std::string& name);

 private:
  Graph& g_;
  WeightStore& store_;
  const TfjsWeights& weights_;
  std::map<float, int> scalars_;
  int unique_ = 0;
};

// The translators (tfjs_graph_model.cpp, tfjs_layers_model.cpp): topology -> nodes.
Status translate_graph_model(const nlohmann::json& topology, const nlohmann::json& model, GraphBuilder& b);
Status translate_layers_model(const nlohmann::json& topology, GraphBuilder& b);

}  // namespace seer::engine::tfjs
