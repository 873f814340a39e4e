#include "runtime/tagger_backend.h"

#include <algorithm>
#include <utility>

#include "engine/model.h"
#include "engine/onnx/onnx_import.h"
#include "image/preprocess.h"
#include "models/tagger/wd14_tagger.h"
#include "runtime/image_tiles.h"
#include "runtime/plan_cache.h"

namespace seer {
namespace {

constexpr int kTaggerMaxBatch = 8;

std::vector<ScoredLabel> labels(std::vector<ScoredTag> tags) {
  std::vector<ScoredLabel> v;
  v.reserve(tags.size());
  for (auto& t : tags) v.push_back(ScoredLabel{std::move(t.tag), t.score});
  return v;
}

class TaggerBackend final : public ModelBackend {
 public:
  TaggerBackend(ModelDescriptor descriptor, MemoryLedger& ledger, PreprocessSpec spec, engine::EngineChoice choice)
      : descriptor_(std::move(descriptor)),
        ledger_(&ledger),
        spec_(std::move(spec)),
        choice_(choice),
        plans_(std::make_shared<PlanCache>(descriptor_.path / Wd14Tagger::kModelFile, descriptor_.id,
                                           choice)) {}
  ~TaggerBackend() override { unload(); }

  int max_batch_limit() const override { return kTaggerMaxBatch; }

  StatusOr<LoadPlan> plan(int max_batch) const override {
    const int batch = std::clamp(max_batch, 1, kTaggerMaxBatch);
    SEER_ASSIGN_OR_RETURN(engine::Model::PlannedBytes at, plans_->at(batch));
    LoadPlan p;
    p.batch = batch;
    p.weight_bytes = at.weights;
    // The manager may ask for smaller batches when the budget is short: each is measured by the
    // engine (cached), never extrapolated.
    // The tagger's float staging (b x H x W x 3) is allocated next to the engine arena.
    const uint64_t staging_per_item = tensor_elements(spec_) * sizeof(float);
    p.arena_bytes_at = [cache = plans_, staging_per_item](int b) -> uint64_t {
      b = std::clamp(b, 1, kTaggerMaxBatch);
      auto r = cache->at(b);
      // An unmeasurable batch must never look cheap: it cannot fit any budget.
      return r.ok() ? r->arena + staging_per_item * static_cast<uint64_t>(b) : UINT64_MAX / 4;
    };
    return p;
  }

  Status load(Reservation& reservation, int max_batch) override {
    unload();
    const int batch = std::clamp(max_batch, 1, kTaggerMaxBatch);
    TaggerLoadOptions opt;
    opt.ledger = ledger_;
    opt.owner = reservation.owner().empty() ? descriptor_.id : reservation.owner();
    opt.device = reservation.device();
    opt.max_batch = batch;
    opt.engine = choice_;
    // Every byte is drawn from the reservation (no window in which another load could take
    // them); the plan is the engine's own measurement, so a shortfall is a planning bug and
    // fails the load with ResourceExhausted naming it.
    opt.reservation = &reservation;
    auto tagger = Wd14Tagger::load(descriptor_.path, opt);
    if (!tagger.ok()) return tagger.status();
    auto ctx = (*tagger)->create_context(&reservation);
    if (!ctx.ok()) return ctx.status();
    tagger_ = std::move(*tagger);
    ctx_ = std::move(*ctx);
    return {};
  }

  Status prepare(InferenceRequest& request) const override {
    return prepare_image_tile(image_of(request), spec_, Tile::Type::kU8, *ledger_);
  }

