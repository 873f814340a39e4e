#include "engine/model.h"

#include <omp.h>
#include <sys/mman.h>

#include <array>
#include <chrono>
#include <cstring>
#include <map>

#include "core/log.h"
#include "engine/no_alloc.h"
#include "engine/onnx/onnx_import.h"
#include "engine/pack_cache.h"
#include "engine/passes/passes.h"
#include "engine/plan.h"
#include "engine/tfjs/tfjs_import.h"

namespace seer::engine {
namespace {
double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

class Model::Services : public PrepareServices {
  alignas(64) static inline const char kUnfilled[64] = {};

 public:
  Services(Model& m) : model_(m) {}
  Precision precision() const override { return model_.precision_; }
  bool weights_in_place() const override { return model_.weights_in_place_; }
  StatusOr<const void*> packed_weight(const Node& node, std::string_view key, size_t bytes,
                                      const std::function<Status(void*)>& fill,
                                      const Tensor* source) override {
    // Nodes are identified by name + op: plans and folding see the same Graph objects.
    std::string k = fmt::format("{}\x1f{}\x1f{}\x1f{}", node.op_type, node.name, key, bytes);
    if (const void* p = model_.weights_->find_keyed(k); p && !(p == kUnfilled && evaluating))
      return p;
    // The source's file pages leave (process and ledger) as soon as its blob exists, since the
    // kernel promised never to read it: a load then holds the file's pages of one weight beside
    // the packed copies, not of all of them. Every path counts the same sequence (blob +, then
    // source −), so plan_bytes()' peak is the real load's.
    auto drop_source = [&] {
      if (source && !evaluating) model_.weights_->drop_source_pages(source->raw(), source->bytes());
    };
    if (model_.measure_only_ && !evaluating) {  // plan_bytes(): count, never fill (the kernels never run)
      model_.weights_->add_unallocated(bytes);
      drop_source();
      model_.weights_->put_keyed(k, kUnfilled);
      return static_cast<const void*>(kUnfilled);
    }
    if (const PackCache::Entry* e = pack_cache.find(k, bytes)) {  // packed by an earlier load
      SEER_ASSIGN_OR_RETURN(const void* p,
                            model_.weights_->map_file(pack_cache.file(), e->offset, bytes, /*packed=*/true));
      // Page tables filled now (~6 ms for 360 MB from the page cache) rather than by ~90k
      // faults in the first run. Best effort: kernels before 5.14 lack it.
#ifdef MADV_POPULATE_READ
      madvise(const_cast<void*>(p), bytes, MADV_POPULATE_READ);
#endif
      drop_source();
      model_.weights_->put_keyed(k, p);
      pack_cache.record(k, p, bytes, /*hit=*/true);
      model_.timings_.cache_mapped_bytes += bytes;
      return p;
    }
    const auto t0 = std::chrono::steady_clock::now();
    SEER_ASSIGN_OR_RETURN(void* p, model_.weights_->allocate(bytes, /*packed=*/true));
    SEER_RETURN_IF_ERROR(fill(p));
    drop_source();
    model_.weights_->put_keyed(k, p);
    pack_cache.record(k, p, bytes, /*hit=*/false);
    model_.timings_.pack_ms += ms_since(t0);
    return static_cast<const void*>(p);
  }

  PackCache pack_cache;  // during load() only

