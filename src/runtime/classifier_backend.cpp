#include "runtime/classifier_backend.h"

#include <algorithm>
#include <map>
#include <system_error>
#include <utility>

#include "engine/model.h"
#include "image/preprocess.h"
#include "models/classifier/classifier.h"
#include "runtime/image_tiles.h"
#include "runtime/plan_cache.h"

namespace seer {

namespace fs = std::filesystem;

namespace {

// Large enough for the batch-16 figures issue 8 asks for; the manager lowers it to fit a budget.
constexpr int kClassifierMaxBatch = 16;

std::vector<ScoredLabel> to_labels(std::vector<ClassScore> scores, std::optional<int> top_k) {
  if (top_k && *top_k >= 0 && static_cast<size_t>(*top_k) < scores.size()) scores.resize(*top_k);
  std::vector<ScoredLabel> v;
  v.reserve(scores.size());
  for (auto& s : scores) v.push_back(ScoredLabel{std::move(s.label), s.score});
  return v;
}

class ClassifierBackend final : public ModelBackend {
 public:
  ClassifierBackend(ModelDescriptor descriptor, MemoryLedger& ledger, ClassifierSpec spec, engine::EngineChoice choice)
      : descriptor_(std::move(descriptor)),
        ledger_(&ledger),
        spec_(std::move(spec)),
        choice_(choice),
        plans_(std::make_shared<PlanCache>(spec_.model_path, descriptor_.id, choice)) {}
  ~ClassifierBackend() override { unload(); }

  int max_batch_limit() const override { return kClassifierMaxBatch; }

  StatusOr<LoadPlan> plan(int max_batch) const override {
    const int batch = std::clamp(max_batch, 1, kClassifierMaxBatch);
    SEER_ASSIGN_OR_RETURN(engine::Model::PlannedBytes at, plans_->at(batch));
    LoadPlan p;
    p.batch = batch;
    p.weight_bytes = at.weights;
    const uint64_t staging_per_item = tensor_elements(spec_.preprocess) * sizeof(float);
    p.arena_bytes_at = [cache = plans_, staging_per_item](int b) -> uint64_t {
      b = std::clamp(b, 1, kClassifierMaxBatch);
      auto r = cache->at(b);
      // An unmeasurable batch must never look cheap: it cannot fit any budget.
      return r.ok() ? r->arena + staging_per_item * static_cast<uint64_t>(b) : UINT64_MAX / 4;
    };
    return p;
  }

  Status load(Reservation& reservation, int max_batch) override {
    unload();
    ClassifierLoadOptions opt;
    opt.ledger = ledger_;
    opt.owner = reservation.owner().empty() ? descriptor_.id : reservation.owner();
    opt.device = reservation.device();
    opt.max_batch = std::clamp(max_batch, 1, kClassifierMaxBatch);
    opt.engine = choice_;
    // Every byte is drawn from the reservation (no window in which another load could take
    // them); the plan is the engine's own measurement, so a shortfall fails the load.
    opt.reservation = &reservation;
    auto classifier = Classifier::load(descriptor_.path, opt);
    if (!classifier.ok()) return classifier.status();
    auto ctx = (*classifier)->create_context(&reservation);
    if (!ctx.ok()) return ctx.status();
    classifier_ = std::move(*classifier);
    ctx_ = std::move(*ctx);
    return {};
  }

  Status prepare(InferenceRequest& request) const override {
    return prepare_image_tile(image_of(request), spec_.preprocess, tile_type(), *ledger_);
  }

