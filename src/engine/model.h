// A loaded ONNX model (weights, graph, per-batch plans: read-only, shareable) and the
// ExecutionContext that runs it (the arena: one per worker).
//
//   MemoryLedger ledger;
//   LoadOptions opt{.ledger = &ledger, .owner = "wd14", .max_batch = 8};
//   SEER_ASSIGN_OR_RETURN(std::shared_ptr<Model> model, Model::load("model.onnx", opt));
//   SEER_ASSIGN_OR_RETURN(std::unique_ptr<ExecutionContext> ctx, model->create_context());
//   Tensor in{DataType::kFloat32, Shape{3, 448, 448, 3}, pixels};      // batch 3 <= max_batch
//   std::vector<Tensor> out(model->outputs().size());                 // reuse between runs
//   SEER_RETURN_IF_ERROR(model->run(*ctx, {&in, 1}, out));            // out[i] points into ctx
//
// Load = import (weights mapped in place) -> passes (constant folding, dead nodes, fusions) ->
// one plan per batch size 1..max_batch (shapes, folded shape subgraphs, kernels, arena offsets).
// A graph whose inputs are fixed at batch 1 gets one plan and runs a batch as a loop
// (batch_loop()); max_batch() is still the batch the caller may pass.
// Bytes: weight_bytes() (ledger tag weights: the file's pages that runs read + copies + packed;
// pages of weights that were packed or folded away are released at the end of the load),
// arena_bytes() (what create_context() allocates, tag arena). plan_bytes() measures both before
// a real load.
//
// Thread-safety: a Model is immutable after load; run() may be called concurrently with distinct
// ExecutionContexts. An ExecutionContext is used by one thread at a time. Output tensors stay
// valid until the next run() on the same context. run() allocates no heap memory.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/graph.h"
#include "engine/op.h"
#include "engine/tensor.h"
#include "engine/weight_store.h"
#include "memory/ledger.h"

namespace seer::engine {

// How a model's weights are held and multiplied: the user's choice per model (config keys
// `precision`, `weights`, `pack_cache`), carried unchanged from the CLI to every load and plan.
struct EngineChoice {
  Precision precision = Precision::kF32;
  // fp32 MatMul/Gemm weights read straight from the mapped file instead of a packed copy: a
  // load that touches no weight bytes (no packing, no cache file), for ~10 % slower GEMMs
  // (oneDNN re-blocks B on the fly). The same weight memory as packed: a packed load releases
  // the file pages it packed. Weights oneDNN cannot use as stored are packed anyway.
  bool weights_in_place = false;
  // Packed weights are kept in files in this folder (PackCache) and mapped by the next load of
  // the same model instead of packed again. Empty: packed at every load.
  std::string pack_cache_dir;

  // From the config's words: precision "fp32" | "bf16", weights "packed" | "mapped".
  static StatusOr<EngineChoice> parse(std::string_view precision, std::string_view weights);
};

struct LoadOptions {
  MemoryLedger* ledger = nullptr;  // required; must outlive the model
  std::string owner = "model";     // ledger owner of weights and arenas
  DeviceId device;
  int max_batch = 1;
  EngineChoice engine{};
  // When set, exactly one plan for these input shapes (all dims concrete), instead of the
  // per-batch plans; for graphs with other dynamic dims and for `seer onnx-run`.
  std::vector<Shape> input_shapes;
  // Builds the plans but does not pack weights (their bytes are counted): plan_bytes() uses
  // it; such a model must not run.
  bool measure_only = false;
  bool fold_constants = true;
  bool fuse = true;
  // When set, the weights are drawn from this reservation (planned with plan_bytes()) instead of
  // charged to the ledger directly; used during load() only.
  Reservation* reservation = nullptr;
};

struct IoInfo {
  std::string name;
  DataType dtype = DataType::kUndefined;
  Shape shape;  // kDynamicDim where symbolic (the batch)
};

struct Plan;
class ExecutionContext;

// Where a load's wall time went (ms), for `seer bench` and logs.
struct LoadTimings {
  double import_ms = 0;  // parse + map the file, weights in place
  double passes_ms = 0;  // constant folding, fusions, dead nodes
  double plans_ms = 0;   // per-batch plans: shapes, kernels, arena layout (includes pack_ms)
  double pack_ms = 0;    // packing constant weights (oneDNN reorders, bf16 conversion)
  double cache_ms = 0;   // pack cache: reading its index, writing a new file
  int cache_hits = 0, cache_misses = 0;  // packed weights mapped from / packed past the cache
  uint64_t cache_mapped_bytes = 0;       // bytes of the hits (ledger tag weights, file-mapped)
  uint64_t released_bytes = 0;  // source weight bytes released during the load (packed or folded; no run reads them)
  uint64_t peak_weight_bytes = 0;  // the most weight bytes the load counted at once (plan_bytes' `weights`)
  int plans = 0;
};

class Model {
 public:
  static StatusOr<std::shared_ptr<Model>> load(const std::string& path, const LoadOptions& options);
  // Same from an already imported graph (tests, node tests).
  static StatusOr<std::shared_ptr<Model>> from_graph(Graph graph, std::unique_ptr<WeightStore> weights,
                                                     const LoadOptions& options);
  // Weight + arena bytes this file would need at options' max batch, measured by a load
  // against a private, unlimited ledger (so nothing is charged to the real one) that builds
  // every plan but packs no weight (LoadOptions::measure_only).
  // `weights` is the most the load counts at once (reserve it: the file's pages of each weight
  // leave as it is packed); after the load the model holds `weights_resident`: the sources that no
  // run reads are released (LoadTimings::released_bytes).
  struct PlannedBytes {
    uint64_t weights = 0, arena = 0;
    uint64_t weights_resident = 0;
    uint64_t total() const { return weights + arena; }
  };
  static StatusOr<PlannedBytes> plan_bytes(const std::string& path, LoadOptions options);
  ~Model();