 private:
  Model& model_;
};

StatusOr<EngineChoice> EngineChoice::parse(std::string_view precision, std::string_view weights) {
  EngineChoice c;
  if (precision == "bf16") c.precision = Precision::kBF16;
  else if (precision != "fp32") return Status::invalid_argument("precision '{}': fp32 or bf16", precision);
  if (weights == "mapped") c.weights_in_place = true;
  else if (weights != "packed") return Status::invalid_argument("weights '{}': packed or mapped", weights);
  return c;
}

Model::Model() = default;
Model::~Model() {
  plans_.clear();  // kernels may reference weights
}

ExecutionContext::~ExecutionContext() = default;

StatusOr<std::shared_ptr<Model>> Model::load(const std::string& path, const LoadOptions& options) {
  ImportOptions io;
  io.ledger = options.ledger;
  io.device = options.device;
  io.owner = options.owner;
  io.reservation = options.reservation;
  const auto t0 = std::chrono::steady_clock::now();
  // A TF.js folder (or its model.json) goes through the TF.js importer; anything else is ONNX.
  SEER_ASSIGN_OR_RETURN(ImportedGraph imported,
                        is_tfjs_model_path(path) ? import_tfjs(path, io) : import_onnx(path, io));
  const double import_ms = ms_since(t0);
  SEER_ASSIGN_OR_RETURN(std::shared_ptr<Model> m,
                        assemble(std::move(imported.graph), std::move(imported.weights), options, path));
  m->timings_.import_ms = import_ms;
  return m;
}

StatusOr<std::shared_ptr<Model>> Model::from_graph(Graph graph, std::unique_ptr<WeightStore> weights,
                                                   const LoadOptions& options) {
  return assemble(std::move(graph), std::move(weights), options, "");
}

StatusOr<std::shared_ptr<Model>> Model::assemble(Graph graph, std::unique_ptr<WeightStore> weights,
                                                 const LoadOptions& options, const std::string& path) {
  if (!options.ledger) return Status::internal("Model: no ledger");
  std::shared_ptr<Model> m(new Model());
  m->graph_ = std::move(graph);
  m->weights_ = std::move(weights);
  m->owner_ = options.owner;
  m->device_ = options.device;
  m->ledger_ = options.ledger;
  m->precision_ = options.engine.precision;
  m->weights_in_place_ = options.engine.weights_in_place;
  m->source_path_ = path;
  m->measure_only_ = options.measure_only;
  m->max_batch_ = std::max(1, options.max_batch);
  m->services_ = std::make_unique<Services>(*m);
  m->weights_->set_reservation(options.reservation);
  Status built = m->build(options);
  m->weights_->set_reservation(nullptr);  // the reservation need not outlive the load
  SEER_RETURN_IF_ERROR(built);
  return m;
}

StatusOr<Model::PlannedBytes> Model::plan_bytes(const std::string& path, LoadOptions options) {
  MemoryLedger scratch_ledger;
  SEER_RETURN_IF_ERROR(scratch_ledger.set_budget(options.device, UINT64_MAX / 4));
  options.ledger = &scratch_ledger;
  options.reservation = nullptr;
  options.measure_only = true;
  options.engine.pack_cache_dir.clear();  // a measuring load packs nothing to cache
  SEER_ASSIGN_OR_RETURN(std::shared_ptr<Model> m, load(path, options));
  PlannedBytes out{m->timings_.peak_weight_bytes, m->arena_bytes(), m->weight_bytes()};
  return out;
}

void Model::open_pack_cache(const LoadOptions& options) {
  if (options.engine.pack_cache_dir.empty() || source_path_.empty() || measure_only_) return;
  const auto t0 = std::chrono::steady_clock::now();
  // The slot: everything besides the file that decides which blobs a load packs.
  // Not the max batch: blobs are keyed by their layout, and a file keeps those of other batches.
  std::string slot = fmt::format("{} {}", to_string(precision_), weights_in_place_ ? "mapped" : "packed");
  for (const Shape& s : options.input_shapes) slot += " " + s.to_string();
  services_->pack_cache = PackCache::open(options.engine.pack_cache_dir, source_path_, slot);
  timings_.cache_ms += ms_since(t0);
}

void Model::save_pack_cache() {
  PackCache& cache = services_->pack_cache;
  timings_.cache_hits = cache.hits();
  timings_.cache_misses = cache.misses();
  const auto t0 = std::chrono::steady_clock::now();
  if (const uint64_t bytes = cache.save())
    log::info("{}: {} packed weights ({:.1f} MB) saved to {}", owner_, cache.misses() + cache.hits(),
              bytes / 1e6, cache.file());
  timings_.cache_ms += ms_since(t0);
  cache = PackCache();  // holds pointers into the weights: not kept past the load
}

Status Model::build(const LoadOptions& options) {
  open_pack_cache(options);
  auto t0 = std::chrono::steady_clock::now();
  if (options.fold_constants) SEER_RETURN_IF_ERROR(fold_constants(graph_, *weights_, *services_));
  if (options.fuse) {
    SEER_RETURN_IF_ERROR(fuse_patterns(graph_, *weights_));
    SEER_RETURN_IF_ERROR(eliminate_transposes(graph_));
  }
  SEER_RETURN_IF_ERROR(remove_dead_nodes(graph_));
  timings_.passes_ms = ms_since(t0);
  t0 = std::chrono::steady_clock::now();

  for (int v : graph_.inputs) {
    const Value& val = graph_.values[v];
    if (!val.shape_known && options.input_shapes.empty())
      return Status::invalid_argument("input '{}' has no declared shape", val.name);
    inputs_.push_back({val.name, val.dtype, val.shape});
  }
  // A graph whose every input is fixed at batch 1 runs batches as a loop over one plan.
  batch_loop_ = options.input_shapes.empty() && !inputs_.empty();
  for (const IoInfo& in : inputs_)
    batch_loop_ = batch_loop_ && in.shape.rank() >= 1 && in.shape[0] == 1;

  std::vector<std::vector<Shape>> shape_sets;
  if (!options.input_shapes.empty()) {
    if (options.input_shapes.size() != inputs_.size())
      return Status::invalid_argument("{} input shapes given, the model has {} inputs",
                                      options.input_shapes.size(), inputs_.size());
    shape_sets.push_back(options.input_shapes);
    max_batch_ = 1;
  } else {
    int plans = batch_loop_ ? 1 : max_batch_;
    for (int b = 1; b <= plans; ++b) {
      std::vector<Shape> set;
      for (const IoInfo& in : inputs_) {
        Shape s = in.shape;
        if (s.rank() >= 1 && s[0] == kDynamicDim) s[0] = b;
        for (int d = 0; d < s.rank(); ++d)
          if (s[d] < 0)
            return Status::invalid_argument(
                "input '{}' has shape {}: only the batch (first) dim may be dynamic; give the "
                "input shapes", in.name, in.shape.to_string());
        set.push_back(s);
      }
      shape_sets.push_back(std::move(set));
    }
  }
  for (const auto& set : shape_sets) {
    SEER_ASSIGN_OR_RETURN(std::unique_ptr<Plan> plan, build_plan(graph_, set, *weights_, *services_));
    arena_bytes_ = std::max(arena_bytes_, plan->arena_bytes);
    plans_.push_back(std::move(plan));
  }
  timings_.plans_ms = ms_since(t0);
  timings_.plans = static_cast<int>(plans_.size());
  save_pack_cache();
  // Outputs: the last plan's shapes, with dims that change with the batch marked dynamic.
  for (int v : graph_.outputs) {
    const PlanValue& pv = plans_.back()->values[v];
    IoInfo info{graph_.values[v].name, pv.dtype, pv.shape};
    if (plans_.size() > 1) {
      const Shape& first = plans_.front()->values[v].shape;
      for (int d = 0; d < info.shape.rank() && d < first.rank(); ++d)
        if (first[d] != info.shape[d]) info.shape[d] = kDynamicDim;
    }
    if (batch_loop_ && info.shape.rank() >= 1) info.shape[0] = kDynamicDim;
    outputs_.push_back(info);
  }
  if (batch_loop_) {
    loop_output_offset_ = kernels::align64(arena_bytes_);
    size_t extra = 0;
    for (int v : graph_.outputs) {
      const PlanValue& pv = plans_[0]->values[v];
      extra += kernels::align64(byte_size(pv.dtype, pv.shape) * max_batch_);
    }
    arena_bytes_ = loop_output_offset_ + extra;
  }
  for (const auto& plan : plans_)
    for (const PlanStep& s : plan->steps)
      max_arity_ = std::max(max_arity_, s.inputs.size() + s.outputs.size());
  release_unread_weights();
  return Status();
}

// What a run reads of the constants is known once every plan is built: the constant inputs of
// steps, less those their kernel packed (PlanStep::packed_inputs), and constant graph outputs.
// Every other page of the model's file (weights packed into other buffers, initializers that
// folding and fusion replaced) leaves the process and the ledger, and so does every allocated
// source buffer nothing reads (TF.js weights decoded and then packed, constants folded into
// others). A measuring load only counts them, so plan_bytes() can say what the model holds
// after its load.
void Model::release_unread_weights() {
  std::vector<Buffer::ByteRange> keep;
  auto keep_const = [&](const Plan& plan, int v) {
    const PlanValue& pv = plan.values[v];
    if (pv.where == PlanValue::Where::kConst) keep.emplace_back(pv.ptr, byte_size(pv.dtype, pv.shape));
  };
  for (const auto& plan : plans_) {
    for (const PlanStep& s : plan->steps)
      for (size_t i = 0; i < s.inputs.size(); ++i)
        if (s.inputs[i] != kNoValue && !(i < 64 && (s.packed_inputs >> i & 1))) keep_const(*plan, s.inputs[i]);
    for (int v : graph_.outputs) keep_const(*plan, v);
  }
  std::vector<Buffer::ByteRange> freed;
  weights_->release_unread(keep, &freed);
  timings_.released_bytes = weights_->released_bytes();
  timings_.peak_weight_bytes = weights_->peak_bytes();
  // The graph keeps its structure for logs and tests, not pointers into freed bytes.
  for (Value& v : graph_.values)
    for (const auto& [p, n] : freed) {
      const auto c = reinterpret_cast<uintptr_t>(v.constant), lo = reinterpret_cast<uintptr_t>(p);
      if (v.constant && c >= lo && c < lo + n) v.constant = nullptr;
    }
}

std::string Model::op_summary() const {
  std::map<std::string, int> counts;
  for (const Node& n : graph_.nodes) ++counts[(n.domain.empty() ? "" : n.domain + ".") + n.op_type];
  std::string s;
  for (const auto& [op, c] : counts) s += fmt::format("{}{}×{}", s.empty() ? "" : ", ", op, c);
  return s;
}

StatusOr<std::unique_ptr<ExecutionContext>> Model::create_context(Reservation* from) const {
  std::unique_ptr<ExecutionContext> ctx(new ExecutionContext());
  const size_t bytes = std::max<size_t>(arena_bytes_, 64);
  SEER_ASSIGN_OR_RETURN(ctx->arena_, from ? from->allocate(MemoryTag::kArena, bytes)
                                          : ledger_->allocate(device_, owner_, MemoryTag::kArena, bytes));
  ctx->io_.resize(max_arity_ + 1);
  // Starts the OpenMP team now, so the first run does not allocate it on the run path.
#pragma omp parallel
  { [[maybe_unused]] volatile int t = omp_get_thread_num(); }
  return ctx;
}

const Plan* Model::find_plan(std::span<const Tensor> inputs) const {
  for (const auto& p : plans_) {
    bool match = true;
    for (size_t i = 0; i < inputs.size() && match; ++i) match = p->input_shapes[i] == inputs[i].shape;
    if (match) return p.get();
  }
  return nullptr;
}

Status Model::run(ExecutionContext& ctx, std::span<const Tensor> inputs,
                  std::span<Tensor> outputs) const {
  if (measure_only_) return Status::internal("a measure-only model (plan_bytes) cannot run");
  if (inputs.size() != inputs_.size())
    return Status::invalid_argument("{} inputs given, the model has {}", inputs.size(), inputs_.size());
  if (outputs.size() != outputs_.size())
    return Status::invalid_argument("{} output slots given, the model has {}", outputs.size(),
                                    outputs_.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].dtype != inputs_[i].dtype)
      return Status::invalid_argument("input '{}' is {}, the model wants {}", inputs_[i].name,
                                      to_string(inputs[i].dtype), to_string(inputs_[i].dtype));
  uint8_t* arena = ctx.arena_.as<uint8_t>();
  if (!batch_loop_) {
    const Plan* plan = find_plan(inputs);
    if (!plan) {
      std::string got;
      for (const Tensor& t : inputs) got += t.shape.to_string();
      return Status::invalid_argument("no plan for input shapes {} (max batch {})", got, max_batch_);
    }
    return run_plan(*plan, ctx, inputs, outputs, arena);
  }
  // Batch as a loop over the batch-1 plan, gathering each output in the arena's tail.
  const Plan& plan = *plans_[0];
  const int64_t batch = inputs[0].shape.rank() ? inputs[0].shape[0] : 1;
  if (batch < 1 || batch > max_batch_)
    return Status::invalid_argument("batch {} is outside 1..{}", batch, max_batch_);
  constexpr size_t kMaxLoopInputs = 16;
  if (inputs.size() > kMaxLoopInputs) return Status::unsupported("batch loop with > 16 inputs");
  std::array<Tensor, kMaxLoopInputs> item;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Shape s = inputs[i].shape;
    if (s.rank() == 0 || s[0] != batch)
      return Status::invalid_argument("input '{}' has shape {}, batch {} expected", inputs_[i].name,
                                      s.to_string(), batch);
    s[0] = 1;
    if (!(s == plan.input_shapes[i]))
      return Status::invalid_argument("input '{}' item shape {} != {}", inputs_[i].name,
                                      s.to_string(), plan.input_shapes[i].to_string());
  }
  for (int64_t b = 0; b < batch; ++b) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      Shape s = inputs[i].shape;
      s[0] = 1;
      const size_t item_bytes = byte_size(inputs[i].dtype, s);
      item[i] = Tensor(inputs[i].dtype, s, static_cast<const uint8_t*>(inputs[i].ptr) + b * item_bytes);
    }
    SEER_RETURN_IF_ERROR(run_plan(plan, ctx, {item.data(), inputs.size()}, outputs, arena));
    size_t offset = loop_output_offset_;
    for (size_t o = 0; o < outputs.size(); ++o) {
      const size_t bytes = outputs[o].bytes();
      std::memcpy(arena + offset + b * bytes, outputs[o].ptr, bytes);
      outputs[o].ptr = arena + offset;  // fixed below, after the last item
      offset += kernels::align64(bytes * max_batch_);
    }
  }
  for (Tensor& t : outputs)
    if (t.shape.rank()) t.shape[0] = batch;
  return Status();
}