  std::vector<StatusOr<InferenceResult>> run(std::span<InferenceRequest* const> batch) override {
    std::vector<StatusOr<InferenceResult>> out;
    out.reserve(batch.size());
    if (!tagger_ || !ctx_) {
      for (size_t i = 0; i < batch.size(); ++i) out.emplace_back(Status::internal("tagger not loaded"));
      return out;
    }
    LentTiles lent(batch, Tile::Type::kU8, 1);  // given back to the requests when run() returns
    std::vector<float> probs;
    const Status run_status = tagger_->infer(*ctx_, lent.tiles(), &probs);
    const size_t c = tagger_->num_classes();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!lent.error(i).ok()) {
        out.emplace_back(lent.error(i));
        continue;
      }
      if (!run_status.ok()) {
        out.emplace_back(run_status);
        continue;
      }
      auto result = postprocess_tags(std::span<const float>(probs).subspan(lent.row(i) * c, c),
                                     tagger_->tags(), options_for(*batch[i]));
      if (!result.ok()) {
        out.emplace_back(result.status());
        continue;
      }
      out.emplace_back(InferenceResult(to_tag_output(std::move(*result))));
    }
    return out;
  }

  void unload() override {
    ctx_.reset();
    tagger_.reset();
  }

 private:
  static TagOptions options_for(const InferenceRequest& request) {
    TagOptions o;  // the Space's defaults
    if (const auto* tag = std::get_if<TagRequest>(&request)) {
      if (tag->params.general_threshold) o.general_threshold = *tag->params.general_threshold;
      if (tag->params.character_threshold) o.character_threshold = *tag->params.character_threshold;
      if (tag->params.mcut) o.general_mcut = o.character_mcut = *tag->params.mcut;
    }
    return o;
  }

  ModelDescriptor descriptor_;
  MemoryLedger* ledger_;
  PreprocessSpec spec_;
  engine::EngineChoice choice_;
  std::unique_ptr<Wd14Tagger> tagger_;
  std::unique_ptr<TaggerContext> ctx_;
  std::shared_ptr<PlanCache> plans_;
};

// The WD14 tile size from the graph's input shape, read without loading weights: the import
// maps the file (no copies) against a private ledger and parses only the graph structure.
// Same rule as Wd14Tagger::load (NHWC or NCHW; a dynamic spatial dim means 448), which checks
// the rest when the model loads.
StatusOr<PreprocessSpec> spec_for(const ModelDescriptor& d) {
  MemoryLedger scratch;
  engine::ImportOptions io;
  io.ledger = &scratch;
  io.owner = d.id;
  io.resolve_ops = false;
  SEER_ASSIGN_OR_RETURN(engine::ImportedGraph g,
                        engine::import_onnx((d.path / Wd14Tagger::kModelFile).string(), io));
  if (g.graph.inputs.size() != 1) {
    return Status::unsupported("{}: a WD14 tagger has one input; this graph has {}", d.path.string(),
                               g.graph.inputs.size());
  }
  const engine::Value& in = g.graph.values[g.graph.inputs[0]];
  if (!in.shape_known || in.shape.rank() != 4) {
    return Status::unsupported("{}: input '{}' is not a rank-4 image batch", d.path.string(), in.name);
  }
  auto dim_or = [](int64_t v) { return v > 0 ? static_cast<int>(v) : 448; };
  int side = 0;
  if (in.shape[3] == 3) {
    side = dim_or(in.shape[1]);
  } else if (in.shape[1] == 3) {
    side = dim_or(in.shape[2]);
  } else {
    return Status::unsupported("{}: input '{}' has no 3-channel axis", d.path.string(), in.name);
  }
  return preprocess_spec("wd14", side);
}

}  // namespace

TagOutput to_tag_output(TagResult r) {
  TagOutput o;
  o.ratings = labels(std::move(r.ratings));
  o.general = labels(std::move(r.general));
  o.character = labels(std::move(r.character));
  o.text = std::move(r.text);
  return o;
}

ModelFamily tagger_family(MemoryLedger& ledger, engine::EngineChoice choice) {
  ModelFamily f;
  f.kind = ModelKind::kTagger;
  f.format = "onnx";
  f.recognise = [](const std::filesystem::path& dir) { return recognise_wd14_tagger(dir); };
  f.create = [&ledger, choice](const ModelDescriptor& d) -> StatusOr<std::unique_ptr<ModelBackend>> {
    SEER_ASSIGN_OR_RETURN(PreprocessSpec spec, spec_for(d));
    return std::unique_ptr<ModelBackend>(std::make_unique<TaggerBackend>(d, ledger, std::move(spec), choice));
  };
  return f;
}

}  // namespace seer