  const std::vector<IoInfo>& inputs() const { return inputs_; }
  const std::vector<IoInfo>& outputs() const { return outputs_; }
  int max_batch() const { return max_batch_; }
  bool batch_loop() const { return batch_loop_; }
  Precision precision() const { return precision_; }
  uint64_t weight_bytes() const { return weights_->bytes(); }
  uint64_t arena_bytes() const { return arena_bytes_; }
  const Graph& graph() const { return graph_; }
  const std::string& owner() const { return owner_; }
  const LoadTimings& load_timings() const { return timings_; }
  // Ops in the final graph by type, "MatMul×12, Add×3" (for logs and tests).
  std::string op_summary() const;

  // `from`: draw the arena from this reservation instead of the ledger.
  StatusOr<std::unique_ptr<ExecutionContext>> create_context(Reservation* from = nullptr) const;

  // Runs a batch (inputs' first dim, <= max_batch) or, with LoadOptions::input_shapes, exactly
  // those shapes. `outputs` must have outputs().size() entries; they are overwritten with views
  // into ctx's arena (or into constants/inputs when an output is one).
  Status run(ExecutionContext& ctx, std::span<const Tensor> inputs, std::span<Tensor> outputs) const;

 private:
  Model();
  static StatusOr<std::shared_ptr<Model>> assemble(Graph graph, std::unique_ptr<WeightStore> weights,
                                                   const LoadOptions& options, const std::string& path);
  Status build(const LoadOptions& options);
  void open_pack_cache(const LoadOptions& options);
  void save_pack_cache();
  void release_unread_weights();
  Status run_plan(const Plan& plan, ExecutionContext& ctx, std::span<const Tensor> inputs,
                  std::span<Tensor> outputs, uint8_t* arena) const;
  const Plan* find_plan(std::span<const Tensor> inputs) const;

  Graph graph_;
  std::unique_ptr<WeightStore> weights_;
  std::vector<std::unique_ptr<Plan>> plans_;
  std::vector<IoInfo> inputs_, outputs_;
  std::string owner_;
  DeviceId device_;
  MemoryLedger* ledger_ = nullptr;
  Precision precision_ = Precision::kF32;
  bool weights_in_place_ = false;
  bool measure_only_ = false;
  int max_batch_ = 1;
  bool batch_loop_ = false;
  size_t arena_bytes_ = 0;
  size_t loop_output_offset_ = 0;  // batch-loop: where the gathered outputs start in the arena
  size_t max_arity_ = 0;
  LoadTimings timings_;
  std::string source_path_;  // the file load() read (the pack cache's key); empty from from_graph()
  class Services;
  std::unique_ptr<Services> services_;
};

class ExecutionContext {
 public:
  ~ExecutionContext();
  size_t arena_bytes() const { return arena_.size(); }

 private:
  friend class Model;
  ExecutionContext() = default;
  Buffer arena_;
  std::vector<Tensor> io_;  // per-step input/output views, sized at creation
};

}  // namespace seer::engine
