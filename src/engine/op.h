// Ops: how seer runs an ONNX operator. One .cpp file under src/engine/ops/ adds an op (or a
// family of them) and registers itself at static-initialisation time: no other file changes.
//
//   // src/engine/ops/scale_op.cpp: y = alpha * x (a made-up op, in seer's own domain)
//   #include "engine/op.h"
//   namespace seer::engine {
//   namespace {
//   class ScaleKernel final : public OpKernel {
//    public:
//     explicit ScaleKernel(float alpha) : alpha_(alpha) {}
//     Status run(RunContext& ctx) const override {       // never allocates, never logs
//       const float* x = ctx.input(0).data<float>();
//       float* y = ctx.output(0).data<float>();
//       int64_t n = ctx.output(0).numel();
//   #pragma omp parallel for if (n > 65536)
//       for (int64_t i = 0; i < n; ++i) y[i] = alpha_ * x[i];
//       return Status();
//     }
//    private:
//     float alpha_;
//   };
//   }  // namespace
//
//   SEER_REGISTER_OPS(scale) {                      // `registry` is the global OpRegistry
//     registry.add({
//         .name = "Scale", .domain = "seer", .min_opset = 1,
//         .attributes = {"alpha"},                    // any other attribute: Unsupported at load
//         .infer = [](InferContext& c) -> Status {    // dtypes and shapes, once per batch size
//           if (c.input_dtype(0) != DataType::kFloat32) return c.unsupported("dtype {}", to_string(c.input_dtype(0)));
//           c.set_output(0, DataType::kFloat32, c.input_shape(0));
//           return Status();
//         },
//         .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
//           return std::unique_ptr<OpKernel>(new ScaleKernel(c.node().attr_float("alpha", 1.f)));
//         }});
//   }
//   }  // namespace seer::engine
//
// Life of a node, all at load except run():
//  1. import: the registry finds the OpDef by (domain, op_type, the model's opset of that domain)
//     and checks the node's attribute names against OpDef::attributes; a miss is Unsupported
//     naming op, domain, opset and node.
//  2. infer (per batch size the model is planned for): input dtypes and concrete shapes in, output
//     dtypes and shapes out. Inputs whose value is known at load (initializers, folded shape
//     subgraphs: `constant_input(i)`) can be read, e.g. Reshape's target shape.
//  3. create (per batch size): build the kernel for those concrete shapes. Constant inputs (weights)
//     can be pre-packed once into a model-owned ledger Buffer with packed_weight() (shared by
//     every batch size and execution context); request_scratch() reserves per-run scratch that the
//     planner places in the arena; precision() says fp32 or bf16.
//  4. run: inputs and outputs are dense Tensors whose dtype/shape are what infer said; outputs
//     point into the arena (never aliasing an input), scratch is 64-byte aligned. run() is const
//     and may run concurrently on several execution contexts: keep mutable state in scratch.
// Constant folding runs create()+run() on nodes whose inputs are all constant (OpDef::foldable).
//
// Thread-safety: the registry is filled during static initialisation and read-only afterwards.
#pragma once

#include <fmt/format.h>

#include <climits>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/graph.h"
#include "engine/kernels/kernel_types.h"
#include "engine/tensor.h"

namespace seer::engine {

using Precision = kernels::Precision;

// What every stage can see of the node being processed.
class NodeContext {
 public:
  NodeContext(const Node& node, std::span<const Tensor> inputs) : node_(&node), inputs_(inputs) {}

