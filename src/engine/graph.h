// The engine's graph: Values (tensors by name), Nodes (ops) and their Attributes, independent of
// the ONNX protobuf so that op files and passes never include it.
//
//   Graph g;                                  // normally from import_onnx()
//   int x = g.add_value("x", DataType::kFloat32, {kDynamicDim, 3});
//   int y = g.add_value("y");
//   int n = g.add_node("Relu", "", 13, {x}, {y}, "relu_0");
//   g.inputs = {x};  g.outputs = {y};
//   const Node& node = g.nodes[n];
//   int64_t axis = node.attr_int("axis", 1);
//
// Values and nodes are indexed by int; an omitted optional input is kNoValue. A Value with
// `constant` set holds bytes owned elsewhere (the Model's weight Buffers). Not thread-safe while
// it is being edited; read-only use from many threads is fine.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/tensor.h"

namespace seer::engine {

inline constexpr int kNoValue = -1;

struct Attribute {
  enum class Kind : uint8_t { kUndefined, kFloat, kInt, kString, kTensor, kFloats, kInts, kStrings, kGraph };
  std::string name;
  Kind kind = Kind::kUndefined;
  float f = 0.f;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  Tensor t;  // kTensor (Constant's value): bytes owned by the graph's weight store
};
std::string_view to_string(Attribute::Kind k);

struct Node {
  std::string name;     // may be empty in the file; import gives a stable "<op>_<index>"
  std::string op_type;  // "MatMul"
  std::string domain;   // "" for ai.onnx (import maps "ai.onnx" to ""), "com.microsoft", "seer"
  int opset = 0;        // the opset of `domain` this node was written for
  std::vector<int> inputs;   // value ids; kNoValue = omitted optional input
  std::vector<int> outputs;  // value ids; kNoValue = omitted optional output
  std::vector<Attribute> attributes;
  bool dead = false;  // removed by a pass; compact() drops it

  const Attribute* find_attr(std::string_view name) const;
  bool has_attr(std::string_view name) const { return find_attr(name) != nullptr; }
  int64_t attr_int(std::string_view name, int64_t fallback) const;
  float attr_float(std::string_view name, float fallback) const;
  std::string attr_string(std::string_view name, std::string fallback = {}) const;
  std::vector<int64_t> attr_ints(std::string_view name, std::vector<int64_t> fallback = {}) const;
  std::vector<float> attr_floats(std::string_view name, std::vector<float> fallback = {}) const;
  void set_attr_int(std::string name, int64_t v);
  void set_attr_float(std::string name, float v);
  void set_attr_string(std::string name, std::string v);
  void set_attr_ints(std::string name, std::vector<int64_t> v);
  int num_inputs() const { return static_cast<int>(inputs.size()); }
  int num_outputs() const { return static_cast<int>(outputs.size()); }
  bool has_input(int i) const { return i < num_inputs() && inputs[i] != kNoValue; }
  // "MatMul 'blocks.0/attn/MatMul' (ai.onnx opset 17)": for error messages.
  std::string describe() const;
};

struct Value {
  std::string name;
  DataType dtype = DataType::kUndefined;
  Shape shape;              // dims may be kDynamicDim; rank unknown when !shape_known
  bool shape_known = false;
  std::vector<std::string> dim_params;  // symbolic names per dim ("batch"), "" when concrete
  const void* constant = nullptr;       // set for initializers and folded values
  int producer = -1;                    // node id, -1 for inputs and constants
};

struct Graph {
  std::vector<Value> values;
  std::vector<Node> nodes;  // topologically sorted after import
  std::vector<int> inputs;  // graph inputs that are not initializers, in file order
  std::vector<int> outputs;
  std::map<std::string, int> opsets;  // domain ("" = ai.onnx) -> version
  std::string name;

  int add_value(std::string name, DataType dtype = DataType::kUndefined, Shape shape = {},
                bool shape_known = false);
  int add_node(std::string op_type, std::string domain, int opset, std::vector<int> inputs,
               std::vector<int> outputs, std::string name = {});
  int find_value(std::string_view name) const;  // -1 when absent
  bool is_constant(int value) const { return value >= 0 && values[value].constant != nullptr; }
  Tensor constant_tensor(int value) const {
    const Value& v = values[value];
    return Tensor(v.dtype, v.shape, v.constant);
  }
  // Recomputes producers, sorts nodes topologically (InvalidArgument on a cycle or a value used
  // before any producer), drops dead nodes. Call after editing.
  Status finalize();
  // consumers[v] = the nodes reading value v (computed, not maintained).
  std::vector<std::vector<int>> consumers() const;
};

}  // namespace seer::engine