  std::vector<StatusOr<InferenceResult>> run(std::span<InferenceRequest* const> batch) override {
    std::vector<StatusOr<InferenceResult>> out;
    out.reserve(batch.size());
    if (!classifier_ || !ctx_) {
      for (size_t i = 0; i < batch.size(); ++i) out.emplace_back(Status::internal("classifier not loaded"));
      return out;
    }
    const size_t sample_bytes = tile_type() == Tile::Type::kF32 ? sizeof(float) : 1;
    LentTiles lent(batch, tile_type(), sample_bytes);  // given back to the requests when run() returns
    StatusOr<std::vector<ClassifyResult>> results =
        lent.tiles().empty() ? StatusOr<std::vector<ClassifyResult>>(std::vector<ClassifyResult>{})
                             : classifier_->classify(*ctx_, lent.tiles());
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!lent.error(i).ok()) {
        out.emplace_back(lent.error(i));
        continue;
      }
      if (!results.ok()) {
        out.emplace_back(results.status());
        continue;
      }
      ClassifyResult& res = (*results)[lent.row(i)];
      std::optional<int> top_k;
      if (const auto* c = std::get_if<ClassifyRequest>(batch[i])) top_k = c->top_k;
      ClassifyOutput o;
      if (!res.predictions.empty()) {
        o.label = res.predictions[0].label;
        o.score = res.predictions[0].score;
      }
      o.predictions = to_labels(std::move(res.predictions), top_k);
      out.emplace_back(InferenceResult(std::move(o)));
    }
    return out;
  }

  void unload() override {
    ctx_.reset();
    classifier_.reset();
  }

 private:
  Tile::Type tile_type() const {
    return spec_.preprocess.filter == ResizeFilter::kTfBilinearAlignCorners ? Tile::Type::kF32 : Tile::Type::kU8;
  }

  ModelDescriptor descriptor_;
  MemoryLedger* ledger_;
  ClassifierSpec spec_;
  engine::EngineChoice choice_;
  std::unique_ptr<Classifier> classifier_;
  std::unique_ptr<ClassifierContext> ctx_;
  std::shared_ptr<PlanCache> plans_;
};

}  // namespace

std::optional<ModelDescriptor> recognise_classifier(const fs::path& dir) {
  auto spec = read_classifier_spec(dir);
  if (!spec.ok()) return std::nullopt;
  ModelDescriptor d;
  d.kind = ModelKind::kClassifier;
  d.format = spec->format;
  auto add = [&d, &dir](const std::string& name) {
    if (auto n = file_size_of(dir / name)) {
      d.size_bytes += *n;
      d.files.push_back(name);
    }
  };
  if (spec->format == "tfjs") {
    add(kTfjsModelFile);
    add(kSeerMetaFile);
    // The weight shards: every .bin next to model.json (what the manifest names; a few files).
    std::vector<std::string> shards;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".bin") shards.push_back(e.path().filename().string());
    }
    std::sort(shards.begin(), shards.end());
    for (const auto& s : shards) add(s);
  } else {
    add(kOnnxModelFile);
    add(kHfConfigFile);
    add(kHfPreprocessorFile);
  }
  return d;
}

ModelFamily classifier_family(MemoryLedger& ledger, engine::EngineChoice choice) {
  ModelFamily f;
  f.kind = ModelKind::kClassifier;
  f.format = "tfjs|onnx";
  f.recognise = [](const fs::path& dir) { return recognise_classifier(dir); };
  f.create = [&ledger, choice](const ModelDescriptor& d) -> StatusOr<std::unique_ptr<ModelBackend>> {
    SEER_ASSIGN_OR_RETURN(ClassifierSpec spec, read_classifier_spec(d.path));
    return std::unique_ptr<ModelBackend>(std::make_unique<ClassifierBackend>(d, ledger, std::move(spec), choice));
  };
  return f;
}

std::optional<std::string> default_classifier_id(std::span<const ModelDescriptor> models) {
  static std::mutex mu;
  static std::map<fs::path, bool> is_default;  // by folder; seer.json is written once by setup
  std::lock_guard lock(mu);
  for (const auto& m : models) {  // the catalog lists by id, so the first match is the first by id
    if (m.kind != ModelKind::kClassifier || m.format != "tfjs") continue;
    auto it = is_default.find(m.path);
    if (it == is_default.end()) {
      auto spec = read_classifier_spec(m.path);
      it = is_default.emplace(m.path, spec.ok() && spec->is_default).first;
    }
    if (it->second) return m.id;
  }
  return std::nullopt;
}

}  // namespace seer