  const Node& node() const { return *node_; }
  int opset() const { return node_->opset; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  // False for an omitted optional input (empty name in the file) or one past the end.
  bool has_input(int i) const { return i < num_inputs() && inputs_[i].dtype != DataType::kUndefined; }
  DataType input_dtype(int i) const { return inputs_[i].dtype; }
  const Shape& input_shape(int i) const { return inputs_[i].shape; }
  // The input's value when it is known at load (initializer or folded), else nullptr.
  const Tensor* constant_input(int i) const {
    return has_input(i) && inputs_[i].ptr != nullptr ? &inputs_[i] : nullptr;
  }
  int num_outputs() const { return node_->num_outputs(); }
  bool has_output(int i) const { return i < num_outputs() && node_->outputs[i] != kNoValue; }

  // InvalidArgument / Unsupported prefixed with the node ("MatMul 'mm0' (ai.onnx opset 17): ").
  template <typename... Args>
  Status error(fmt::format_string<Args...> f, Args&&... args) const {
    return Status(StatusCode::kInvalidArgument,
                  node_->describe() + ": " + fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  Status unsupported(fmt::format_string<Args...> f, Args&&... args) const {
    return Status(StatusCode::kUnsupported,
                  node_->describe() + ": " + fmt::format(f, std::forward<Args>(args)...));
  }

 protected:
  const Node* node_;
  std::span<const Tensor> inputs_;
};

class InferContext : public NodeContext {
 public:
  InferContext(const Node& node, std::span<const Tensor> inputs, std::span<Tensor> outputs)
      : NodeContext(node, inputs), outputs_(outputs) {}
  void set_output(int i, DataType dtype, const Shape& shape) {
    outputs_[i].dtype = dtype;
    outputs_[i].shape = shape;
  }

 private:
  std::span<Tensor> outputs_;
};

// Load-time services a kernel's create() may use. Implemented by the planner.
class PrepareServices {
 public:
  virtual ~PrepareServices() = default;
  virtual Precision precision() const = 0;
  virtual bool weights_in_place() const { return false; }
  // True while a node is evaluated at load (constant folding): its packed weights must hold
  // real bytes even in a measuring load.
  bool evaluating = false;
  // See PrepareContext::packed_weight. `source`: the constant input the blob is packed from, or
  // nullptr; its file pages may be dropped once filled.
  virtual StatusOr<const void*> packed_weight(const Node& node, std::string_view key, size_t bytes,
                                              const std::function<Status(void*)>& fill,
                                              const Tensor* source) = 0;
};

class PrepareContext : public NodeContext {
 public:
  PrepareContext(const Node& node, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
                 PrepareServices& services)
      : NodeContext(node, inputs), outputs_(outputs), services_(&services) {}

  DataType output_dtype(int i) const { return outputs_[i].dtype; }
  const Shape& output_shape(int i) const { return outputs_[i].shape; }
  Precision precision() const { return services_->precision(); }
  // LoadOptions::weights_in_place: use constant weights as stored where a fast kernel can.
  bool weights_in_place() const { return services_->weights_in_place(); }

  // Scratch bytes run() needs (64-byte aligned in the arena, live only during this node).
  // Several calls add up; ctx.scratch() hands out the whole block.
  void request_scratch(size_t bytes) { scratch_bytes_ += kernels::align64(bytes); }
  size_t scratch_bytes() const { return scratch_bytes_; }

  // A model-owned, 64-byte-aligned ledger Buffer (tag weights) of `bytes`, filled once by
  // `fill` the first time this (node, key) is asked for; later calls (other batch sizes, other
  // contexts) get the same bytes. The pointer lives as long as the Model.
  // `from_input`: the constant input packed into it, which run() then never reads; the model
  // drops that input's file pages after the load unless another step still reads them.
  StatusOr<const void*> packed_weight(std::string_view key, size_t bytes,
                                      const std::function<Status(void*)>& fill, int from_input = -1) {
    const Tensor* source = from_input >= 0 ? constant_input(from_input) : nullptr;
    if (source && from_input < 64) packed_inputs_ |= uint64_t{1} << from_input;
    return services_->packed_weight(*node_, key, bytes, fill, source);
  }
  // Bit i: run() never reads input i (packed_weight's from_input).
  uint64_t packed_inputs() const { return packed_inputs_; }

 private:
  std::span<const Tensor> outputs_;
  PrepareServices* services_;
  size_t scratch_bytes_ = 0;
  uint64_t packed_inputs_ = 0;
};

class RunContext {
 public:
  RunContext(std::span<const Tensor> inputs, std::span<Tensor> outputs, void* scratch,
             size_t scratch_bytes)
      : inputs_(inputs), outputs_(outputs), scratch_(scratch), scratch_bytes_(scratch_bytes) {}
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  bool has_input(int i) const { return i < num_inputs() && inputs_[i].dtype != DataType::kUndefined; }
  const Tensor& input(int i) const { return inputs_[i]; }
  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  // An omitted optional output has dtype kUndefined and a null pointer.
  Tensor& output(int i) { return outputs_[i]; }
  void* scratch() const { return scratch_; }
  size_t scratch_bytes() const { return scratch_bytes_; }

 private:
  std::span<const Tensor> inputs_;
  std::span<Tensor> outputs_;
  void* scratch_;
  size_t scratch_bytes_;
};

// The per-node object built at load for concrete shapes.
class OpKernel {
 public:
  virtual ~OpKernel() = default;
  // Must not allocate heap memory (SEER_NO_ALLOC_ON_RUN aborts if it does) nor block.
  virtual Status run(RunContext& ctx) const = 0;
};

using InferFn = std::function<Status(InferContext&)>;
using CreateFn = std::function<StatusOr<std::unique_ptr<OpKernel>>(PrepareContext&)>;

struct OpDef {
  std::string name;          // op_type, e.g. "MatMul"
  std::string domain;        // "" = ai.onnx; "com.microsoft"; "seer" for fused ops of passes
  int min_opset = 1;         // opset range of `domain` this definition implements (inclusive)
  int max_opset = INT_MAX;
  std::vector<std::string> attributes;  // every attribute name understood
  InferFn infer;
  CreateFn create;
  bool foldable = true;  // constant folding may run it at load
  // The outputs depend only on the input shapes (Shape, Size): always folded once shapes are
  // known, even when the inputs' values are not.
  bool shape_only = false;
  // Output 0 is input 0's bytes under another shape (Reshape, Flatten, Squeeze, Unsqueeze,
  // Identity): the planner makes it a view of the input and runs no kernel.
  bool alias_input = false;
};

class OpRegistry {
 public:
  // The process-wide registry that SEER_REGISTER_OPS fills.
  static OpRegistry& global();

  // Adds a definition. Aborts on a duplicate (same name/domain with overlapping opsets): that is
  // a programmer error visible at startup.
  void add(OpDef def);
  // The definition for op_type in domain ("ai.onnx" and "" are the same) at that opset, or
  // nullptr.
  const OpDef* find(std::string_view op_type, std::string_view domain, int opset) const;
  // Unsupported naming op, domain, opset and node when nothing matches or an attribute is
  // unknown; on success *def is set.
  Status resolve(const Node& node, const OpDef** def) const;
  // Sorted "domain:op" names, for messages and the node-test runner.
  std::vector<std::string> names() const;

 private:
  std::vector<OpDef> defs_;
};

}  // namespace seer::engine

// Registers ops from a .cpp file at static-initialisation time (the engine library is linked
// whole-archive so these objects are never dropped). The body sees `registry`.
#define SEER_REGISTER_OPS(id)                                                           \
  static void seer_register_ops_##id(::seer::engine::OpRegistry& registry);             \
  [[maybe_unused]] static const bool seer_ops_registered_##id =                         \
      (seer_register_ops_##id(::seer::engine::OpRegistry::global()), true);             \
  static void seer_register_ops_##id(::seer::engine::OpRegistry& registry)