Status Model::run_plan(const Plan& plan, ExecutionContext& ctx, std::span<const Tensor> inputs,
                       std::span<Tensor> outputs, uint8_t* arena) const {
  NoAllocScope no_alloc;
  auto view = [&](int v) -> Tensor {
    if (v == kNoValue) return Tensor();
    const PlanValue& pv = plan.values[v];
    switch (pv.where) {
      case PlanValue::Where::kConst: return Tensor(pv.dtype, pv.shape, pv.ptr);
      case PlanValue::Where::kInput: return Tensor(pv.dtype, pv.shape, inputs[pv.input_index].ptr);
      case PlanValue::Where::kArena: return Tensor(pv.dtype, pv.shape, arena + pv.offset);
      default: return Tensor();
    }
  };
  Tensor* io = ctx.io_.data();
  for (const PlanStep& step : plan.steps) {
    const size_t ni = step.inputs.size(), no = step.outputs.size();
    for (size_t i = 0; i < ni; ++i) io[i] = view(step.inputs[i]);
    for (size_t o = 0; o < no; ++o) io[ni + o] = view(step.outputs[o]);
    RunContext rc({io, ni}, {io + ni, no}, arena + step.scratch_offset, step.scratch_bytes);
    Status st = step.kernel->run(rc);
    if (!st.ok()) {
      AllowAllocScope allow("error path");
      return st.with_context(graph_.nodes[step.node].describe());
    }
  }
  for (size_t o = 0; o < outputs.size(); ++o) outputs[o] = view(graph_.outputs[o]);
  return Status();
}

}  // namespace seer::engine
