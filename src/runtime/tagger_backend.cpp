#include "runtime/tagger_backend.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "engine/model.h"
#include "engine/onnx/onnx_import.h"
#include "image/preprocess.h"
#include "models/tagger/wd14_tagger.h"

namespace seer {
namespace {

constexpr int kTaggerMaxBatch = 8;

std::vector<ScoredLabel> labels(std::vector<ScoredTag> tags) {
  std::vector<ScoredLabel> v;
  v.reserve(tags.size());
  for (auto& t : tags) v.push_back(ScoredLabel{std::move(t.tag), t.score});
  return v;
}

// The engine's measurement per batch (weights and arena), cached. Shared with the plans handed
// out, so a plan's arena_bytes_at stays valid after its backend is gone.
class PlanCache {
 public:
  PlanCache(std::filesystem::path model_file, std::string owner)
      : model_file_(std::move(model_file)), owner_(std::move(owner)) {}

  StatusOr<engine::Model::PlannedBytes> at(int batch) {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(batch); it != cache_.end()) return it->second;
    engine::LoadOptions lo;
    lo.owner = owner_;
    lo.max_batch = batch;
    SEER_ASSIGN_OR_RETURN(engine::Model::PlannedBytes b,
                          engine::Model::plan_bytes(model_file_.string(), lo));
    cache_[batch] = b;
    return b;
  }

 private:
  std::filesystem::path model_file_;
  std::string owner_;
  std::mutex mu_;
  std::map<int, engine::Model::PlannedBytes> cache_;
};

class TaggerBackend final : public ModelBackend {
 public:
  TaggerBackend(ModelDescriptor descriptor, MemoryLedger& ledger, PreprocessSpec spec)
      : descriptor_(std::move(descriptor)),
        ledger_(&ledger),
        spec_(std::move(spec)),
        plans_(std::make_shared<PlanCache>(descriptor_.path / Wd14Tagger::kModelFile, descriptor_.id)) {}
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
    ImageInput& img = image_of(request);
    if (img.tile) return {};
    // Exact decode, default DecodeLimits. The tile is owned by "system" (tag decode), not by the
    // model: it belongs to the request and may outlive an unload.
    LoadOptions lo;
    const auto* bytes = reinterpret_cast<const uint8_t*>(img.encoded.data());
    SEER_ASSIGN_OR_RETURN(Tile tile, load_tile(std::span(bytes, img.encoded.size()), spec_, lo, *ledger_));
    if (tile.type != Tile::Type::kU8) return Status::internal("WD14 tile is not 8-bit");
    img.tile = ImageTile{tile.width, tile.height, 3, std::move(tile.pixels)};
    img.encoded.clear();
    img.encoded.shrink_to_fit();
    return {};
  }

  std::vector<StatusOr<InferenceResult>> run(std::span<InferenceRequest* const> batch) override {
    std::vector<StatusOr<InferenceResult>> out;
    out.reserve(batch.size());
    if (!tagger_ || !ctx_) {
      for (size_t i = 0; i < batch.size(); ++i) out.emplace_back(Status::internal("tagger not loaded"));
      return out;
    }
    // The tiles are lent to Tile views for the engine call and given back afterwards.
    std::vector<Tile> tiles(batch.size());
    std::vector<const Tile*> ptrs;
    std::vector<size_t> rows;  // batch index of each engine row
    std::vector<Status> errors(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      ImageInput& img = image_of(*batch[i]);
      if (!img.tile || img.tile->channels != 3) {
        errors[i] = Status::internal("request {} was not prepared", i);
        continue;
      }
      tiles[i].width = img.tile->width;
      tiles[i].height = img.tile->height;
      tiles[i].type = Tile::Type::kU8;
      tiles[i].pixels = std::move(img.tile->pixels);
      ptrs.push_back(&tiles[i]);
      rows.push_back(i);
    }
    std::vector<float> probs;
    Status run_status = tagger_->infer(*ctx_, ptrs, &probs);
    for (size_t r = 0; r < rows.size(); ++r) {  // give the tiles back
      image_of(*batch[rows[r]]).tile->pixels = std::move(tiles[rows[r]].pixels);
    }
    std::vector<size_t> row_of(batch.size(), SIZE_MAX);
    for (size_t r = 0; r < rows.size(); ++r) row_of[rows[r]] = r;
    const size_t c = tagger_->num_classes();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!errors[i].ok()) {
        out.emplace_back(errors[i]);
        continue;
      }
      if (!run_status.ok()) {
        out.emplace_back(run_status);
        continue;
      }
      auto result = postprocess_tags(std::span<const float>(probs).subspan(row_of[i] * c, c),
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

ModelFamily tagger_family(MemoryLedger& ledger) {
  ModelFamily f;
  f.kind = ModelKind::kTagger;
  f.format = "onnx";
  f.recognise = [](const std::filesystem::path& dir) { return recognise_wd14_tagger(dir); };
  f.create = [&ledger](const ModelDescriptor& d) -> StatusOr<std::unique_ptr<ModelBackend>> {
    SEER_ASSIGN_OR_RETURN(PreprocessSpec spec, spec_for(d));
    return std::unique_ptr<ModelBackend>(std::make_unique<TaggerBackend>(d, ledger, std::move(spec)));
  };
  return f;
}

}  // namespace seer
